"""Vote storm: V eligible members (27: the demo Government; 500: the Government plus bench accounts)
vote at the same moment from their tablets.

Each member has a tablet connected to the session's socket and one keep-alive HTTP connection. The
chair puts and opens a named motion through the API; when every tablet shows it open, every member
POSTs a vote at the same instant (``/api/v1/motions/{id}/votes/`` with an ``Idempotency-Key``).

* ``ack p50/p99`` — from sending the vote to its 201 answer;
* exactly once — every vote answered 201 with a receipt; the same request sent again (same key) is
  answered the first answer, replayed; a new request (new key) is refused 409 ``already_voted``; the
  database holds exactly V votes from V distinct voters with the choices sent; the closing result and
  every tablet show the same counts;
* ``tally`` — from the last 201 until *every* tablet shows the final counts (the tally it applied:
  any tally or result whose counts equal the final ones, however the server sends them);
* ``result`` — from the chair's close request until every tablet shows the result.

Run on SQLite and, when reachable, PostgreSQL (single Daphne), or on the cluster with ``--cluster``.
"""

from __future__ import annotations

import time
import uuid

from .common import fmt, ms, percentile, summary_ms, table
from .httpclient import Http
from .pool import client_bound
from .scenario import connect, cpu_seconds, merge_stats, prepare_room

NAME = "votes"
SIZES = [27, 500]
QUICK_SIZES = [27, 100]
WAIT = 120
TARGET_MS = 1000


def _choice(i: int) -> str:
    return "yes" if i % 10 < 8 else ("no" if i % 10 == 8 else "abstain")


def storm(ctx, db, target, pool, size: int) -> dict:
    room = prepare_room(db, count=size, title=f"Phiên họp thử tải: biểu quyết của {size} thành viên")
    usernames, tokens, item = room["usernames"], room["tokens"], room["items"][0]
    group = f"votes-{db.kind}-{size}"
    host, port = target.host_port
    tablets = [(u, tokens[u], None) for u in usernames]
    head = db.fixtures("head", meeting=room["meeting"])
    conn = connect(pool, target, group, room["meeting"], tablets, after_seq=head)
    pool.call("open_http", group=group)
    chair = Http(host, port, tokens["pm"])
    try:
        motion = chair.must("POST", f"/api/v1/agenda-items/{item}/motions/",
                            {"title": f"Thông qua dự thảo Nghị quyết (thử tải {size})", "method": "named"})["id"]
        chair.must("POST", f"/api/v1/motions/{motion}/open/")
        opened = pool.call("wait_open", group=group, motion=motion, wait=WAIT)
        if sum(r["missing"] for r in opened):
            raise RuntimeError(f"{sum(r['missing'] for r in opened)} tablets never showed the motion open")
        pool.call("sync", group=group)

        choices = {u: _choice(i) for i, u in enumerate(usernames)}
        keys = {u: str(uuid.uuid4()) for u in usernames}
        parts = pool.split(usernames)
        cpu0 = cpu_seconds(target.pids)
        pool.call("arm", group=group)
        go_at = time.monotonic() + 0.5
        replies = pool.call("vote", [{"choices": {u: choices[u] for u in p}, "keys": {u: keys[u] for u in p}}
                                     for p in parts], group=group, motion=motion, go_at=go_at)
        cpu_acks = cpu_seconds(target.pids) - cpu0
        server_cpu = cpu_acks / max(time.monotonic() - go_at, 1e-6)
        acks = [a for r in replies for a in r["acks"]]
        ok = [a for a in acks if a["status"] == 201 and a.get("receipt")]
        expected = (sum(c == "yes" for c in choices.values()), sum(c == "no" for c in choices.values()),
                    sum(c == "abstain" for c in choices.values()), size)
        got = (sum(a["choice"] == "yes" for a in ok), sum(a["choice"] == "no" for a in ok),
               sum(a["choice"] == "abstain" for a in ok), len(ok))
        last_ack = max(a["t1"] for a in acks)
        storm_wall = last_ack - min(a["t0"] for a in acks)
        tally = pool.call("tally", group=group, motion=motion, final=list(got), wait=WAIT, late_after=last_ack + 1)
        tally_after = [t - last_ack for r in tally for t in r["times"]]
        cpu_tally = cpu_seconds(target.pids) - cpu0  # the votes and the tallies they caused, on every tablet

        retry = {u: v for r in pool.call("retry", [{"choices": {u: choices[u] for u in p},
                                                    "keys": {u: keys[u] for u in p}} for p in parts],
                                         group=group, motion=motion) for u, v in r["results"].items()}
        # The receipt is shown once: a replayed answer carries "receipt": null (voting/motions_api.py).
        replayed_ok = sum(1 for (s1, replayed, receipt, _s2, _c2) in retry.values()
                          if s1 == 201 and replayed and receipt is None)
        refused_ok = sum(1 for (_s1, _r, _rc, s2, c2) in retry.values() if s2 == 409 and c2 == "already_voted")

        t_close = time.monotonic()
        close_status, closed = chair.call("POST", f"/api/v1/motions/{motion}/close/")
        close_ack = time.monotonic() - t_close
        if close_status != 200:  # a server error is a finding, not a reason to stop: say it and go on
            closed = {"error": f"close answered {close_status}: {str(closed)[:300]}"}
        shown = pool.call("result", group=group, motion=motion, wait=WAIT if close_status == 200 else 5)
        result_after = [t - t_close for r in shown for t in r["times"]]
        shown_counts = sorted({tuple(c) for r in shown for c in r["counts"]})
        verified = sum(r["found"] for r in pool.call(
            "verify", [{"receipts": {a["username"]: [a["receipt"], a["choice"]] for a in ok if a["username"] in p}}
                       for p in map(set, parts)], group=group, motion=motion))
        pool.call("sync", group=group)
        state = pool.call("state", group=group, motion=motion)
        stats = merge_stats(pool.call("stats", group=group))
    finally:
        chair.close()
        pool.call("close", group=group)
    stored = db.fixtures("votes", motion=motion)
    in_database = tuple(stored["by_choice"].get(c, 0) for c in ("yes", "no", "abstain"))
    stale = sum(1 for r in state for c in r["counts"] if c is None or tuple(c)[:3] != in_database)
    result_counts = tuple(closed.get(k) for k in ("yes", "no", "abstain"))

    ack = summary_ms([a["t1"] - a["t0"] for a in acks])
    checks = {
        "every vote answered 201 with a receipt": len(ok) == size,
        "counts acknowledged = counts sent": got == expected,
        "same key again: first answer replayed": replayed_ok == size,
        "new key: 409 already_voted": refused_ok == size,
        "database: V votes from V voters": stored["rows"] == size and stored["distinct_voters"] == size,
        "database: choices as sent": stored["by_choice"] == {c: n for c, n in zip(("yes", "no", "abstain"), expected,
                                                                                  strict=False) if n},
        "close answered 200": close_status == 200,
        "closing result = votes sent": result_counts == expected[:3],
        "every receipt verifies, with its choice, in the published record": verified == size,
        "every tablet showed the final tally": sum(r["missing"] for r in tally) == 0,
        "every tablet showed the result": sum(r["missing"] for r in shown) == 0,
        "tablets' result = votes sent": bool(shown_counts) and all(tuple(c[:3]) == expected[:3]
                                                                   for c in shown_counts),
        "tablets' final state = the database's votes (after a resume)": stale == 0,
        "no tablet disconnected": not stats["closed_unexpectedly"],
    }
    tally_ms = ms(max(tally_after)) if tally_after else None
    loads = [{k: r[k] for k in ("cpu", "lag_max_ms", "lag_p99_ms", "wall")} for r in replies]
    return {
        "size": size, "database": db.label, "motion": motion, "connect": conn, "close": closed.get("error"),
        "ack": ack, "acks_201": len(ok), "statuses": sorted({str(a["status"]) for a in acks}),
        "errors": sorted({f"{a['status']}: {a.get('error') or a.get('code')}" for a in acks if a["status"] != 201})[:5],
        "not_201": sum(a["status"] != 201 for a in acks),
        "retry_unexpected": [[u, *v] for u, v in retry.items()
                             if not (v[0] == 201 and v[1] and v[3] == 409 and v[4] == "already_voted")][:5],
        "storm_seconds": round(storm_wall, 3), "votes_per_second": round(size / storm_wall, 1),
        "tally_after_last_ack_ms": tally_ms,
        "tally_after_last_ack_p50_ms": ms(percentile(tally_after, 50)),
        "tally_updates_applied": sum(r["tally_updates"] for r in tally),
        "tally_late_tablets": [x for r in tally for x in r["late"]][:10],
        "result_after_close_ms": ms(max(result_after)) if result_after else None,
        "result_after_close_p50_ms": ms(percentile(result_after, 50)),
        "close_request_ms": ms(close_ack),
        "expected": expected, "acknowledged": got, "stored": stored, "checks": checks,
        "exactly_once": all(checks.values()),
        "server_cpu": round(server_cpu, 3),
        "server_cpu_seconds_to_last_ack": round(cpu_acks, 3),
        "server_cpu_seconds_to_tally": round(cpu_tally, 3),
        "server_cpu_ms_per_vote": round(cpu_tally * 1000 / size, 3),
        "client_loads": loads, "client_bound": client_bound(loads, ack["p99"]),
        "client_stats": stats,
        "targets": {"ack_p99_under_1s": (ack["p99"] or 0) < TARGET_MS,
                    "tally_within_1s": tally_ms is not None and tally_ms <= TARGET_MS},
    }


def run(ctx) -> dict:
    sizes = ctx.sizes_for(SIZES, QUICK_SIZES)
    kinds = ["postgres"] if ctx.cluster else ["sqlite"]
    skipped = None
    if not ctx.cluster:
        if ctx.no_postgres:
            skipped = "PostgreSQL run skipped (--no-postgres)"
        elif ctx.postgres_available():
            kinds.append("postgres")
        else:
            skipped = f"PostgreSQL not reachable at {ctx.pg_admin_url}: SQLite only"
            print(f"  {skipped}")
    runs = []
    server = topology = None
    for kind in kinds:
        db = ctx.database(kind)
        with ctx.server(db) as target, ctx.pool() as pool:
            server, topology = target.name, target.topology
            for size in sizes:
                result = storm(ctx, db, target, pool, size)
                runs.append(result)
                print(f"  vote storm {size} on {db.label}: ack p99 {fmt(result['ack']['p99'])} ms, final tally "
                      f"+{fmt(result['tally_after_last_ack_ms'])} ms, exactly once: {result['exactly_once']}",
                      flush=True)
    failed = [f"{r['size']} on {r['database']}: {name}" for r in runs for name, passed in r["checks"].items()
              if not passed]
    return {"server": server, "topology": topology, "sizes": sizes, "runs": runs, "postgres": skipped or "included",
            "client_processes": ctx.client_procs, "ok": not failed, "failure": "; ".join(failed) or None}


def report(payload: dict) -> str:
    rows = []
    for r in payload["runs"]:
        rows.append([r["database"], r["size"], r["ack"]["p50"], r["ack"]["p99"], r["ack"]["max"],
                     r["votes_per_second"], r["tally_after_last_ack_ms"], r["result_after_close_ms"],
                     "yes" if r["exactly_once"] else "NO", r["client_stats"]["resumes_sent"],
                     round(r["server_cpu"] * 100), r.get("server_cpu_ms_per_vote")])
    text = table(f"Vote storm — {payload['server']}; all members vote at once (milliseconds; target: ack p99 and "
                 f"final tally on every tablet < {TARGET_MS} ms)",
                 ["database", "V", "ack p50", "ack p99", "ack max", "votes/s", "tally", "result", "once",
                  "resumes", "srv cpu%", "cpu ms/vote"], rows)
    if payload["postgres"] != "included":
        text += f"\nNOTE: {payload['postgres']}"
    for r in payload["runs"]:
        for w in r["client_bound"]:
            text += f"\nWARNING client-bound ({r['size']} on {r['database']}): {w}"
        for name, passed in r["checks"].items():
            if not passed:
                text += f"\nFAIL ({r['size']} on {r['database']}): {name}"
        if r.get("not_201"):
            text += f"\n  {r['not_201']} of {r['size']} votes not answered 201 during the storm: {r['errors'][:2]}"
    text += ("\ntally = last 201 → every tablet shows the final counts; result = close request → every tablet "
             "shows the result; resumes = resume requests the tablets sent after seq jumps; cpu ms/vote = server CPU "
             "from the storm's start until every tablet showed the final tally, / V (no raw baseline: see "
             "bench/README.md)")
    return text


def chart(payload: dict, info: dict):
    from .common import figure, target_line

    fig, (ax,) = figure(1, width=9)
    labels = [f"{r['database']}\nV={r['size']}" for r in payload["runs"]]
    series = [("ack p50", lambda r: r["ack"]["p50"], "#9ecae1"), ("ack p99", lambda r: r["ack"]["p99"], "#3182bd"),
              ("final tally on every tablet", lambda r: r["tally_after_last_ack_ms"], "#e6550d"),
              ("result on every tablet", lambda r: r["result_after_close_ms"], "#31a354")]
    width = 0.8 / len(series)
    for i, (label, get, color) in enumerate(series):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        values = [max(get(r) or 0, 0.1) for r in payload["runs"]]
        ax.bar(xs, values, width, label=label, color=color)
    target_line(ax, TARGET_MS, "target 1 s")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yscale("log")
    ax.set_ylabel("milliseconds")
    ax.set_title(f"Vote storm: {payload['server']}")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
