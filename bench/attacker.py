"""The hostile client of the ``hostile`` suite (bench/hostile.py), run in a process of its own so
that it never slows the measuring side: every attack in turn, without pause, until told to stop;
what each got back is counted. No Django here (bench/common.py): plain sockets, ``http.client``,
``websockets`` and pikepdf to build the bomb."""

from __future__ import annotations

import contextlib
import io
import json
import select
import socket
import time
import uuid
import zlib

from .common import summary_ms
from .httpclient import Http

BOMB_DECODED = 100 * 1024 * 1024
BOMB_PAGES = 50
HUGE_BODY = 200 * 1024 * 1024
DEEP_JSON = 5000
ATTACK_TIMEOUT = 30  # seconds an attack may wait for an answer before it counts as "no answer"


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
