"""What every suite shares: statistics, the machine description, tables, and the result files.

No Django here: the runner and the client processes never import the project; everything that
touches the database runs in ``bench.fixtures`` subprocesses against the benchmark's own database.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


# --- statistics -----------------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0–100) by linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def summary_ms(values: Sequence[float]) -> dict:
    """p50 / p99 / max / mean of durations in seconds, in milliseconds."""
    values = list(values)
    return {
        "n": len(values),
        "p50": ms(percentile(values, 50)),
        "p99": ms(percentile(values, 99)),
        "max": ms(max(values)) if values else None,
        "mean": ms(sum(values) / len(values)) if values else None,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, 2)


# --- the machine -----------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def machine_info() -> dict:
    import psutil

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "packages": {name: _version(name) for name in ("django", "channels", "daphne", "channels-redis", "websockets",
                                                       "weasyprint", "pyhanko", "psycopg")},
        "commit": _git_commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def machine_line(info: dict) -> str:
    return (f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, {info['os']}, Python {info['python']}, "
            f"load average at start {info['load_average_at_start']}")


# --- output ----------------------------------------------------------------------------------------

def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A plain-text table, right-aligned numbers, with a title line."""
    cells = [[str(h) for h in headers]] + [[fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    for row in cells[1:]:
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                              strict=True))))
    return "\n".join(lines)


def write_json(name: str, payload: dict, results_dir: Path = RESULTS) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def figure(ncols: int = 1, width: float = 7.5, height: float = 4.2):
    """A matplotlib figure on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, list(axes[0])


# Every chart draws e-Cabinet in red beside the raw baseline in blue, and a target as a thin dashed black line.
OURS = "#b22222"
BASELINE = "#1f77b4"


def sides(ours: str = "e-Cabinet", baseline: str = "baseline") -> tuple[tuple[str, str, str], ...]:
    """The two servers a chart compares: (key in the suite's results, label, colour)."""
    return (("ecabinet", ours, OURS), ("baseline", baseline, BASELINE))


def target_line(ax, y: float, label: str) -> None:
    """A target across the pane, named in its legend."""
    ax.axhline(y, color="k", linestyle="--", linewidth=1, label=label)


def save_figure(fig, name: str, info: dict, results_dir: Path = RESULTS) -> Path:
    import matplotlib.pyplot as plt

    results_dir.mkdir(parents=True, exist_ok=True)
    fig.text(0.01, 0.005, f"{info['cpu']} · {info['cores']} cores · {info['date']}", fontsize=7, color="#666")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = results_dir / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
