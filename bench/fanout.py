"""Fan-out: N connected tablets, one event, how long until all N have it.

For each N (50, 200, 500, 1,000; ``--quick``: 50, 200) N member accounts are invited to a session
in progress and N tablets connect to e-Cabinet and N others to the raw baseline
(``bench/baseline_ws.py``), from the same client processes. Then, round after round, alternating:

* e-Cabinet: the secretary POSTs a shared comment (``POST /api/v1/agenda-items/{id}/comments/``)
  and each tablet notes when it has *applied* the ``comment.posted`` event;
* baseline: the publisher sends a message of the same shape and size, which the server broadcasts.

Latency of a tablet = the moment it applied the event − the moment the request was sent, so the
e-Cabinet figure includes the write (request, transaction, commit) before the broadcast; the
``write`` column shows how long the POST itself took. p50/p99 are over every tablet of every round;
``all`` is the median over rounds of the time until the last tablet had it. ``lost`` counts tablets
that never applied the event (must be 0). ``ratio`` = e-Cabinet p99 / baseline p99.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid

from .common import fmt, ratio, summary_ms, table
from .httpclient import Http
from .pool import ClientError, client_bound
from .scenario import connect, cpu_seconds, merge_stats, prepare_room
from .servers import BenchError, baseline

NAME = "fanout"
SIZES = [50, 200, 500, 1000]
QUICK_SIZES = [50, 200]
ROUND_TIMEOUT = 60
PROBE_ENV = {"RATE_COMMENTS_PER_MINUTE": "600", "RATE_COMMENTS_PER_HOUR": "6000"}
CONNECT_DEADLINE = 420  # seconds to connect one step's new tablets; beyond, the step is reported as failed
# Server CPU per event, e-Cabinet / baseline (issue 19): within 3× with 50 tablets, 1.5× with 1,000.
CPU_TARGETS = {50: 3.0, 1000: 1.5}


def cpu_target(n: int) -> float | None:
    """The target of the CPU ratio at ``n`` tablets (None: no stated target at that size)."""
    return CPU_TARGETS.get(n)


def per_thousand(cpu_ms: float | None, n: int) -> float | None:
    """Server CPU ms per event per 1,000 recipients: the per-event cost, N-normalised."""
    return None if cpu_ms is None or not n else round(cpu_ms * 1000 / n, 2)


def _comment(marker: str, seq: int) -> str:
    """A baseline message shaped like e-Cabinet's comment.posted event."""
    return json.dumps({"type": "event", "seq": seq, "kind": "comment.posted", "data": {"comment": {
        "id": seq, "agenda_item": 1, "document": None, "page": None, "author": "secretary",
        "author_name": "Trần Thị Thư", "visibility": "shared", "text": marker,
        "created_at": "2026-11-25T01:00:00.000000+00:00", "edited_at": None, "deleted": False}}},
        ensure_ascii=False, separators=(",", ":"))


def _round(pool, group: str, marker: str, send, pids: list[int]) -> dict:
    import psutil  # a benchmark package (make bench-deps): the report functions import without it

    pool.call("arm", group=group)
    psutil.cpu_percent()
    cpu0 = cpu_seconds(pids)
    t0 = time.monotonic()
    send()
    t_ack = time.monotonic()
    replies = pool.call("marks", group=group, marker=marker, wait=ROUND_TIMEOUT)
    applied = [t - t0 for r in replies for t in r["applied"]]
    received = [t - t0 for r in replies for t in r["received"]]
    last = max((t for r in replies for t in r["applied"]), default=time.monotonic())
    wall = max(last - t0, 1e-6)
    return {
        "applied": applied, "received": received, "write": t_ack - t0,
        "lost": sum(r["missing"] for r in replies), "resent": sum(r["resent"] for r in replies),
        "all": max(applied) if applied else None,
        "server_cpu_seconds": cpu_seconds(pids) - cpu0, "wall": wall,
        "machine_cpu": psutil.cpu_percent(),
        "loads": [{k: r[k] for k in ("cpu", "burst_cpu", "burst_ms", "lag_max_ms", "lag_p99_ms", "wall")}
                  for r in replies],
    }


def _summarise(rounds: list[dict]) -> dict:
    applied = [x for r in rounds for x in r["applied"]]
    summary = summary_ms(applied)
    p99 = summary["p99"]
    reasons = sorted({reason for r in rounds for reason in client_bound(r["loads"], p99)})
    return {
        **summary,
        "received": summary_ms([x for r in rounds for x in r["received"]]),
        "all_median_ms": round(statistics.median(r["all"] for r in rounds if r["all"] is not None) * 1000, 2),
        "write_median_ms": round(statistics.median(r["write"] for r in rounds) * 1000, 2),
        "lost": sum(r["lost"] for r in rounds),
        "resent": sum(r["resent"] for r in rounds),
        "server_cpu": round(sum(r["server_cpu_seconds"] for r in rounds) / sum(r["wall"] for r in rounds), 3),
        "server_cpu_ms_per_event": round(sum(r["server_cpu_seconds"] for r in rounds) / len(rounds) * 1000, 2),
        "machine_cpu_max": max(r["machine_cpu"] for r in rounds),
        "client_cpu_max": max((load["cpu"] or 0) for r in rounds for load in r["loads"]),
        "client_lag_max_ms": max((load["lag_max_ms"] or 0) for r in rounds for load in r["loads"]),
        "client_bound": reasons,
        "rounds": [{k: v for k, v in r.items() if k not in ("applied", "received")} for r in rounds],
    }


def run(ctx) -> dict:
    sizes = ctx.sizes_for(SIZES, QUICK_SIZES)
    rounds = 3 if ctx.quick else 10
    db = ctx.database("postgres" if ctx.cluster else "sqlite")
    room = prepare_room(db, count=max(sizes), title="Phiên họp thử tải: phát sự kiện")
    usernames, tokens, item = room["usernames"], room["tokens"], room["items"][0]
    results = {"sizes": sizes, "rounds_per_size": rounds, "database": db.label, "results": [],
               "cpu_clock": "each server process's POSIX CPU clock (bench.scenario.cpu_seconds)",
               "setup_seconds": room["setup_seconds"]}
    # The probe is a comment the secretary posts every second or so: a measuring instrument, not a
    # minister, so this suite's server lifts the per-account comment limit (docs/limits.md).
    with ctx.server(db, env=PROBE_ENV) as target, baseline(db.dir) as base, ctx.pool() as pool:
        from websockets.sync.client import connect as ws_connect

        results["server"], results["topology"] = target.name, target.topology
        results["client_processes"] = pool.size
        host, port = target.host_port
        producer = Http(host, port, tokens["secretary"])
        publisher = ws_connect(base.ws_url + "/publish", compression=None, proxy=None)
        base_seq = 0
        have = 0
        try:
            for n in sizes:
                new = [(u, tokens[u], None) for u in usernames[have:n]]
                head = db.fixtures("head", meeting=room["meeting"])
                try:
                    c_ours = connect(pool, target, "ecabinet", room["meeting"], new, after_seq=head,
                                     deadline=CONNECT_DEADLINE)
                    c_base = connect(pool, base, "baseline", 0, new, after_seq=None)
                except (BenchError, ClientError) as exc:  # a finding: report what was measured so far
                    results["failure"] = f"N={n}: {exc}"
                    print(f"  fan-out N={n}: {exc}", flush=True)
                    break
                have = n
                pool.call("sync", group="ecabinet")  # learn the head: presence events moved it unseen
                pool.call("sync", group="baseline")
                ours, raw = [], []
                for r in range(rounds):
                    marker = f"bench:fanout:{n}:{r}:{uuid.uuid4().hex[:8]}"

                    def post(marker=marker):
                        producer.must("POST", f"/api/v1/agenda-items/{item}/comments/",
                                      {"text": marker, "visibility": "shared"})

                    ours.append(_round(pool, "ecabinet", marker, post, target.pids))
                    time.sleep(0.2)
                    base_seq += 1
                    marker = f"bench:baseline:{n}:{r}:{uuid.uuid4().hex[:8]}"
                    text = _comment(marker, base_seq)
                    raw.append(_round(pool, "baseline", marker, lambda text=text: publisher.send(text), base.pids))
                    time.sleep(0.2)
                s_ours, s_raw = _summarise(ours), _summarise(raw)
                for s in (s_ours, s_raw):
                    s["server_cpu_ms_per_event_per_1000"] = per_thousand(s["server_cpu_ms_per_event"], n)
                cpu_ratio = ratio(s_ours["server_cpu_ms_per_event"], s_raw["server_cpu_ms_per_event"])
                target_ratio = cpu_target(n)
                results["results"].append({"n": n, "ecabinet": s_ours, "baseline": s_raw,
                                           "ratio_p99": ratio(s_ours["p99"], s_raw["p99"]),
                                           "ratio_p50": ratio(s_ours["p50"], s_raw["p50"]),
                                           "cpu_ratio": cpu_ratio, "cpu_target": target_ratio,
                                           "cpu_target_met": (None if target_ratio is None or cpu_ratio is None
                                                              else cpu_ratio <= target_ratio),
                                           "connect": {"ecabinet": c_ours, "baseline": c_base}})
                print(f"  fan-out N={n}: e-Cabinet p99 {fmt(s_ours['p99'])} ms, baseline p99 {fmt(s_raw['p99'])} ms,"
                      f" lost {s_ours['lost']}+{s_raw['lost']}", flush=True)
            results["client_stats"] = {g: merge_stats(pool.call("stats", group=g)) for g in ("ecabinet", "baseline")}
        finally:
            publisher.close()
            producer.close()
    results["lost"] = sum(r["ecabinet"]["lost"] + r["baseline"]["lost"] for r in results["results"])
    results["handshake"] = handshake_cpu(results["results"])
    closed = results["client_stats"]["ecabinet"]["closed_unexpectedly"]
    results["ok"] = results["lost"] == 0 and not closed and "failure" not in results
    if closed and "failure" not in results:
        results["failure"] = f"{len(closed)} tablets were disconnected by the server: {closed[:5]}"
    return results


def handshake_cpu(results: list[dict]) -> dict:
    """Server CPU per WebSocket handshake (the connect phases of every step: CPU / tablets
    connected), e-Cabinet and the baseline."""
    out = {}
    for key in ("ecabinet", "baseline"):
        phases = [r["connect"][key] for r in results if "server_cpu_seconds" in r.get("connect", {}).get(key, {})]
        tablets = sum(p.get("tablets", 0) for p in phases)
        cpu = sum(p["server_cpu_seconds"] for p in phases)
        out[key] = {"tablets": tablets, "server_cpu_seconds": round(cpu, 3),
                    "server_cpu_ms_per_handshake": round(cpu * 1000 / tablets, 2) if tablets else None}
    out["ratio"] = ratio(out["ecabinet"]["server_cpu_ms_per_handshake"], out["baseline"]["server_cpu_ms_per_handshake"])
    return out


def _yes_no(met: bool | None) -> str | None:
    return None if met is None else ("yes" if met else "NO")


def report(payload: dict) -> str:
    rows = []
    for r in payload["results"]:
        for label, key in (("e-Cabinet", "ecabinet"), ("baseline", "baseline")):
            s = r[key]
            ours = key == "ecabinet"
            rows.append([label, r["n"], s["p50"], s["p99"], s["all_median_ms"],
                         s["write_median_ms"] if ours else None, s["lost"],
                         r["ratio_p99"] if ours else None, s["server_cpu_ms_per_event"],
                         s.get("server_cpu_ms_per_event_per_1000"),
                         r.get("cpu_ratio") if ours else None,
                         (f"≤ {r['cpu_target']:g}× {_yes_no(r.get('cpu_target_met'))}"
                          if ours and r.get("cpu_target") else None),
                         round(s["client_cpu_max"] * 100), s["client_lag_max_ms"]])
    text = table(f"Fan-out — {payload['server']} on {payload['database']}; {payload['client_processes']} client "
                 f"processes; {payload['rounds_per_size']} rounds per N (milliseconds)",
                 ["server", "N", "p50", "p99", "all", "write", "lost", "ratio p99", "srv cpu ms", "cpu/1k",
                  "cpu ×base", "cpu target", "cli cpu%", "cli lag"], rows)
    for r in payload["results"]:
        for key, label in (("ecabinet", "e-Cabinet"), ("baseline", "baseline")):
            for w in r[key]["client_bound"]:
                text += f"\nWARNING client-bound ({label}, N={r['n']}): {w}"
    text += f"\nlost events, all runs: {payload['lost']} ({'OK' if payload['lost'] == 0 else 'FAIL'})"
    if payload.get("failure"):
        text += f"\nFAIL: {payload['failure']}"
    steps = ", ".join(f"to N={r['n']} in {r['connect']['ecabinet']['seconds']:.0f} s"
                      f" ({r['connect']['ecabinet']['retries']} retries)" for r in payload["results"])
    text += f"\nconnecting the tablets to e-Cabinet, 4 handshakes at a time: {steps}"
    hs = payload.get("handshake")
    if hs and hs["ecabinet"]["server_cpu_ms_per_handshake"] is not None:
        text += (f"\nserver CPU per handshake (connect phases, {hs['ecabinet']['tablets']} tablets): e-Cabinet "
                 f"{fmt(hs['ecabinet']['server_cpu_ms_per_handshake'])} ms (token, membership, resume), baseline "
                 f"{fmt(hs['baseline']['server_cpu_ms_per_handshake'])} ms → {fmt(hs['ratio'])}×")
    text += ("\nall = time until the last of the N tablets applied it (median over rounds); write = the POST's own "
             "answer time; srv cpu ms = server CPU per event; cpu/1k = per event per 1,000 recipients (srv cpu ms "
             "× 1,000 / N); cpu ×base = e-Cabinet / baseline CPU per event; cli = the busiest client process")
    return text


def chart(payload: dict, info: dict):
    from .common import OURS, figure, sides, target_line

    fig, (ax, ax2) = figure(2)
    ns = [r["n"] for r in payload["results"]]
    for key, label, color in sides(baseline="websockets baseline"):
        ax.plot(ns, [r[key]["p99"] for r in payload["results"]], "o-", color=color, label=f"{label} p99")
        ax.plot(ns, [r[key]["p50"] for r in payload["results"]], "o--", color=color, alpha=0.6, label=f"{label} p50")
    ax.set_xlabel("connected tablets (N)")
    ax.set_ylabel("time until the tablet applied the event (ms)")
    ax.set_title(f"Fan-out: {payload['server']}, {payload['database']}")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ratios = [r["ratio_p99"] or 0 for r in payload["results"]]
    ax2.bar([str(n) for n in ns], ratios, color=OURS)
    target = 2 if "nginx" in payload.get("topology", "") else 3
    target_line(ax2, target, f"target {target}×")
    for i, v in enumerate(ratios):
        ax2.text(i, v, f"{v:.1f}×", ha="center", va="bottom", fontsize=8)
    ax2.set_xlabel("connected tablets (N)")
    ax2.set_ylabel("p99 e-Cabinet / p99 baseline")
    ax2.set_title("Ratio to the raw baseline (p99)")
    ax2.legend(fontsize=8)
    return fig


