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

import contextlib
import io
import json
import multiprocessing
import select
import socket
import threading
import time
import uuid
import zlib

from .client import client_bound
from .common import fmt, ratio, summary_ms, table
from .fanout import _round
from .httpclient import Http
from .scenario import connect, memory_bytes, merge_stats, prepare_room

NAME = "hostile"
TABLETS = 27
ATTACKER = "bench0001"
BOMB_DECODED = 100 * 1024 * 1024
BOMB_PAGES = 50
HUGE_BODY = 200 * 1024 * 1024
DEEP_JSON = 5000
ATTACK_TIMEOUT = 30  # seconds an attack may wait for an answer before it counts as "no answer"


# --- the attacker (its own process: it must not slow the measuring side) ----------------------------

def bomb_pdf(pages: int = BOMB_PAGES, decoded: int = BOMB_DECODED) -> bytes:
    """``pages`` pages sharing one content stream that inflates to ``decoded`` bytes of spaces."""
    import pikepdf

    compressor = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(decoded // len(chunk))]
    parts.append(compressor.flush())
    pdf = pikepdf.new()
    stream = pikepdf.Stream(pdf, b"")
    stream.write(b"".join(parts), filter=pikepdf.Name.FlateDecode)
    content = pdf.make_indirect(stream)
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
        pdf.pages[-1].obj.Contents = content
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def _multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _raw_request(host: str, port: int, head: str, body_size: int, chunk: int = 256 * 1024) -> dict:
    """Send ``head`` and then up to ``body_size`` bytes of zeros, stopping as soon as the server
    answers or hangs up. Returns the status (None: no answer), the bytes sent and the seconds."""
    started = time.monotonic()
    sent = 0
    status = None
    block = b"\0" * chunk
    with socket.create_connection((host, port), timeout=ATTACK_TIMEOUT) as sock:
        sock.sendall(head.encode("latin1"))
        try:
            while sent < body_size:
                readable, _w, _x = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(block[:min(chunk, body_size - sent)])
                sent += min(chunk, body_size - sent)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sock.settimeout(ATTACK_TIMEOUT)
            first = sock.recv(64)
            if first.startswith(b"HTTP/1.1 "):
                status = int(first[9:12])
    return {"status": status, "sent": sent, "seconds": time.monotonic() - started}


class Attacker:
    """Every attack in turn until told to stop; what each got back is counted."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.host, self.port = cfg["http"]
        self.results: dict[str, dict] = {}
        self.bomb = bomb_pdf()

    def note(self, name: str, outcome, seconds: float) -> None:
        entry = self.results.setdefault(name, {"count": 0, "outcomes": {}, "seconds": []})
        entry["count"] += 1
        key = str(outcome)
        entry["outcomes"][key] = entry["outcomes"].get(key, 0) + 1
        entry["seconds"].append(seconds)

    def bomb_upload(self) -> None:
        body, content_type = _multipart({"title": "Tài liệu bom giải nén", "classification": "internal"},
                                        "bom.pdf", self.bomb)
        http = Http(self.host, self.port, self.cfg["upload_token"])
        http.conn.timeout = ATTACK_TIMEOUT
        started = time.monotonic()
        try:
            http.conn.request("POST", f"/api/v1/agenda-items/{self.cfg['item']}/documents/", body=body,
                              headers={"Authorization": f"Token {self.cfg['upload_token']}",
                                       "Content-Type": content_type, "Accept-Language": "en"})
            response = http.conn.getresponse()
            data = response.read()
            code = (json.loads(data).get("code") if data[:1] == b"{" else None) or ""
            outcome = f"{response.status} {code}".strip()
        except OSError as exc:
            outcome = f"error {type(exc).__name__}"
        finally:
            http.close()
        self.note("bomb upload", outcome, time.monotonic() - started)

    def comment_flood(self, count: int = 50) -> None:
        http = Http(self.host, self.port, self.cfg["token"])
        text = ("Ý kiến phá rối phiên họp " * 100)[:2000]
        try:
            for _ in range(count):
                started = time.monotonic()
                try:
                    status, body = http.call("POST", f"/api/v1/agenda-items/{self.cfg['item']}/comments/",
                                             {"text": text, "visibility": "shared"})
                except OSError as exc:
                    status, body = f"error {type(exc).__name__}", None
                code = body.get("code", "") if isinstance(body, dict) else ""
                self.note("comment flood", f"{status} {code}".strip(), time.monotonic() - started)
                if self.stopping():
                    return
        finally:
            http.close()

    def huge_body(self) -> None:
        head = (f"POST /api/v1/auth/token HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {HUGE_BODY}\r\n\r\n")
        try:
            result = _raw_request(self.host, self.port, head, HUGE_BODY)
            outcome = f"{result['status']} after {result['sent'] // (1024 * 1024)} MB"
            seconds = result["seconds"]
        except OSError as exc:
            outcome, seconds = f"error {type(exc).__name__}", 0.0
        self.note("huge body", outcome, seconds)

    def deep_json(self) -> None:
        body = b"[" * DEEP_JSON + b"]" * DEEP_JSON
        head = (f"POST /api/v1/motions/{self.cfg['motion']}/votes/ HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        started = time.monotonic()
        try:
            with socket.create_connection((self.host, self.port), timeout=ATTACK_TIMEOUT) as sock:
                sock.sendall(head.encode("latin1") + body)
                first = sock.recv(64)
                outcome = int(first[9:12]) if first.startswith(b"HTTP/1.1 ") else "no answer"
        except TimeoutError:
            outcome = "no answer"
        except OSError as exc:
            outcome = f"error {type(exc).__name__}"
        self.note("deep JSON", outcome, time.monotonic() - started)

    def _ws(self):
        from websockets.sync.client import connect as ws_connect

        return ws_connect(f"{self.cfg['ws_url']}/ws/meetings/{self.cfg['meeting']}/", origin=self.cfg["origin"],
                          additional_headers={"Authorization": f"Token {self.cfg['token']}"}, compression=None,
                          proxy=None, open_timeout=ATTACK_TIMEOUT, max_size=None)

    def ws_oversize(self) -> None:
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        started = time.monotonic()
        code = None
        try:
            with self._ws() as ws:
                ws.recv(timeout=ATTACK_TIMEOUT)
                ws.send("x" * 100_000)
                try:
                    while True:
                        ws.recv(timeout=ATTACK_TIMEOUT)
                except ConnectionClosed as exc:
                    code = exc.rcvd.code if exc.rcvd else "no close frame"
                except TimeoutError:
                    code = "still open"
        except (InvalidStatus, OSError) as exc:
            code = f"refused {type(exc).__name__}"
        self.note("ws oversize", f"close {code}", time.monotonic() - started)

    def ws_flood(self, count: int = 1000) -> None:
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        started = time.monotonic()
        outcome = None
        try:
            with self._ws() as ws:
                ws.recv(timeout=ATTACK_TIMEOUT)
                try:
                    for _ in range(count):
                        ws.send('{"type":"ping"}')
                    deadline = time.monotonic() + 5
                    pongs = 0
                    while time.monotonic() < deadline and pongs < count:
                        if json.loads(ws.recv(timeout=5)).get("type") == "pong":
                            pongs += 1
                    outcome = f"{pongs} pongs, still open"
                except ConnectionClosed as exc:
                    outcome = f"close {exc.rcvd.code if exc.rcvd else 'no close frame'}"
                except TimeoutError:
                    outcome = "pongs stopped, still open"
        except (InvalidStatus, OSError) as exc:
            outcome = f"refused {type(exc).__name__}"
        self.note("ws flood", outcome, time.monotonic() - started)

    def stopping(self) -> bool:
        return self.cfg["stop"].is_set()

    def run(self) -> dict:
        attacks = [self.bomb_upload, self.comment_flood, self.huge_body, self.deep_json, self.ws_oversize,
                   self.ws_flood]
        self.cfg["ready"].set()
        turn = 0
        while not self.stopping():
            attacks[turn % len(attacks)]()
            turn += 1
        return {name: {"count": r["count"], "outcomes": r["outcomes"], **summary_ms(r["seconds"])}
                for name, r in self.results.items()}


def attacker_main(cfg: dict, out) -> None:
    try:
        out.send(Attacker(cfg).run())
    except Exception as exc:  # reported, never hidden
        out.send({"error": f"{type(exc).__name__}: {exc}"})


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
