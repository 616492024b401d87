"""Pages under load: the agenda screen (``/meetings/{id}/``, a member's browser session) and the
session API (``GET /api/v1/meetings/{id}/``, a member's token), each with 50 concurrent clients,
and the raw baseline of a page view in the same run.

Two sessions, so that the query counts can be seen not to grow with the session: a small one (10
agenda items with two documents each, three comments per item, 20 participants) and a full one (30
items, 60 documents, 90 comments, 60 participants). Member accounts (50, or as many as the session
has) each keep one connection and request the page back to back. ``p50/p99`` are per request;
``req/s`` is the throughput of the whole; ``cpu ms/view`` is the server process's CPU time over the
measured window divided by the requests answered; ``SQL`` is the number of queries one request
makes, counted in-process with Django's test client on the same database (the second of two
identical requests, so one-off caches do not count).

The baseline (``bench/baseline_http.py``) is a plain ASGI application served by the same Daphne
command, answering the same number of bytes to the same clients: what e-Cabinet costs above it is
Django and the application, not the HTTP server.
"""

from __future__ import annotations

import time

from .common import fmt, ratio, summary_ms, table
from .pool import client_bound
from .scenario import cpu_seconds, prepare_room
from .servers import baseline_http

NAME = "pages"
CLIENTS = 50
CPU_TARGET_MS = 10  # server CPU per page view (issue 19)
QUERY_TARGET = 8  # SQL queries per page view, whatever the size of the session (issue 19)
P99_TARGET_MS = 300  # at 50 concurrent clients (issue 19)
SESSIONS = [
    {"label": "small", "count": 20, "items": 10, "documents_per_item": 2, "comments_per_item": 3},
    {"label": "full", "count": 60, "items": 30, "documents_per_item": 2, "comments_per_item": 3},
]


def describe(session: dict) -> str:
    return (f"{session['items']} items × {session['documents_per_item']} documents, {session['comments_per_item']} "
            f"comments per item, {session['count']} participants")


def paths_of(meeting: int) -> dict[str, str]:
    return {"agenda screen": f"/meetings/{meeting}/", "session API": f"/api/v1/meetings/{meeting}/"}


def _load(pool, target, parts: list[dict], path: str, cookie: bool, requests: int) -> dict:
    """One endpoint under load (after one request per client, not counted): latency, throughput,
    answers, and the server's CPU per request."""
    pool.call("http_load", parts, path=path, cookie=cookie, requests=1)
    cpu0 = cpu_seconds(target.pids)
    started = time.monotonic()
    replies = pool.call("http_load", parts, path=path, cookie=cookie, requests=requests)
    wall = time.monotonic() - started
    cpu = cpu_seconds(target.pids) - cpu0
    latencies = [x for r in replies for x in r["latencies"]]
    statuses = [s for r in replies for s in r["statuses"]]
    summary = summary_ms(latencies)
    loads = [{k: r[k] for k in ("cpu", "lag_max_ms", "lag_p99_ms", "wall")} for r in replies]
    return {
        **summary, "requests": len(latencies), "errors": sum(s != 200 for s in statuses),
        "statuses": {str(code): statuses.count(code) for code in sorted(set(statuses))},
        "req_per_s": round(len(latencies) / wall, 1),
        "bytes": max((b for r in replies for b in r["bytes"]), default=0),
        "server_cpu": round(cpu / wall, 3),
        "server_cpu_ms_per_view": round(cpu * 1000 / len(latencies), 3) if latencies else None,
        "client_loads": loads, "client_bound": client_bound(loads, summary["p99"]),
    }


def measure(db, target, pool, room: dict, *, clients: int, requests: int, base=None) -> dict:
    """The agenda screen and the session API of ``room`` under ``clients`` concurrent members
    (``room``'s participants after the chair), with their query counts; against ``base`` (the
    plain ASGI baseline) too, when given, with answers of the same sizes."""
    users = room["usernames"][1:clients + 1]
    tokens = room["tokens"]
    cookies = db.fixtures("sessions", usernames=users)
    paths = paths_of(room["meeting"])
    queries = db.fixtures("queries", username=users[0], token=tokens[users[0]], cookie=cookies[users[0]], paths=paths)
    parts = [{"clients": p, "http": list(target.host_port)} for p in pool.split([(u, tokens[u], cookies[u])
                                                                                  for u in users])]
    endpoints = []
    for name, path in paths.items():
        cookie = not path.startswith("/api/")
        e = {"name": name, "path": path, "auth": "session cookie" if cookie else "token",
             **_load(pool, target, parts, path, cookie, requests),
             "sql_queries": queries[name]["queries"], "sql_status": queries[name]["status"]}
        if base is not None:
            kind = "html" if cookie else "json"
            raw_parts = [{**p, "http": list(base.host_port)} for p in parts]
            raw = _load(pool, base, raw_parts, f"/?bytes={e['bytes'] or queries[name]['bytes']}&type={kind}",
                        cookie, requests)
            e["baseline"] = {k: raw[k] for k in ("p50", "p99", "max", "req_per_s", "bytes", "errors",
                                                  "server_cpu", "server_cpu_ms_per_view", "client_bound")}
            e["cpu_ratio"] = ratio(e["server_cpu_ms_per_view"], raw["server_cpu_ms_per_view"])
        endpoints.append(e)
        print(f"  {name} ({len(users)} clients): p50 {fmt(e['p50'])} ms, p99 {fmt(e['p99'])} ms, "
              f"{fmt(e['server_cpu_ms_per_view'])} ms CPU per view, {e['sql_queries']} SQL queries", flush=True)
    return {"clients": len(users), "requests_per_client": requests, "meeting": room["meeting"],
            "endpoints": endpoints}


def query_check(sessions: list[dict]) -> dict:
    """Per endpoint: its query counts over the sessions measured, and whether they are ≤ 8 and the
    same whatever the session's size."""
    out = {}
    for session in sessions:
        for e in session["endpoints"]:
            out.setdefault(e["name"], []).append(e["sql_queries"])
    return {name: {"counts": counts, "max_ok": max(counts) <= QUERY_TARGET, "constant": len(set(counts)) == 1,
                   "met": max(counts) <= QUERY_TARGET and len(set(counts)) == 1}
            for name, counts in out.items()}


def run(ctx) -> dict:
    requests = 5 if ctx.quick else 20
    db = ctx.database("postgres" if ctx.cluster else "sqlite")
    out = {"database": db.label, "sessions": [], "cpu_target_ms": CPU_TARGET_MS, "query_target": QUERY_TARGET,
           "p99_target_ms": P99_TARGET_MS}
    with ctx.server(db) as target, baseline_http(db.dir) as base, ctx.pool() as pool:
        out["server"], out["client_processes"], out["baseline"] = target.name, pool.size, base.name
        for spec in SESSIONS:
            # Made just before it is measured: making a room signs its members in afresh (new tokens).
            room = prepare_room(db, count=spec["count"], title=f"Phiên họp thử tải: {spec['items']} nội dung",
                                items=spec["items"], documents_per_item=spec["documents_per_item"],
                                comments_per_item=spec["comments_per_item"])
            measured = measure(db, target, pool, room, clients=CLIENTS, requests=requests, base=base)
            out["sessions"].append({"label": spec["label"], "session": describe(spec), "participants": spec["count"],
                                    **measured})
    out["queries"] = query_check(out["sessions"])
    errors = sum(e["errors"] + e.get("baseline", {}).get("errors", 0) for s in out["sessions"] for e in s["endpoints"])
    out["ok"] = errors == 0
    out["failure"] = f"{errors} requests did not answer 200" if errors else None
    return out


def sessions_of(payload: dict) -> list[dict]:
    """The sessions measured (a result file from before the two sessions holds one)."""
    if "sessions" in payload:
        return payload["sessions"]
    return [{"label": "full", "session": payload.get("session", ""), "clients": payload.get("clients"),
             "requests_per_client": payload.get("requests_per_client"), "endpoints": payload.get("endpoints", [])}]


def _yes(flag: bool | None) -> str | None:
    return None if flag is None else ("yes" if flag else "NO")


def report(payload: dict) -> str:
    rows = []
    for s in sessions_of(payload):
        for e in s["endpoints"]:
            cpu = e.get("server_cpu_ms_per_view")
            rows.append([f"{e['name']}, {s['label']}", s["clients"], e["p50"], e["p99"], e["max"], e["req_per_s"],
                         cpu, e.get("baseline", {}).get("server_cpu_ms_per_view"), e.get("cpu_ratio"),
                         _yes(None if cpu is None else cpu < CPU_TARGET_MS), e["sql_queries"], e["bytes"],
                         e["errors"], round(e["server_cpu"] * 100)])
        for e in s["endpoints"]:
            if "baseline" in e:
                b = e["baseline"]
                rows.append([f"  baseline, {e['bytes']} bytes", s["clients"], b["p50"], b["p99"], b["max"],
                             b["req_per_s"], b["server_cpu_ms_per_view"], None, None, None, None, b["bytes"],
                             b["errors"], round(b["server_cpu"] * 100)])
    sessions = sessions_of(payload)
    text = table(f"Pages — {payload['server']} on {payload['database']}; concurrent clients × "
                 f"{sessions[0].get('requests_per_client')} requests each (milliseconds); baseline: "
                 f"{payload.get('baseline', '—')} answering as many bytes",
                 ["page, session", "clients", "p50", "p99", "max", "req/s", "cpu ms/view", "base cpu", "×base",
                  f"<{CPU_TARGET_MS} ms", "SQL/req", "bytes", "errors", "srv cpu%"], rows)
    for s in sessions:
        text += f"\n{s['label']} session: {s['session']}"
    for name, q in (payload.get("queries") or {}).items():
        text += (f"\nSQL queries per view, {name}: {' / '.join(map(str, q['counts']))} (small / full session) — "
                 f"≤ {QUERY_TARGET} and constant: {_yes(q['met'])}")
    for s in sessions:
        for e in s["endpoints"]:
            if e["errors"]:
                text += f"\nFAIL ({e['name']}, {s['label']}): {e['errors']} answers other than 200: {e.get('statuses')}"
            for w in e["client_bound"]:
                text += f"\nWARNING client-bound ({e['name']}, {s['label']}): {w}"
    text += ("\ncpu ms/view = server CPU over the measured window / requests answered; base cpu = the same for the "
             "plain ASGI app on Daphne; ×base = their ratio")
    return text


def chart(payload: dict, info: dict):
    from .common import BASELINE, OURS, figure, target_line

    fig, (ax, ax2) = figure(2, width=6)
    sessions = sessions_of(payload)
    full = sessions[-1]
    names = [e["name"] for e in full["endpoints"]]
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [e["p50"] for e in full["endpoints"]], 0.4, label="p50", color="#9ecae1")
    ax.bar([x + 0.2 for x in xs], [e["p99"] for e in full["endpoints"]], 0.4, label="p99", color="#3182bd")
    for x, e in zip(xs, full["endpoints"], strict=True):
        ax.text(x, e["p99"], f"{e['sql_queries']} SQL/request\n{e['req_per_s']:.0f} req/s", ha="center",
                va="bottom", fontsize=8)
    target_line(ax, P99_TARGET_MS, f"target p99 {P99_TARGET_MS} ms")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("milliseconds")
    ax.set_title(f"{full['clients']} concurrent clients, {full['label']} session — {payload['server']}")
    ax.margins(y=0.2)
    ax.legend(fontsize=8)
    labels, ours, raw = [], [], []
    for s in sessions:
        for e in s["endpoints"]:
            labels.append(f"{e['name']}\n{s['label']}")
            ours.append(max(e.get("server_cpu_ms_per_view") or 0, 1e-3))
            raw.append(max(e.get("baseline", {}).get("server_cpu_ms_per_view") or 0, 1e-3))
    xs = range(len(labels))
    ax2.bar([x - 0.2 for x in xs], ours, 0.4, label="e-Cabinet", color=OURS)
    ax2.bar([x + 0.2 for x in xs], raw, 0.4, label="plain ASGI app on Daphne", color=BASELINE)
    target_line(ax2, CPU_TARGET_MS, f"target {CPU_TARGET_MS} ms")
    ax2.set_xticks(list(xs), labels, fontsize=8)
    ax2.set_yscale("log")
    ax2.set_ylabel("server CPU ms per page view")
    ax2.set_title("Server CPU per page view")
    ax2.legend(fontsize=8)
    return fig
