"""Driving the room socket (``/ws/meetings/<id>/``) from sync tests.

A test builds its cast and headers synchronously, then runs one ``async`` scenario with ``run``.
Inside the scenario, services are called with ``call`` (``database_sync_to_async``): the service
runs on the test's thread and database connection, its ``on_commit`` broadcast rings the doorbell
in the scenario's event loop, and the consumers pick it up there.

Never let ``WebsocketCommunicator.receive_output`` time out in the middle of a scenario: a timeout
cancels the application. ``Tablet.poll`` and ``Tablet.quiet`` wait without that side effect.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from bench.tablet import Follower, SeqTracker
from ecabinet.asgi import application
from meetings.models import Event, Presence
from tests.factories import api_token

ORIGIN = "http://127.0.0.1:8000"
HOST = b"127.0.0.1:8000"  # what a browser sends as Host to the site of ORIGIN (ecabinet.ws_origin)
PASSWORD = "pw-for-tests"  # tests/factories.py

call = database_sync_to_async


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


async def present(user, timeout: float = 3) -> None:
    """Wait until ``user`` has a presence row: a socket's is written after its snapshot, in a batch
    (``meetings.consumers._presence``), so its ``presence.changed`` may come after a write the test
    makes right after the snapshot."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not await call(Presence.objects.filter(user=user).exists)():
        assert time.monotonic() < deadline, f"no presence row for {user}"
        await asyncio.sleep(0.01)


def token_headers(user, origin: str | None = ORIGIN) -> list[tuple[bytes, bytes]]:
    headers = [(b"authorization", f"Token {api_token(user)}".encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return headers


def cookie_headers(user, origin: str | None = ORIGIN) -> list[tuple[bytes, bytes]]:
    """Log in through the login machinery (as a browser does) and send the session cookie."""
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    cookies = SimpleCookie()
    for name, morsel in client.cookies.items():
        cookies[name] = morsel.value
    headers = [(b"cookie", cookies.output(header="", sep=";").strip().encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return headers


def ws_path(meeting_id: int, after_seq: int | str | None = None) -> str:
    query = "" if after_seq is None else f"?after_seq={after_seq}"
    return f"/ws/meetings/{meeting_id}/{query}"


class Tablet:
    """One socket to the room, with JSON helpers."""

    def __init__(self, headers, meeting_id: int, after_seq: int | str | None = None) -> None:
        if not any(name == b"host" for name, _value in headers):
            headers = [(b"host", HOST), *headers]
        self.comm = WebsocketCommunicator(application, ws_path(meeting_id, after_seq), headers=headers)
        self.received: list[dict] = []

    async def connect(self) -> tuple[bool, object]:
        return await self.comm.connect(timeout=3)

    async def open(self) -> Tablet:
        connected, detail = await self.connect()
        assert connected, f"refused with {detail}"
        return self

    async def recv(self, timeout: float = 3) -> dict:
        message = json.loads(await self.comm.receive_from(timeout))
        self.received.append(message)
        return message

    async def send(self, message: dict | str) -> None:
        await self.comm.send_to(text_data=message if isinstance(message, str) else json.dumps(message))

    async def quiet(self, timeout: float = 0.2) -> bool:
        """True if nothing arrives within ``timeout`` seconds (the socket keeps running)."""
        return await self.comm.receive_nothing(timeout=timeout, interval=0.005)

    async def poll(self, timeout: float = 0.3) -> dict | None:
        """The next message, or None if nothing arrives within ``timeout`` seconds."""
        if await self.quiet(timeout):
            return None
        return await self.recv()

    async def drain(self, timeout: float = 0.3) -> list[dict]:
        """Every message until the socket has been quiet for ``timeout`` seconds."""
        messages = []
        while (message := await self.poll(timeout)) is not None:
            messages.append(message)
        return messages

    async def until(self, done: Callable[[dict], bool], timeout: float = 3) -> list[dict]:
        """Every message up to and including the first for which ``done`` is true."""
        messages = []
        while True:
            messages.append(await self.recv(timeout))
            if done(messages[-1]):
                return messages

    async def until_resumed(self, timeout: float = 3) -> list[dict]:
        return await self.until(lambda m: m["type"] == "resumed", timeout)

    async def join(self) -> Tablet:
        """Open, and take the snapshot the server sends first."""
        await self.open()
        snapshot = await self.recv()
        assert snapshot["type"] == "snapshot", snapshot
        return self

    async def pong(self) -> bool:
        """Ping; true when the server answers (what arrives before the pong is kept in ``received``)."""
        await self.send({"type": "ping"})
        messages = await self.until(lambda m: m["type"] == "pong")
        return messages[-1]["type"] == "pong"

    async def closed_with(self, timeout: float = 1) -> int | None:
        """Wait for the server to close the socket; the close code."""
        output = await self.comm.receive_output(timeout)
        assert output["type"] == "websocket.close", output
        return output.get("code")

    async def close_message(self, timeout: float = 2) -> dict:
        """The server's close message (code and reason), after whatever arrives before it."""
        while True:
            output = await self.comm.receive_output(timeout)
            if output["type"] == "websocket.close":
                return output

    async def close(self) -> None:
        await self.comm.disconnect()


async def close_all(*tablets: Tablet) -> None:
    for tablet in tablets:
        await tablet.close()


def visible_seqs(meeting_id: int, tokens, after: int = 0) -> list[int]:
    """What the database says a holder of ``tokens`` may see after ``after``, in order."""
    rows = Event.objects.filter(meeting_id=meeting_id, seq__gt=after).order_by("seq")
    return [e.seq for e in rows if set(e.audience) & set(tokens)]


def events_of(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["type"] == "event"]


class ProtocolClient:
    """A tablet that follows §5.3 exactly as ``static/room/live.js`` does: start from the snapshot,
    apply events through the ``SeqTracker`` (``bench.tablet.Follower``, shared with the benchmark's
    and the cluster tests' tablets), send ``resume`` on a jump."""

    def __init__(self, tablet: Tablet) -> None:
        self.tablet = tablet
        self.follower = Follower()
        self.snapshot_seq: int | None = None
        self.applied: list[int] = []
        self.resumes_sent = 0

    @property
    def tracker(self) -> SeqTracker | None:
        return self.follower.tracker

    async def handle(self, message: dict) -> None:
        kind = message["type"]
        if kind not in ("snapshot", "event", "resumed"):
            raise AssertionError(f"unexpected message {message}")
        apply, resume = self.follower.take(message)
        if kind == "snapshot":
            self.snapshot_seq = message["seq"]
            self.applied = []
        await self._apply(apply, resume)

    async def _apply(self, events: list[dict], resume: bool) -> None:
        self.applied.extend(e["seq"] for e in events)
        if resume:
            self.resumes_sent += 1
            await self.tablet.send(self.follower.resume_message())

    async def pump(self, timeout: float = 0.3) -> None:
        """Handle messages until the socket has been quiet for ``timeout`` seconds."""
        while (message := await self.tablet.poll(timeout)) is not None:
            await self.handle(message)
