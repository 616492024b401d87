"""The geometry of the dashboard's two charts, drawn as inline SVG by the template (no script, no chart
library). Pure: figures in, rectangles and labels out. Each series has a pattern as well as a colour
(solid, hatched, dotted), and every bar carries its number as text, so nothing is told by colour
alone; the tables under the charts are their text alternative."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import formats

from .dashboard import MinistryFigures, MonthFigures

__all__ = ["SERIES", "Bar", "MinistryBar", "MonthColumn", "ministry_chart", "month_chart"]

# key, the pattern's id in the template, the colour (WCAG AA contrast against white: ≥ 3:1 for graphics)
SERIES = (("done_on_time", "pat-ontime", "#166534"), ("done_late", "pat-late", "#9a3412"),
          ("overdue", "pat-overdue", "#b91c1c"))

MONTH_PLOT = {"left": 36, "top": 16, "width": 600, "height": 200}
MINISTRY_PLOT = {"label": 230, "width": 360, "row": 26}


@dataclass(frozen=True)
class Bar:
    series: str
    pattern: str
    x: float
    y: float
    width: float
    height: float
    value: int


@dataclass(frozen=True)
class MonthColumn:
    label: str
    x: float  # the column's centre
    bars: list[Bar]
    total: int  # on time + late + overdue (what the column shows)
    top: float  # y of the column's top, for its number


@dataclass(frozen=True)
class MinistryBar:
    name: str
    y: float
    width: float
    rate: float | None
    done: int

    @property
    def rate_text(self) -> str:
        """The rate as the reader's language writes it (87,5 in Vietnamese)."""
        return formats.localize(self.rate) if self.rate is not None else "—"


def _axis(value: int) -> tuple[int, int]:
    """``(top, step)`` of the value axis: a step of 1, 2, 5, 10, 20, 50, … giving at most 5 intervals."""
    step = 1
    while -(-value // step) > 5:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return max(step, step * -(-value // step)), step


def month_chart(months: list[MonthFigures]) -> dict:
    """Stacked columns per month: on time, late, overdue (bottom to top)."""
    plot = MONTH_PLOT
    biggest = max((m.done_on_time + m.done_late + m.overdue for m in months), default=0)
    top, step = _axis(biggest)
    slot = plot["width"] / max(len(months), 1)
    bar_width = slot * 0.6
    columns = []
    for i, m in enumerate(months):
        centre = plot["left"] + slot * (i + 0.5)
        base = plot["top"] + plot["height"]
        bars = []
        for key, pattern, _colour in SERIES:
            value = getattr(m, key)
            height = plot["height"] * value / top
            if value:
                base -= height
                bars.append(Bar(series=key, pattern=pattern, x=round(centre - bar_width / 2, 1), y=round(base, 1),
                                width=round(bar_width, 1), height=round(height, 1), value=value))
        columns.append(MonthColumn(label=f"{m.month.month:02d}/{m.month.year % 100:02d}", x=round(centre, 1),
                                   bars=bars, total=m.done_on_time + m.done_late + m.overdue, top=round(base, 1)))
    ticks = [{"value": v, "y": round(plot["top"] + plot["height"] * (1 - v / top), 1)}
             for v in range(0, top + 1, step)]
    return {"columns": columns, "ticks": ticks, "plot": plot, "right": plot["left"] + plot["width"],
            "bottom": plot["top"] + plot["height"], "width": plot["left"] + plot["width"] + 8,
            "height": plot["top"] + plot["height"] + 34}


def ministry_chart(ministries: list[MinistryFigures]) -> dict:
    """One horizontal bar per lead ministry that has accepted dated tasks: its on-time rate (0–100 %)."""
    plot = MINISTRY_PLOT
    rows = [m for m in ministries if m.on_time_rate is not None]
    rows.sort(key=lambda m: (-(m.on_time_rate or 0), m.name))
    bars = [MinistryBar(name=m.short_name or m.name, y=8 + i * plot["row"],
                        width=round(plot["width"] * (m.on_time_rate or 0) / 100, 1), rate=m.on_time_rate,
                        done=m.done_on_time + m.done_late) for i, m in enumerate(rows)]
    return {"bars": bars, "plot": plot, "x0": plot["label"], "x100": plot["label"] + plot["width"],
            "x50": plot["label"] + plot["width"] / 2,
            "width": plot["label"] + plot["width"] + 70, "height": 16 + len(bars) * plot["row"]}
