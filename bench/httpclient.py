"""A small asyncio HTTP/1.1 client with one keep-alive connection per tablet (as a tablet keeps one),
and a blocking one for the runner (the chair's and the secretary's calls).

Only what the benchmarks need: GET and POST with a JSON body, Content-Length or chunked responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json


class HttpError(Exception):
    pass


class AsyncHttp:
    """One keep-alive connection to ``host:port``; reopened when the server closed it while idle."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reopened = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
            self.writer = self.reader = None

    async def request(self, method: str, path: str, headers: dict | None = None,
                      body: bytes = b"") -> tuple[int, dict, bytes]:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin1") + body
        for attempt in (0, 1):
            if self.writer is None or self.writer.is_closing():
                await self.open()
            self.writer.write(data)
            try:
                await self.writer.drain()
                return await self._response()
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                # A keep-alive connection the server closed while idle fails before any byte of
                # the answer: send again once on a new connection (requests carry an
                # Idempotency-Key, so this is safe even for a POST).
                await self.close()
                if attempt or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    raise
                self.reopened += 1
        raise HttpError("unreachable")

    async def _response(self) -> tuple[int, dict, bytes]:
        line = await self.reader.readuntil(b"\r\n")
        parts = line.decode("latin1").split(" ", 2)
        status = int(parts[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await self.reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body


class Http:
    """Blocking JSON calls for the runner, one keep-alive connection, ``Authorization: Token``."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.conn = http.client.HTTPConnection(host, port, timeout=120)

    def call(self, method: str, path: str, payload: dict | None = None, headers: dict | None = None):
        body = json.dumps(payload).encode() if payload is not None else None
        all_headers = {"Authorization": f"Token {self.token}", "Accept-Language": "en", **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt:
                    raise
        try:
            decoded = json.loads(data) if data else None
        except ValueError:
            decoded = data.decode(errors="replace")
        return response.status, decoded

    def must(self, method: str, path: str, payload: dict | None = None, expect: tuple[int, ...] = (200, 201)):
        status, decoded = self.call(method, path, payload)
        if status not in expect:
            raise HttpError(f"{method} {path} answered {status}: {decoded}")
        return decoded

    def close(self) -> None:
        self.conn.close()
