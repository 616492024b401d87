"""The follow-up dashboard's figures (issue 18 §4): pure reads, aggregated in SQL.

Every function takes the tasks already restricted to what the caller may see
(``followup.selectors.tasks_filtered`` on ``followup.permissions.tasks_visible_to``) and answers in a
fixed number of queries whatever the number of tasks: one, grouped by lead ministry and deadline
month, whose rows (a few hundred at most) sum to the ministries, the totals and the months
(``Count`` with ``filter=``, the month of the deadline; no task is ever loaded into Python).

Definitions (docs/followup.md, "Dashboard and reports", says the same):

* **open** — not finished: assigned, in progress, reported done (waiting for the secretariat) or
  returned;
* **overdue** — ``followup.selectors.overdue_q``: a dated task still with the ministry (assigned,
  in progress, returned) whose deadline is before today. A task reported done is not overdue: the
  ministry has done its part; a regular task (no deadline) never is;
* **done date** — the date (Government time zone) the lead ministry last reported the task done
  (``reported_at``; ``closed_at`` if it has none). Acceptance by the secretariat later does not make
  the ministry late;
* **done on time** / **done late** — accepted, dated, with the done date on or before / after the
  deadline. The deadline is the current one: an extension granted by the secretariat moves it;
* **on-time rate** — done on time ÷ (done on time + done late), i.e. among the *accepted dated*
  tasks; ``None`` when there is none. Regular tasks (no deadline) and cancelled tasks are left out;
  open tasks do not count until they are accepted (the overdue count shows them);
* **per ministry** — by *lead* ministry (co-operating ministries are not counted twice);
* **per month** — by the **month of the deadline**, for the 12 months ending with the current one
  (``DASHBOARD_MONTHS``): of the tasks due that month, how many were done on time, done late, are
  overdue, or are still pending (not yet due, or reported and waiting for acceptance). Grouping by
  deadline keeps every task in one fixed month (grouping by closing month would move a task when it
  is finished, and leave the overdue ones nowhere).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Count, DateField, F, Q, QuerySet, When
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

from .models import Task
from .selectors import OVERDUE_STATES, overdue_q

__all__ = ["Dashboard", "MinistryFigures", "MonthFigures", "Totals", "dashboard", "month_starts",
           "overdue_tasks", "rate"]

S = Task.State
OPEN_STATES = (S.ASSIGNED, S.IN_PROGRESS, S.REPORTED_DONE, S.RETURNED)


def rate(on_time: int, late: int) -> float | None:
    """The on-time rate in percent, one decimal; ``None`` when no dated task was accepted."""
    done = on_time + late
    return round(100 * on_time / done, 1) if done else None


@dataclass(frozen=True)
class Totals:
    total: int
    by_state: dict[str, int]
    open: int
    overdue: int
    regular: int
    done_on_time: int
    done_late: int
    due_soon: int  # open, dated, due within DASHBOARD_DUE_SOON_DAYS from today (today included)

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.done_on_time, self.done_late)


@dataclass(frozen=True)
class MinistryFigures:
    code: str
    name: str
    short_name: str
    total: int
    open: int
    overdue: int
    done_on_time: int
    done_late: int
    cancelled: int

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.done_on_time, self.done_late)


@dataclass(frozen=True)
class MonthFigures:
    month: dt.date  # the first day of the month
    total: int
    done_on_time: int
    done_late: int
    overdue: int
    pending: int  # neither done nor overdue: not due yet, or reported and waiting for acceptance

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.done_on_time, self.done_late)


@dataclass(frozen=True)
class Dashboard:
    today: dt.date
    totals: Totals
    ministries: list[MinistryFigures]
    months: list[MonthFigures] = field(default_factory=list)


class _LocalDate(TruncDate):
    """A moment's date in the Government's time zone.

    On PostgreSQL this is ``TruncDate`` (``AT TIME ZONE``, native). On SQLite Django computes it with
    a Python function called once per row, which made the dashboard on 25,000 tasks take 0.6 s
    (bench/README.md, "tasks"); SQLite's own ``date(moment, '+N minutes')`` does it in C. N is the
    zone's offset from UTC now: exact for zones without daylight saving time, such as
    Asia/Ho_Chi_Minh; in a zone with it, a report within an hour of midnight could fall on the
    neighbouring day."""

    def as_sqlite(self, compiler, connection, **extra):
        offset = dt.datetime.now(ZoneInfo(settings.TIME_ZONE)).utcoffset() or dt.timedelta(0)
        sql, params = compiler.compile(self.lhs)
        return f"date({sql}, %s)", (*params, f"{int(offset.total_seconds() // 60):+d} minutes")


class _Month(TruncMonth):
    """The first day of a date's month; on SQLite with its own ``strftime`` (see ``_LocalDate``)."""

    output_field = DateField()

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.lhs)
        return f"strftime('%%Y-%%m-01', {sql})", params


def _done_date():
    """The date the ministry last reported the task done, in the Government's time zone."""
    return _LocalDate(Coalesce("reported_at", "closed_at"), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _figures(today: dt.date) -> dict:
    """The conditional counts of each group (``done_date`` must be annotated)."""
    accepted_dated = Q(state=S.ACCEPTED, regular=False)
    # the aliases are prefixed: an alias may not shadow a field (``regular``) the filters use
    return {
        "n_total": Count("pk"),
        "n_open": Count("pk", filter=Q(state__in=OPEN_STATES)),
        "n_overdue": Count("pk", filter=overdue_q(today)),
        "n_done_on_time": Count("pk", filter=accepted_dated & Q(done_date__lte=F("deadline"))),
        # late = accepted dated − on time (an accepted task always has a done date: ``closed_at``):
        # the done date is then computed once per row, not twice
        "n_accepted_dated": Count("pk", filter=accepted_dated),
    }


def _n(row: dict) -> dict:
    """The counts of a row without their ``n_`` prefix, with ``done_late``."""
    out = {k[2:]: v for k, v in row.items() if k.startswith("n_")}
    out["done_late"] = out.pop("accepted_dated") - out["done_on_time"]
    return out


def _prepared(tasks: QuerySet[Task]) -> QuerySet[Task]:
    # ordering would join the GROUP BY; the done date is computed once per row in SQL
    return tasks.order_by().annotate(done_date=_done_date())


def month_starts(today: dt.date, months: int) -> list[dt.date]:
    """The first days of the ``months`` months ending with ``today``'s, oldest first."""
    year, month = today.year, today.month
    out = []
    for _ in range(months):
        out.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _as_date(value) -> dt.date | None:
    if isinstance(value, str):  # SQLite's strftime
        return dt.date.fromisoformat(value)
    return value.date() if isinstance(value, dt.datetime) else value


def _rows(tasks: QuerySet[Task], today: dt.date) -> tuple[list[dict], list[dt.date]]:
    """The one query of the dashboard: every count, grouped by lead ministry and by the month of the
    deadline when it lies in the window (``None`` otherwise). At most (ministries × (months + 1))
    rows, whatever the number of tasks; the ministries, the totals and the months are their sums, so
    the register (and the reader's visibility, the costly part for the chair) is scanned once."""
    starts = month_starts(today, settings.DASHBOARD_MONTHS)
    end = dt.date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    soon = today + dt.timedelta(days=settings.DASHBOARD_DUE_SOON_DAYS)
    in_window = Q(regular=False, deadline__gte=starts[0], deadline__lt=end)
    rows = list(_prepared(tasks)
                .annotate(bucket=Case(When(in_window, then=_Month("deadline")), default=None,
                                      output_field=DateField()))
                .values("lead_ministry__code", "lead_ministry__name", "lead_ministry__short_name", "bucket")
                .annotate(**_figures(today),
                          n_regular=Count("pk", filter=Q(regular=True)),
                          n_due_soon=Count("pk", filter=Q(regular=False, state__in=OVERDUE_STATES,
                                                          deadline__gte=today, deadline__lte=soon)),
                          **{f"n_state_{s}": Count("pk", filter=Q(state=s)) for s in S.values})
                .order_by())
    return rows, starts


def _sum(counts: list[dict]) -> dict:
    out: dict = {}
    for c in counts:
        for k, v in c.items():
            out[k] = out.get(k, 0) + v
    return out


def _totals(rows: list[dict]) -> Totals:
    """The sums of the grouped rows (a few hundred at most, never tasks)."""
    c = _sum([_n(r) for r in rows]) if rows else {}
    keys = ("total", "open", "overdue", "done_on_time", "done_late", "regular", "due_soon")
    return Totals(by_state={s: c.get(f"state_{s}", 0) for s in S.values}, **{k: c.get(k, 0) for k in keys})


def _ministries(rows: list[dict]) -> list[MinistryFigures]:
    """Per lead ministry, the most overdue first, then the most tasks, then by name."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["lead_ministry__code"], []).append(r)
    out = []
    for group in groups.values():
        first, c = group[0], _sum([_n(r) for r in group])
        out.append(MinistryFigures(code=first["lead_ministry__code"], name=first["lead_ministry__name"],
                                   short_name=first["lead_ministry__short_name"], total=c["total"], open=c["open"],
                                   overdue=c["overdue"], done_on_time=c["done_on_time"], done_late=c["done_late"],
                                   cancelled=c[f"state_{S.CANCELLED}"]))
    out.sort(key=lambda m: (-m.overdue, -m.total, m.name))
    return out


def _months(rows: list[dict], starts: list[dt.date]) -> list[MonthFigures]:
    """By the month of the deadline, empty months as zeros; cancelled tasks left out (neither done
    nor missed)."""
    by_month: dict[dt.date, list[dict]] = {}
    for r in rows:
        month = _as_date(r["bucket"])
        if month is not None:
            by_month.setdefault(month, []).append(_n(r))
    out = []
    for start in starts:
        c = _sum(by_month.get(start, []))
        total = c.get("total", 0) - c.get(f"state_{S.CANCELLED}", 0)
        on_time, late, overdue = c.get("done_on_time", 0), c.get("done_late", 0), c.get("overdue", 0)
        out.append(MonthFigures(month=start, total=total, done_on_time=on_time, done_late=late, overdue=overdue,
                                pending=total - on_time - late - overdue))
    return out


def totals(tasks: QuerySet[Task], today: dt.date) -> Totals:
    """One query."""
    return _totals(_rows(tasks, today)[0])


def per_ministry(tasks: QuerySet[Task], today: dt.date) -> list[MinistryFigures]:
    """One query: the lead ministries that have tasks."""
    return _ministries(_rows(tasks, today)[0])


def per_month(tasks: QuerySet[Task], today: dt.date) -> list[MonthFigures]:
    """One query: the last ``DASHBOARD_MONTHS`` months by the month of the deadline."""
    return _months(*_rows(tasks, today))


def dashboard(tasks: QuerySet[Task], today: dt.date) -> Dashboard:
    """All the figures: one query (``_rows``)."""
    rows, starts = _rows(tasks, today)
    return Dashboard(today=today, totals=_totals(rows), ministries=_ministries(rows), months=_months(rows, starts))


def overdue_tasks(tasks: QuerySet[Task], today: dt.date, limit: int) -> list[Task]:
    """The ``limit`` most overdue tasks (earliest deadline first), with their session and lead
    ministry joined: one query."""
    return list(tasks.filter(overdue_q(today)).select_related("meeting", "lead_ministry")
                .order_by("deadline", "id")[:limit])
