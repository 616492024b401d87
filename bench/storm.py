"""Reconnect storm: 1,000 tablets opening their sockets at once (after a Wi-Fi blip in the hall),
while the tablets already connected keep receiving events.

``N_QUIET`` tablets (50) connect a few at a time and stay connected, in a client process of their
own. First, quiet: round after
round, the secretary POSTs a shared comment and each quiet tablet notes when it has applied it (as
in ``bench.fanout``). Then the storm: ``N`` more tablets (1,000; ``--quick``: 200), spread over the
client processes, all start their handshake at the same moment (``go``: the machine's monotonic
clock, the same in every process), with no gate on the client side; a failed attempt (a refused or
dropped handshake, no snapshot in 60 s) is retried with backoff, as a tablet does. Comments keep
being posted meanwhile and the quiet tablets' latency is measured as before.

Measured: handshakes completed / attempts that failed (drops) / tablets that needed a retry /
tablets that never connected; the time from ``go`` until each storm tablet had its 101 answer
(``handshake``) and its snapshot (``snapshot``: p50, p99, max; target: max ≤ 10 s on one Daphne);
the quiet tablets' event p99 during the storm against quiet (``ratio``; target ≤ 2×); the server's
CPU time per handshake (psutil, over the storm, less the CPU the comment rounds cost when quiet).
The same storm against the raw baseline (``bench/baseline_ws.py``: no authentication, no database)
gives its CPU per connect and its snapshot times, for scale.
"""

from __future__ import annotations

import time
import uuid

from .common import fmt, percentile, ratio, summary_ms, table
from .httpclient import Http
from .pool import ClientError, ClientPool, client_bound
from .scenario import connect, cpu_seconds, merge_stats, prepare_room
from .servers import BenchError, baseline
from .tablet import now

NAME = "storm"
N_QUIET = 50
SIZE = 1000
QUICK_SIZE = 200
QUIET_ROUNDS = 10
QUICK_QUIET_ROUNDS = 5
ROUND_TIMEOUT = 60
OPEN_TIMEOUT = 60  # a tablet gives up an attempt without its snapshot after this long, and retries
ATTEMPTS = 5
STORM_DEADLINE = 300  # seconds after go; tablets not connected by then count as failed
GO_DELAY = 1.0  # the storm command reaches every client process before go
PAUSE = 0.3  # between two comment rounds
PROBE_ENV = {"RATE_COMMENTS_PER_MINUTE": "600", "RATE_COMMENTS_PER_HOUR": "6000"}
TARGET_SECONDS = 10
TARGET_RATIO = 2


def _round(pool, marker: str, post) -> dict:
    pool.call("arm", group="quiet")
    t0 = now()
    post(marker)
    write = now() - t0
    replies = pool.call("marks", group="quiet", marker=marker, wait=ROUND_TIMEOUT)
    return {"applied": [t - t0 for r in replies for t in r["applied"]], "write": write, "t": t0,
            "lost": sum(r["missing"] for r in replies),
            "loads": [{k: r[k] for k in ("cpu", "burst_cpu", "burst_ms", "lag_max_ms", "lag_p99_ms", "wall")}
                      for r in replies]}


def _latency(rounds: list[dict]) -> dict:
    applied = [x for r in rounds for x in r["applied"]]
    summary = summary_ms(applied)
    return {**summary, "rounds": len(rounds), "lost": sum(r["lost"] for r in rounds),
            "write_p50_ms": round(percentile([r["write"] for r in rounds], 50) * 1000, 2) if rounds else None,
            "client_bound": sorted({w for r in rounds for w in client_bound(r["loads"], summary["p99"])})}


def _storm(pool, target, group: str, meeting: int, tablets: list, *, during=None) -> dict:
    """Open ``tablets`` all at once against ``target``; ``during()`` runs repeatedly until every
    storm tablet is done (connected or given up). Returns what the clients saw and the server's
    CPU seconds over the storm."""
    cpu0 = cpu_seconds(target.pids)
    go = now() + GO_DELAY
    pool.call("storm_start", [{"tablets": part} for part in pool.split(tablets)], group=group,
              ws_url=target.ws_url, origin=target.origin, meeting=meeting, go_at=go, open_timeout=OPEN_TIMEOUT,
              attempts=ATTEMPTS, ping_interval=pool.ping_interval or None)
    rounds = 0
    while now() < go + STORM_DEADLINE:
        status = pool.call("storm_status", group=group)
        if sum(s["done"] for s in status) == len(tablets):
            break
        if during is not None and now() >= go:
            during()
            rounds += 1
        else:
            time.sleep(0.1)
    replies = pool.call("storm_result", group=group, deadline=max(1.0, go + STORM_DEADLINE - now()),
                        timeout=STORM_DEADLINE + 120)
    wall = now() - go
    cpu = cpu_seconds(target.pids) - cpu0
    ready = [t for r in replies for t in r["ready"]]
    started = [t for r in replies for t in r["started"]]
    return {
        "tablets": len(tablets),
        "connected": len(ready),
        "failed": sum(len(r["failed"]) + r["unfinished"] for r in replies),
        "attempts_failed": sum(r["attempts_failed"] for r in replies),
        "retried": sum(r["retried"] for r in replies),
        "errors": [e for r in replies for e in r["errors"]][:10],
        "start_spread_ms": round((max(started) - min(started)) * 1000, 1) if started else None,
        "handshake": summary_ms([t for r in replies for t in r["handshake"]]),
        "snapshot": summary_ms(ready),
        "wall": round(wall, 2), "server_cpu_seconds": round(cpu, 3), "rounds_during": rounds,
        "client_cpu_max": max((r["cpu"] or 0) for r in replies),
        "client_lag_max_ms": max((r["lag_max_ms"] or 0) for r in replies),
    }


def run(ctx) -> dict:
    n = ctx.sizes[0] if ctx.sizes else (QUICK_SIZE if ctx.quick else SIZE)
    quiet_rounds = QUICK_QUIET_ROUNDS if ctx.quick else QUIET_ROUNDS
    db = ctx.database("postgres" if ctx.cluster else "sqlite")
    room = prepare_room(db, count=N_QUIET + n, title="Phiên họp thử tải: kết nối lại đồng loạt")
    usernames, tokens, item, meeting = room["usernames"], room["tokens"], room["items"][0], room["meeting"]
    quiet = [(u, tokens[u], None) for u in usernames[:N_QUIET]]
    storm = [(u, tokens[u], None) for u in usernames[N_QUIET:N_QUIET + n]]
    out = {"n": n, "quiet_tablets": N_QUIET, "database": db.label, "setup_seconds": room["setup_seconds"],
           "targets": {"snapshot_max_s": TARGET_SECONDS, "ratio_p99": TARGET_RATIO}}
    # The probe is a comment the secretary posts a few times a second: a measuring instrument, not a
    # minister, so this suite's server lifts the per-account comment limit (docs/limits.md).
    # The quiet tablets have a client process of their own: in the storm's processes their events
    # would wait behind 1,000 handshakes and snapshots being parsed, and measure the client.
    with ctx.server(db, env=PROBE_ENV) as target, ctx.pool() as pool, ClientPool(1, ctx.ping_interval) as watch:
        out["server"], out["topology"], out["client_processes"] = target.name, target.topology, pool.size
        host, port = target.host_port
        producer = Http(host, port, tokens["secretary"])

        def post(marker: str) -> None:
            producer.must("POST", f"/api/v1/agenda-items/{item}/comments/", {"text": marker, "visibility": "shared"})

        try:
            try:
                connect(watch, target, "quiet", meeting, quiet, after_seq=db.fixtures("head", meeting=meeting))
            except (BenchError, ClientError) as exc:
                return {**out, "ok": False, "failure": f"the {N_QUIET} quiet tablets: {exc}"}
            watch.call("sync", group="quiet")
            calm: list[dict] = []
            cpu0, t0 = cpu_seconds(target.pids), now()
            for r in range(quiet_rounds):
                calm.append(_round(watch, f"bench:storm:quiet:{r}:{uuid.uuid4().hex[:8]}", post))
                time.sleep(PAUSE)
            calm_cpu, calm_wall = cpu_seconds(target.pids) - cpu0, now() - t0
            during: list[dict] = []

            def one_round() -> None:
                during.append(_round(watch, f"bench:storm:during:{len(during)}:{uuid.uuid4().hex[:8]}", post))
                time.sleep(PAUSE)

            print(f"  storm: {n} tablets at once, {N_QUIET} connected and receiving…", flush=True)
            ours = _storm(pool, target, "storm", meeting, storm, during=one_round)
            # The rounds cost the server CPU when quiet too: what is left is the handshakes'.
            ours["server_cpu_ms_per_handshake"] = (
                round(max(0.0, ours["server_cpu_seconds"] - calm_cpu / calm_wall * ours["wall"])
                      / ours["connected"] * 1000, 2) if ours["connected"] else None)
            out["ecabinet"] = ours
            out["quiet"], out["during"] = _latency(calm), _latency(during)
            out["ratio_p99"] = ratio(out["during"]["p99"], out["quiet"]["p99"])
            out["client_stats"] = {"quiet": merge_stats(watch.call("stats", group="quiet")),
                                   "storm": merge_stats(pool.call("stats", group="storm"))}
        finally:
            producer.close()
        print(f"  e-Cabinet: {ours['connected']}/{n} with their snapshot, max {fmt(ours['snapshot']['max'])} ms; "
              f"quiet p99 {fmt(out['quiet']['p99'])} → {fmt(out['during']['p99'])} ms", flush=True)
        pool.call("close", group="storm")
        watch.call("close", group="quiet")
        with baseline(db.dir) as base:
            raw = _storm(pool, base, "storm-baseline", 0, storm)
            raw["server_cpu_ms_per_handshake"] = (round(raw["server_cpu_seconds"] / raw["connected"] * 1000, 2)
                                                  if raw["connected"] else None)
            out["baseline"] = raw
            pool.call("close", group="storm-baseline")
    failures = []
    for key, label in (("ecabinet", "e-Cabinet"), ("baseline", "baseline")):
        if out[key]["failed"]:
            failures.append(f"{label}: {out[key]['failed']} of {n} tablets never connected: {out[key]['errors'][:3]}")
    closed = out["client_stats"]["quiet"]["closed_unexpectedly"]
    if closed:
        failures.append(f"{len(closed)} quiet tablets were disconnected by the server: {closed[:5]}")
    lost = out["quiet"]["lost"] + out["during"]["lost"]
    if lost:
        failures.append(f"{lost} events never reached a quiet tablet")
    out["ok"], out["failure"] = not failures, "; ".join(failures) or None
    return out


def report(payload: dict) -> str:
    if "ecabinet" not in payload:
        return f"Reconnect storm — FAIL: {payload.get('failure')}"
    rows = []
    for key, label in (("ecabinet", payload["server"]), ("baseline", "raw websockets baseline")):
        s = payload[key]
        rows.append([label, s["tablets"], s["connected"], s["attempts_failed"], s["retried"], s["failed"],
                     s["handshake"]["p50"], s["handshake"]["p99"], s["snapshot"]["p50"], s["snapshot"]["p99"],
                     s["snapshot"]["max"], s["server_cpu_ms_per_handshake"], round(s["client_cpu_max"] * 100)])
    text = table(f"Reconnect storm — {payload['server']} on {payload['database']}; {payload['client_processes']} "
                 f"client processes for the storm; {payload['quiet_tablets']} tablets already connected, in one more "
                 "(milliseconds)",
                 ["server", "storm", "connected", "drops", "retried", "failed", "101 p50", "101 p99", "snap p50",
                  "snap p99", "snap max", "cpu ms/conn", "cli cpu%"], rows)
    q, d = payload["quiet"], payload["during"]
    text += "\n" + table("Events to the tablets already connected (comment POST → applied, milliseconds)",
                         ["phase", "rounds", "p50", "p99", "max", "write p50", "lost"],
                         [["quiet", q["rounds"], q["p50"], q["p99"], q["max"], q["write_p50_ms"], q["lost"]],
                          ["during the storm", d["rounds"], d["p50"], d["p99"], d["max"], d["write_p50_ms"],
                           d["lost"]]])
    ours = payload["ecabinet"]
    snap_ok = ours["failed"] == 0 and (ours["snapshot"]["max"] or 0) <= payload["targets"]["snapshot_max_s"] * 1000
    ratio_ok = payload["ratio_p99"] is not None and payload["ratio_p99"] <= payload["targets"]["ratio_p99"]
    text += (f"\nall {ours['tablets']} snapshots within {payload['targets']['snapshot_max_s']} s: "
             f"{'yes' if snap_ok else 'NO'} (max {fmt(ours['snapshot']['max'])} ms); quiet p99 during / quiet: "
             f"{fmt(payload['ratio_p99'])}× (target ≤ {payload['targets']['ratio_p99']}×: "
             f"{'yes' if ratio_ok else 'NO'}); handshakes started within {fmt(ours['start_spread_ms'])} ms")
    for w in q["client_bound"] + d["client_bound"]:
        text += f"\nWARNING client-bound: {w}"
    if payload.get("failure"):
        text += f"\nFAIL: {payload['failure']}"
    text += ("\ndrops = attempts that failed (refused, dropped, or no snapshot in 60 s), retried = tablets that "
             "needed more than one; 101 / snap = time from go to the handshake's answer / to the snapshot; "
             "cpu ms/conn = server CPU per connected tablet (e-Cabinet: less the comment rounds' own cost)")
    return text


def chart(payload: dict, info: dict):
    from .common import BASELINE, OURS, figure, sides, target_line

    fig, (ax, ax2) = figure(2)
    if "ecabinet" not in payload:
        return fig
    for key, label, color in sides():
        s = payload[key]
        ax.bar([f"{label}\np50", f"{label}\np99", f"{label}\nmax"],
               [(s["snapshot"][k] or 0) / 1000 for k in ("p50", "p99", "max")], color=color)
    target_line(ax, payload["targets"]["snapshot_max_s"], f"target {payload['targets']['snapshot_max_s']} s")
    ax.set_ylabel("seconds from go to the snapshot")
    ax.set_title(f"{payload['n']} tablets connecting at once")
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=8)
    q, d = payload["quiet"], payload["during"]
    ax2.bar(["quiet p50", "quiet p99", "storm p50", "storm p99"], [q["p50"] or 0, q["p99"] or 0, d["p50"] or 0,
                                                                   d["p99"] or 0],
            color=[BASELINE, BASELINE, OURS, OURS])
    if q["p99"]:
        target_line(ax2, q["p99"] * payload["targets"]["ratio_p99"], f"{payload['targets']['ratio_p99']}× quiet p99")
        ax2.legend(fontsize=8)
    ax2.set_ylabel("event latency, connected tablets (ms)")
    ax2.set_title(f"{payload['quiet_tablets']} tablets already connected")
    return fig
