"""The decision follow-up register at scale (issue 18, "Done means": the register with 25,000 tasks
answers its filtered list and its dashboard within a bounded number of SQL queries, p99 under 300 ms).

25,000 tasks (``--quick``: 5,000) over 50 held sessions are bulk-created in the benchmark database
(``bench.fixtures.tasks``: seeded, a realistic spread over ministries, states and deadlines, some
overdue, a third with co-operating ministries). Then, through the real server (one Daphne), each
endpoint is requested back to back by one client with a keep-alive connection — the secretary (who
sees every task) or the chair (whose visibility is the heaviest filter: sessions chaired, attended,
ministry) — 100 times (``--quick``: 20) after a warm-up: ``p50``/``p99``/``max`` per request. ``SQL``
is the number of queries one request makes, counted in-process with Django's test client on the
same database (the second of two identical requests), exactly as the ``pages`` suite counts. The
register screen ``/tasks/`` is measured too when the branch has it. Target: p99 < 300 ms.
"""

from __future__ import annotations

import time

from .common import fmt, summary_ms, table
from .pool import client_bound
from .scenario import cpu_seconds

NAME = "tasks"
TARGET_P99_MS = 300


def _endpoints(ministry: str, meeting: int) -> list[tuple[str, str, str]]:
    """(name, path, who)."""
    return [
        ("list API, filtered", f"/api/v1/tasks/?ministry={ministry}&state=in_progress&page_size=50", "secretary"),
        ("list API, overdue", "/api/v1/tasks/?overdue=true&page_size=50", "secretary"),
        ("list API, chair", f"/api/v1/tasks/?meeting={meeting}&page_size=50", "pm"),
        ("register screen", f"/tasks/?ministry={ministry}", "secretary"),
        ("dashboard API", "/api/v1/tasks/dashboard/", "secretary"),
        ("dashboard API, filtered", f"/api/v1/tasks/dashboard/?ministry={ministry}&deadline_after=2025-01-01",
         "secretary"),
        ("dashboard API, chair", "/api/v1/tasks/dashboard/", "pm"),
        ("dashboard screen", "/tasks/dashboard/", "secretary"),
    ]


def run(ctx) -> dict:
    count = 5000 if ctx.quick else 25000
    requests = 20 if ctx.quick else 100
    db = ctx.database("postgres" if ctx.cluster else "sqlite")
    started = time.monotonic()
    made = db.fixtures("tasks", count=count, sessions=50, timeout=1800)
    setup = round(time.monotonic() - started, 1)
    print(f"  {made['tasks']} tasks over {made['sessions']} sessions ({made['overdue']} overdue) in {setup} s",
          flush=True)
    users = ["secretary", "pm"]
    tokens = db.fixtures("tokens", usernames=users)
    cookies = db.fixtures("sessions", usernames=users)
    endpoints = _endpoints(made["ministry"], made["meeting"])
    queries = {}
    for who in users:
        paths = {name: path for name, path, user in endpoints if user == who}
        queries.update(db.fixtures("queries", username=who, token=tokens[who], cookie=cookies[who], paths=paths))
    out = {"tasks": made["tasks"], "sessions": made["sessions"], "overdue": made["overdue"], "setup_seconds": setup,
           "requests": requests, "clients": 1, "database": db.label, "target_p99_ms": TARGET_P99_MS, "endpoints": []}
    with ctx.server(db) as target, ctx.pool() as pool:
        out["server"] = target.name
        for name, path, who in endpoints:
            if queries[name]["status"] == 404 and name == "register screen":
                print(f"  {name}: {path} is not on this branch (404), skipped", flush=True)
                continue
            cookie = not path.startswith("/api/")
            parts = [{"clients": p, "http": list(target.host_port)}
                     for p in pool.split([(who, tokens[who], cookies[who])])]
            pool.call("http_load", parts, path=path, cookie=cookie, requests=2)  # warm-up, not counted
            cpu0 = cpu_seconds(target.pids)
            t0 = time.monotonic()
            replies = pool.call("http_load", parts, path=path, cookie=cookie, requests=requests)
            wall = time.monotonic() - t0
            latencies = [x for r in replies for x in r["latencies"]]
            statuses = [s for r in replies for s in r["statuses"]]
            summary = summary_ms(latencies)
            loads = [{k: r[k] for k in ("cpu", "lag_max_ms", "lag_p99_ms", "wall")} for r in replies
                     if r["latencies"]]
            out["endpoints"].append({
                "name": name, "path": path, "user": who, **summary, "requests": len(latencies),
                "errors": sum(s != 200 for s in statuses),
                "statuses": {str(c): statuses.count(c) for c in sorted(set(statuses))},
                "bytes": max((b for r in replies for b in r["bytes"]), default=0),
                "sql_queries": queries[name]["queries"], "sql_status": queries[name]["status"],
                "server_cpu": round((cpu_seconds(target.pids) - cpu0) / wall, 3),
                "within_target": summary["p99"] is not None and summary["p99"] < TARGET_P99_MS,
                "client_bound": client_bound(loads, summary["p99"]),
            })
            print(f"  {name}: p50 {fmt(summary['p50'])} ms, p99 {fmt(summary['p99'])} ms, "
                  f"{queries[name]['queries']} SQL queries", flush=True)
    errors = sum(e["errors"] for e in out["endpoints"])
    out["ok"] = errors == 0
    out["failure"] = f"{errors} requests did not answer 200" if errors else None
    return out


def report(payload: dict) -> str:
    rows = [[e["name"], e["user"], e["p50"], e["p99"], e["max"], e["sql_queries"], e["bytes"], e["errors"],
             "yes" if e["within_target"] else "NO"] for e in payload["endpoints"]]
    text = table(f"Tasks — {payload['server']} on {payload['database']}; {payload['tasks']} tasks over "
                 f"{payload['sessions']} sessions ({payload['overdue']} overdue); one client, {payload['requests']} "
                 f"requests back to back per endpoint (milliseconds)",
                 ["endpoint", "as", "p50", "p99", "max", "SQL/req", "bytes", "errors",
                  f"p99<{payload['target_p99_ms']}"], rows)
    for e in payload["endpoints"]:
        if e["errors"]:
            text += f"\nFAIL ({e['name']}): {e['errors']} answers other than 200: {e.get('statuses')}"
        for w in e["client_bound"]:
            text += f"\nWARNING client-bound ({e['name']}): {w}"
    return text


def chart(payload: dict, info: dict):
    from .common import figure

    fig, (ax,) = figure(1, width=9)
    names = [e["name"] for e in payload["endpoints"]]
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [e["p50"] for e in payload["endpoints"]], 0.4, label="p50", color="#9ecae1")
    ax.bar([x + 0.2 for x in xs], [e["p99"] for e in payload["endpoints"]], 0.4, label="p99", color="#3182bd")
    ax.axhline(payload["target_p99_ms"], color="#b91c1c", linestyle="--", linewidth=1,
               label=f"target p99 {payload['target_p99_ms']} ms")
    for x, e in zip(xs, payload["endpoints"], strict=True):
        ax.text(x, e["p99"], f"{e['sql_queries']} SQL", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs), names, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("milliseconds")
    ax.set_title(f"{payload['tasks']} tasks — one client — {payload['server']}, {payload['database']}")
    ax.margins(y=0.2)
    ax.legend(fontsize=8)
    return fig
