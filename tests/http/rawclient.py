"""A plain-socket HTTP/1.1 client for bodies too large to hold: the body is made as it is sent
(with a Content-Length, or chunked), and the answer is read while it is being sent, as a browser or
``curl`` does, so a server that answers early is seen answering early."""

from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass

CHUNK = b"x" * 65536


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client had sent when the answer was complete
    seconds: float

    @property
    def json(self):
        return json.loads(self.body)


def post(port: int, path: str, size: int, *, chunked: bool = False, content_type: str = "application/json",
         first: bytes = b"", timeout: float = 60, headers: dict[str, str] | None = None) -> Answer:
    """POST ``size`` bytes (``first``, then ``x``s) to ``path``, reading the answer while sending."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{extra}{framing}"
            "\r\n\r\n").encode()
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(head)
        sock.setblocking(False)
        received, sent, pending = b"", 0, b""
        writing = True
        while time.monotonic() - started < timeout:
            answer = _complete(received)
            if answer is not None:
                return Answer(*answer, sent=sent, seconds=time.monotonic() - started)
            if writing and not pending:
                if sent < size:
                    piece = (first + CHUNK)[: size - sent] if sent == 0 and first else CHUNK[: size - sent]
                    sent += len(piece)
                    pending = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                elif chunked:
                    pending, writing = b"0\r\n\r\n", False
                else:
                    writing = False
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 1)
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
            if writable and pending:
                try:
                    pending = pending[sock.send(pending):]
                except (BrokenPipeError, ConnectionResetError):
                    pending, writing = b"", False
        answer = _complete(received, final=True)
        if answer is None:
            raise AssertionError(f"no complete answer after {time.monotonic() - started:.1f} s: {received[:300]!r}")
        return Answer(*answer, sent=sent, seconds=time.monotonic() - started)
    finally:
        sock.close()


def _complete(data: bytes, final: bool = False):
    """(status, headers, body) once ``data`` holds a whole answer with a Content-Length."""
    if b"\r\n\r\n" not in data:
        return None
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", -1))
    if (length < 0 and not final) or len(body) < length:
        return None
    return int(lines[0].split()[1]), headers, body[:length] if length >= 0 else body
