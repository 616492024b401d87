"""Pages under load: the agenda screen (``/meetings/{id}/``, a member's browser session) and the
session API (``GET /api/v1/meetings/{id}/``, a member's token), each with 50 concurrent clients.

The session is a full one: 30 agenda items with two documents each, three comments per item, 60
participants. 50 member accounts each keep one connection and request the page back to back.
``p50/p99`` are per request; ``req/s`` is the throughput of the whole; ``SQL`` is the number of
queries one request makes, counted in-process with Django's test client on the same database
(the second of two identical requests, so one-off caches do not count).
"""

from __future__ import annotations

import time

from .client import client_bound
from .common import fmt, summary_ms, table
from .scenario import cpu_seconds, prepare_room

NAME = "pages"
CLIENTS = 50


def run(ctx) -> dict:
    requests = 5 if ctx.quick else 20
    db = ctx.database("postgres" if ctx.cluster else "sqlite")
    room = prepare_room(db, count=60, title="Phiên họp thử tải: 30 nội dung", items=30, documents_per_item=2,
                        comments_per_item=3)
    users = room["usernames"][1:CLIENTS + 1]
    tokens = room["tokens"]
    cookies = db.fixtures("sessions", usernames=users)
    meeting = room["meeting"]
    paths = {"agenda screen": f"/meetings/{meeting}/", "session API": f"/api/v1/meetings/{meeting}/"}
    queries = db.fixtures("queries", username=users[0], token=tokens[users[0]], cookie=cookies[users[0]], paths=paths)
    out = {"clients": CLIENTS, "requests_per_client": requests, "database": db.label, "meeting": meeting,
           "session": "30 items × 2 documents, 3 comments per item, 60 participants", "endpoints": []}
    with ctx.server(db) as target, ctx.pool() as pool:
        out["server"], out["client_processes"] = target.name, pool.size
        clients = [(u, tokens[u], cookies[u]) for u in users]
        parts = [{"clients": p, "http": list(target.host_port)} for p in pool.split(clients)]
        for name, path in paths.items():
            cookie = not path.startswith("/api/")
            pool.call("http_load", parts, path=path, cookie=cookie, requests=1)  # warm-up, not counted
            cpu0 = cpu_seconds(target.pids)
            started = time.monotonic()
            replies = pool.call("http_load", parts, path=path, cookie=cookie, requests=requests)
            wall = time.monotonic() - started
            latencies = [x for r in replies for x in r["latencies"]]
            statuses = [s for r in replies for s in r["statuses"]]
            summary = summary_ms(latencies)
            loads = [{k: r[k] for k in ("cpu", "lag_max_ms", "lag_p99_ms", "wall")} for r in replies]
            out["endpoints"].append({
                "name": name, "path": path, "auth": "session cookie" if cookie else "token", **summary,
                "requests": len(latencies), "errors": sum(s != 200 for s in statuses),
                "statuses": {str(code): statuses.count(code) for code in sorted(set(statuses))},
                "req_per_s": round(len(latencies) / wall, 1),
                "bytes": max((b for r in replies for b in r["bytes"]), default=0),
                "sql_queries": queries[name]["queries"], "sql_status": queries[name]["status"],
                "server_cpu": round((cpu_seconds(target.pids) - cpu0) / wall, 3),
                "client_loads": loads, "client_bound": client_bound(loads, summary["p99"]),
            })
            print(f"  {name}: p50 {fmt(summary['p50'])} ms, p99 {fmt(summary['p99'])} ms, "
                  f"{queries[name]['queries']} SQL queries", flush=True)
    errors = sum(e["errors"] for e in out["endpoints"])
    out["ok"] = errors == 0
    out["failure"] = f"{errors} requests did not answer 200" if errors else None
    return out


def report(payload: dict) -> str:
    rows = [[e["name"], e["p50"], e["p99"], e["max"], e["req_per_s"], e["sql_queries"], e["bytes"], e["errors"],
             round(e["server_cpu"] * 100)] for e in payload["endpoints"]]
    text = table(f"Pages — {payload['server']} on {payload['database']}; {payload['clients']} concurrent clients × "
                 f"{payload['requests_per_client']} requests; {payload['session']} (milliseconds)",
                 ["page", "p50", "p99", "max", "req/s", "SQL/req", "bytes", "errors", "srv cpu%"], rows)
    for e in payload["endpoints"]:
        if e["errors"]:
            text += f"\nFAIL ({e['name']}): {e['errors']} answers other than 200: {e.get('statuses')}"
        for w in e["client_bound"]:
            text += f"\nWARNING client-bound ({e['name']}): {w}"
    return text


def chart(payload: dict, info: dict):
    from .common import figure

    fig, (ax,) = figure(1, width=7)
    names = [e["name"] for e in payload["endpoints"]]
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [e["p50"] for e in payload["endpoints"]], 0.4, label="p50", color="#9ecae1")
    ax.bar([x + 0.2 for x in xs], [e["p99"] for e in payload["endpoints"]], 0.4, label="p99", color="#3182bd")
    for x, e in zip(xs, payload["endpoints"], strict=True):
        ax.text(x, e["p99"], f"{e['sql_queries']} SQL/request\n{e['req_per_s']:.0f} req/s", ha="center",
                va="bottom", fontsize=8)
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("milliseconds")
    ax.set_title(f"{payload['clients']} concurrent clients — {payload['server']}, {payload['database']}")
    ax.margins(y=0.2)
    ax.legend(fontsize=8)
    return fig
