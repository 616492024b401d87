"""Memory per connected tablet: the server's memory as tablets connect, step by step, to a fresh
server process (and, for comparison, to the raw ``websockets`` baseline).

Memory is the unique set size (USS: what the process alone holds) summed over the server's
processes, read a few seconds after each step; "per tablet" is the slope of a least-squares line
through the steps, so the interpreter, Django and the first-request caches (paid before step 0 by
a warm-up of a few tablets) do not count.
"""

from __future__ import annotations

import time

from .common import fmt, table
from .pool import ClientError
from .scenario import connect, memory_bytes, prepare_room
from .servers import BenchError, baseline

NAME = "memory"
STEPS = [0, 125, 250, 375, 500]
QUICK_STEPS = [0, 100, 200]
SETTLE = 3.0


def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def _measure(pool, target, group: str, meeting: int, tablets: list, steps: list[int], head) -> dict:
    warm = tablets[:10]
    connect(pool, target, f"{group}-warm", meeting, warm, after_seq=head())
    pool.call("close", group=f"{group}-warm")
    time.sleep(SETTLE)
    points = []
    have = 0
    failure = None
    for n in steps:
        if n > have:
            try:
                connect(pool, target, group, meeting, tablets[have:n], after_seq=head())
            except (BenchError, ClientError) as exc:  # a finding: keep the steps measured so far
                failure = f"{target.name}, {n} tablets: {exc}"
                break
            have = n
        time.sleep(SETTLE)
        points.append({"n": n, "bytes": memory_bytes(target.pids)})
    pool.call("close", group=group)
    slope = _slope([p["n"] for p in points], [p["bytes"] for p in points]) if len(points) > 1 else 0.0
    return {"points": points, "bytes_per_tablet": round(slope), "kib_per_tablet": round(slope / 1024, 1),
            "failure": failure}


def run(ctx) -> dict:
    steps = QUICK_STEPS if ctx.quick else STEPS
    db = ctx.database("postgres" if ctx.cluster else "sqlite")
    room = prepare_room(db, count=max(steps), title="Phiên họp thử tải: bộ nhớ")
    tablets = [(u, room["tokens"][u], None) for u in room["usernames"]]
    out = {"steps": steps, "database": db.label}
    with ctx.pool() as pool:
        with ctx.server(db) as target:
            out["server"], out["topology"], out["processes"] = target.name, target.topology, len(target.pids)
            out["ecabinet"] = _measure(pool, target, "memory", room["meeting"], tablets, steps,
                                       lambda: db.fixtures("head", meeting=room["meeting"]))
        print(f"  e-Cabinet: {fmt(out['ecabinet']['kib_per_tablet'])} KiB per tablet", flush=True)
        with baseline(db.dir) as base:
            out["baseline"] = _measure(pool, base, "memory-baseline", 0, tablets, steps, lambda: None)
        print(f"  baseline: {fmt(out['baseline']['kib_per_tablet'])} KiB per tablet", flush=True)
    failures = [m["failure"] for m in (out["ecabinet"], out["baseline"]) if m["failure"]]
    out["ok"], out["failure"] = not failures, "; ".join(failures) or None
    return out


def report(payload: dict) -> str:
    rows = []
    for key, label in (("ecabinet", payload["server"]), ("baseline", "raw websockets baseline")):
        m = payload[key]
        sizes = [round(p["bytes"] / 2**20, 1) for p in m["points"]]
        rows.append([label, *sizes, *[None] * (len(payload["steps"]) - len(sizes)), m["kib_per_tablet"]])
    headers = ["server", *[f"{p} tablets (MiB)" for p in payload["steps"]], "KiB/tablet"]
    text = table(f"Memory per connected tablet — USS of the server process(es) on {payload['database']}", headers,
                 rows)
    if payload.get("failure"):
        text += f"\nFAIL: {payload['failure']}"
    return text


def chart(payload: dict, info: dict):
    from .common import figure, sides

    fig, (ax,) = figure(1, width=7)
    for key, label, color in sides(payload["server"], "websockets baseline"):
        m = payload[key]
        ax.plot([p["n"] for p in m["points"]], [p["bytes"] / 2**20 for p in m["points"]], "o-", color=color,
                label=f"{label}: {m['kib_per_tablet']:.0f} KiB/tablet")
    ax.set_xlabel("connected tablets")
    ax.set_ylabel("server memory, USS (MiB)")
    ax.set_title("Memory per connected tablet")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig
