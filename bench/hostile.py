"""The room under attack: 27 tablets use a session while one hostile client tries to stall, shut
or bloat the server (issue 14).

Two phases against the same Daphne process and the same 27 connected tablets (the demo
Government: ``pm``, ``member01``…``member26``):

* **quiet** — round after round, a member posts a shared comment (a different member each round)
  and every tablet notes when it has applied the ``comment.posted`` event; then the 27 members
  each GET the session (``GET /api/v1/meetings/{id}/``) back to back on their own connection.
* **hostile** — the same measurements while one more account of the session (``bench0001``, a
  member, and the secretary's token for uploads: an insider) runs, in its own process, without
  pause and in turn:

  - ``bomb upload``: a 50-page PDF whose pages share one Flate stream of 100 MB of decoded
    content (about 100 KB on the wire), uploaded as a document;
  - ``comment flood``: shared comments of 2,000 characters, back to back on one connection;
  - ``huge body``: a 200 MB POST to ``/api/v1/auth/token`` (unauthenticated), streamed with its
    ``Content-Length``; the attacker stops when the server answers or hangs up;
  - ``deep JSON``: 5,000 nested arrays to the vote path, unauthenticated;
  - ``ws oversize``: a 100 KB WebSocket message; ``ws flood``: 1,000 pings back to back.

Reported: other users' p99 answer time and event delivery in both phases and their ratio (target:
within 2× of the quiet run); what each attack got back (status codes, close codes, how long the
server took to refuse); the server's memory before, at its peak during, and after the attack.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid

from .attacker import attacker_main
from .common import fmt, ratio, summary_ms, table
from .fanout import _round
from .httpclient import Http
from .pool import client_bound
from .scenario import connect, memory_bytes, merge_stats, prepare_room

NAME = "hostile"
TABLETS = 27
ATTACKER = "bench0001"


# --- the measuring side ----------------------------------------------------------------------------

def _peak_memory(pids: list[int], stop: threading.Event, peak: list[int]) -> None:
    while not stop.wait(0.2):
        peak[0] = max(peak[0], memory_bytes(pids))


def _phase(pool, target, room: dict, honest: list[str], tokens: dict, rounds: int, requests: int,
           tag: str) -> dict:
    host, port = target.host_port
    events = []
    for r in range(rounds):
        author = honest[(r * 7 + (0 if tag == "quiet" else 3)) % len(honest)]
        marker = f"bench:hostile:{tag}:{r}:{uuid.uuid4().hex[:8]}"
        http = Http(host, port, tokens[author])

        def post(http=http, marker=marker):
            http.must("POST", f"/api/v1/agenda-items/{room['items'][0]}/comments/",
                      {"text": marker, "visibility": "shared"})

        try:
            events.append(_round(pool, "room", marker, post, target.pids))
        finally:
            http.close()
        time.sleep(0.3)
    clients = [(u, tokens[u], None) for u in honest]
    parts = [{"clients": p, "http": [host, port]} for p in pool.split(clients)]
    started = time.monotonic()
    replies = pool.call("http_load", parts, path=f"/api/v1/meetings/{room['meeting']}/", cookie=False,
                        requests=requests)
    wall = time.monotonic() - started
    latencies = [x for r in replies for x in r["latencies"]]
    statuses = [s for r in replies for s in r["statuses"]]
    applied = [x for r in events for x in r["applied"]]
    delivery = summary_ms(applied)
    loads = [load for r in events for load in r["loads"]]
    return {
        "delivery": delivery, "lost": sum(r["lost"] for r in events),
        "write": summary_ms([r["write"] for r in events]),
        "http": summary_ms(latencies), "http_errors": sum(s != 200 for s in statuses),
        "http_statuses": {str(c): statuses.count(c) for c in sorted(set(statuses))},
        "req_per_s": round(len(latencies) / wall, 1),
        "client_bound": sorted(set(client_bound(loads, delivery["p99"]))),
    }


def run(ctx) -> dict:
    rounds = 4 if ctx.quick else 10
    requests = 5 if ctx.quick else 20
    db = ctx.database("sqlite")
    room = prepare_room(db, count=TABLETS + 1, title="Phiên họp thử tải: một người dùng phá hoại")
    honest = room["usernames"][:TABLETS]
    attacker = room["usernames"][TABLETS]
    assert attacker == ATTACKER, attacker
    tokens = room["tokens"]
    out = {"tablets": TABLETS, "rounds": rounds, "requests_per_client": requests, "database": db.label,
           "attacks": {}}
    with ctx.server(db) as target, ctx.pool() as pool:
        out["server"] = target.name
        # An open motion, the target of the unauthenticated deep-JSON votes.
        chair = Http(*target.host_port, tokens["pm"])
        motion = chair.must("POST", f"/api/v1/agenda-items/{room['items'][0]}/motions/",
                            {"title": "Biểu quyết thử", "method": "named"})["id"]
        chair.must("POST", f"/api/v1/motions/{motion}/open/")
        chair.close()
        tablets = [(u, tokens[u], None) for u in honest]
        connect(pool, target, "room", room["meeting"], tablets, after_seq=db.fixtures("head", meeting=room["meeting"]))
        pool.call("sync", group="room")
        memory = {"start": memory_bytes(target.pids)}
        out["quiet"] = _phase(pool, target, room, honest, tokens, rounds, requests, "quiet")
        memory["after quiet"] = memory_bytes(target.pids)
        print(f"  quiet: delivery p99 {fmt(out['quiet']['delivery']['p99'])} ms, "
              f"GET p99 {fmt(out['quiet']['http']['p99'])} ms", flush=True)

        mp = multiprocessing.get_context("spawn")
        stop, ready = mp.Event(), mp.Event()
        receiver, sender = mp.Pipe(duplex=False)
        cfg = {"http": list(target.host_port), "ws_url": target.ws_url, "origin": target.origin,
               "meeting": room["meeting"], "item": room["items"][0], "motion": motion, "token": tokens[attacker],
               "upload_token": tokens["secretary"], "stop": stop, "ready": ready}
        process = mp.Process(target=attacker_main, args=(cfg, sender), name="bench-attacker", daemon=True)
        peak, sampling = [0], threading.Event()
        sampler = threading.Thread(target=_peak_memory, args=(target.pids, sampling, peak), daemon=True)
        process.start()
        try:
            ready.wait(120)
            sampler.start()
            time.sleep(2)  # the attack is under way before anything is measured
            out["hostile"] = _phase(pool, target, room, honest, tokens, rounds, requests, "hostile")
        finally:
            stop.set()
            attacks = receiver.recv() if receiver.poll(180) else {"error": "the attacker did not report"}
            process.join(10)
            if process.is_alive():
                process.terminate()
            sampling.set()
            sampler.join(5)
        out["attacks"] = attacks
        memory["peak during attack"] = peak[0]
        time.sleep(2)
        memory["after attack"] = memory_bytes(target.pids)
        out["memory_mb"] = {k: round(v / 1048576, 1) for k, v in memory.items()}
        out["client_stats"] = merge_stats(pool.call("stats", group="room"))
        print(f"  hostile: delivery p99 {fmt(out['hostile']['delivery']['p99'])} ms, "
              f"GET p99 {fmt(out['hostile']['http']['p99'])} ms", flush=True)
    out["ratio_delivery_p99"] = ratio(out["hostile"]["delivery"]["p99"], out["quiet"]["delivery"]["p99"])
    out["ratio_http_p99"] = ratio(out["hostile"]["http"]["p99"], out["quiet"]["http"]["p99"])
    closed = out["client_stats"]["closed_unexpectedly"]
    lost = out["quiet"]["lost"] + out["hostile"]["lost"]
    errors = out["quiet"]["http_errors"] + out["hostile"]["http_errors"]
    problems = []
    if lost:
        problems.append(f"{lost} events never reached a tablet")
    if closed:
        problems.append(f"{len(closed)} honest tablets were disconnected: {closed[:5]}")
    if errors:
        problems.append(f"{errors} honest page requests did not answer 200")
    if "error" in attacks:
        problems.append(f"the attacker failed: {attacks['error']}")
    out["ok"] = not problems
    out["failure"] = "; ".join(problems) or None
    return out


def report(payload: dict) -> str:
    rows = []
    for phase in ("quiet", "hostile"):
        p = payload[phase]
        rows.append([phase, p["delivery"]["p50"], p["delivery"]["p99"], p["lost"], p["write"]["p99"],
                     p["http"]["p50"], p["http"]["p99"], p["req_per_s"], p["http_errors"]])
    text = table(f"Hostile client — {payload['server']} on {payload['database']}; {payload['tablets']} tablets, "
                 f"{payload['rounds']} events and {payload['requests_per_client']} GETs per member per phase "
                 "(milliseconds)",
                 ["phase", "event p50", "event p99", "lost", "post p99", "GET p50", "GET p99", "req/s", "errors"],
                 rows)
    text += (f"\nunder attack / quiet, p99: events {payload['ratio_delivery_p99']}×, "
             f"pages {payload['ratio_http_p99']}× (target ≤ 2×)")
    attacks = payload["attacks"]
    if "error" in attacks:
        text += f"\nattacker: {attacks['error']}"
    else:
        arows = [[name, a["count"], ", ".join(f"{k}: {v}" for k, v in sorted(a["outcomes"].items())), a["p50"],
                  a["max"]] for name, a in attacks.items()]
        text += "\n" + table("What the attacker got (answer time in milliseconds)",
                             ["attack", "tries", "answers", "p50", "max"], arows)
    text += "\nserver memory (MB): " + ", ".join(f"{k} {v}" for k, v in payload["memory_mb"].items())
    for phase in ("quiet", "hostile"):
        for w in payload[phase]["client_bound"]:
            text += f"\nWARNING client-bound ({phase}): {w}"
    if payload.get("failure"):
        text += f"\nFAIL: {payload['failure']}"
    return text


def chart(payload: dict, info: dict):
    from .common import figure

    fig, (ax, ax2) = figure(2)
    phases = ["quiet", "hostile"]
    for axis, key, title in ((ax, "delivery", "event delivery to 27 tablets"),
                             (ax2, "http", "GET /api/v1/meetings/{id}/ by 27 members")):
        xs = range(len(phases))
        axis.bar([x - 0.2 for x in xs], [payload[p][key]["p50"] or 0 for p in phases], 0.4, label="p50",
                 color="#9ecae1")
        axis.bar([x + 0.2 for x in xs], [payload[p][key]["p99"] or 0 for p in phases], 0.4, label="p99",
                 color="#3182bd")
        axis.set_xticks(list(xs), ["quiet", "under attack"])
        axis.set_ylabel("milliseconds")
        axis.set_title(title)
        axis.legend(fontsize=8)
    return fig
