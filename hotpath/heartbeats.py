"""The tablets' pings, taken to the database in batches.

Each tablet pings every 20 s (docs/protocol.md); the ping records its presence and answers the
session's head ``seq``. One trip to the database per ping would be 25 trips a second for 500
tablets, each a hop to the database thread behind the fan-out's work. Here the first ping waits
``GATHER_SECONDS`` for others, every ping that arrives meanwhile or while a batch is at the database
goes with the next batch, and each gets the answer it would get alone.

What a batch does at the database is the caller's (``record``: ``meetings.room.heartbeats`` for the
room socket): this package knows nothing of sessions.

``IdleClose`` (an ASGI middleware around the sockets) closes, server-side, a socket from which
nothing has arrived for ``IDLE_SECONDS`` after it was opened: a tablet that vanished without a
TCP goodbye (Wi-Fi gone, battery out) is dropped by the application's own heartbeat, so Daphne's
WebSocket pings (``--ping-interval``, ``deploy/daphne_process.py``) need not duplicate the tablets'
pings every 20 s. A tablet that pings as docs/protocol.md asks is never closed; one that is closed
(code ``CLOSE_IDLE``) reconnects and resumes like after any other drop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from channels.db import database_sync_to_async

from hotpath import wsframes

log = logging.getLogger(__name__)

__all__ = ["CLOSE_IDLE", "GATHER_SECONDS", "IDLE_SECONDS", "Heartbeats", "IdleClose", "Timing", "beat", "together"]

# How long the first ping of a batch waits for others before the batch goes to the database. 1,000
# tablets pinging every 20 s are 50 pings a second, arriving one by one: without a wait each went
# alone, a handful of queries each (``meetings.room.heartbeats``), 50 trips a second; with it, about
# five trips of ten pings. A pong a fifth of a second later changes nothing for a tablet that pings
# every 20 s.
GATHER_SECONDS = 0.2
# Under load — the last batch gathered at least ``BUSY_PINGS`` pings in ``GATHER_SECONDS``, i.e. 25 or
# more a second, some 500 tablets and up — the next batch waits ``BUSY_GATHER_SECONDS``: 1,000 tablets
# then cost one trip a second of about 50 pings instead of five of ten (each trip re-reads the
# accounts, the session and the grants, and updates the presence rows: its fixed cost dominated the
# heartbeats' share of the server's CPU between events). A pong at most a second later still changes
# nothing for a tablet that pings every 20 s; a quiet room keeps the short wait.
BUSY_PINGS = 5
BUSY_GATHER_SECONDS = 1.0


async def beat(record, user, meeting_id: int, channel_name: str) -> int | None:
    """Record the ping of ``user``'s socket ``channel_name`` in the session with ``record`` (a
    synchronous function of a list of pings, answering each one's head); returns the session's head."""
    return await _for_this_loop(record).beat(user, meeting_id, channel_name)


@dataclass(frozen=True)
class Timing:
    """A batch's waits, for work other than pings (``together``): ``gather`` seconds for a quiet
    process, ``busy_gather`` once the last wait gathered ``busy_items`` or more per ``gather``."""

    gather: float
    busy_gather: float
    busy_items: int


async def together(record, item: tuple, timing: Timing):
    """``item`` recorded with the others of this process in batches, as pings are (``Heartbeats``),
    with ``timing``'s waits: ``record`` (a synchronous function of a list of items, answering each
    one) runs through the database thread; returns this item's answer."""
    return await _for_this_loop(record, timing).beat(*item)


class Heartbeats:
    """The pings of a process's sockets, taken to the database in batches: every ping that arrives
    while a batch is at the database goes with the next one (``record``). A ping's answer
    is the same as alone; 500 tablets pinging every 20 s cost one trip per batch, not 25 a second."""

    def __init__(self, record, timing: Timing | None = None) -> None:
        self.record = record
        self.timing = timing  # None: the pings' (``GATHER_SECONDS``, ``BUSY_GATHER_SECONDS``, ``BUSY_PINGS``)
        self.waiting: list[tuple] = []  # each item's fields, then its future
        self.running = False
        self.task: asyncio.Task | None = None
        self.busy = False  # the last batch said the sockets ping at BUSY_PINGS per GATHER_SECONDS or more

    async def beat(self, *item):
        """``item``: a ping's ``(user, meeting_id, channel_name)``, or what ``record`` takes."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((*item, future))
        if not self.running:
            self.running = True
            self.task = asyncio.ensure_future(self._run())
        return await future

    async def _gather(self) -> None:
        """Wait for more pings; the rate seen meanwhile (pings per ``GATHER_SECONDS``) sets the next wait."""
        timing = self.timing or Timing(GATHER_SECONDS, BUSY_GATHER_SECONDS, BUSY_PINGS)
        wait = timing.busy_gather if self.busy else timing.gather
        await asyncio.sleep(wait)
        self.busy = wait > 0 and len(self.waiting) * timing.gather / wait >= timing.busy_items

    async def _run(self) -> None:
        try:
            await self._gather()
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    heads = await database_sync_to_async(self.record)([tuple(item[:-1]) for item in batch])
                except Exception as exc:  # the database is away: each ping fails as it would alone
                    for *_ping, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_ping, future), head in zip(batch, heads, strict=True):
                    if not future.done():
                        future.set_result(head)
                if self.busy and self.waiting:
                    await self._gather()  # busy: what came meanwhile waits for the rest of its second
        finally:
            self.running = False


_beats: dict[tuple[asyncio.AbstractEventLoop, object], Heartbeats] = {}


def _for_this_loop(record, timing: Timing | None = None) -> Heartbeats:
    loop = asyncio.get_running_loop()
    beats = _beats.get((loop, record))
    if beats is None:
        for old in [key for key in _beats if key[0].is_closed()]:
            del _beats[old]
        beats = _beats[loop, record] = Heartbeats(record, timing)
    return beats


# A socket from which nothing (a ping, a resume) has arrived for this long since it opened is closed
# with ``CLOSE_IDLE`` (docs/limits.md, docs/protocol.md). Tablets ping every 20 s; 90 s leaves room
# for four missed pings and for a browser that runs a background tab's timers once a minute.
IDLE_SECONDS = 90.0
CLOSE_IDLE = 4410
# How often each process looks for idle sockets: a dead one is closed within IDLE + SWEEP seconds.
SWEEP_SECONDS = 5.0


class _Socket:
    __slots__ = ("closing", "heard", "loop", "protocol", "send")

    def __init__(self, send, now: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.send = send
        self.protocol = wsframes.daphne_protocol(send)
        self.heard = now
        self.closing = False

    def opened(self) -> bool:
        """Past the handshake (Daphne's state; without Daphne — the test communicator — from the start):
        a socket waiting for its handshake is Daphne's handshake timeout's business."""
        protocol = self.protocol
        return protocol is None or protocol.state != protocol.STATE_CONNECTING


class IdleClose:
    """ASGI middleware for WebSocket scopes: what the client sends resets the socket's clock; a sweep
    per event loop closes (``websocket.close`` with ``CLOSE_IDLE``) the sockets whose clock passed
    ``IDLE_SECONDS``. The application then gets its ``websocket.disconnect`` as after any close.
    ``send`` is passed on untouched (``hotpath.wsframes`` finds Daphne's protocol under it)."""

    def __init__(self, app, *, idle: float | None = None, sweep: float | None = None, clock=time.monotonic) -> None:
        self.app = app
        self.idle = IDLE_SECONDS if idle is None else idle
        self.sweep = SWEEP_SECONDS if sweep is None else sweep
        self.clock = clock
        self.sockets: dict[int, _Socket] = {}
        self._sweepers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}
        self._closes: set[asyncio.Task] = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        socket = _Socket(send, self.clock())
        key = id(socket)
        self.sockets[key] = socket
        loop = asyncio.get_running_loop()
        sweeper = self._sweepers.get(loop)
        if sweeper is None or sweeper.done():
            for old in [other for other in self._sweepers if other.is_closed()]:
                del self._sweepers[old]
            self._sweepers[loop] = asyncio.ensure_future(self._sweep())

        async def heard(socket=socket):
            message = await receive()
            socket.heard = self.clock()
            return message

        try:
            return await self.app(scope, heard, send)
        finally:
            self.sockets.pop(key, None)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while any(socket.loop is loop for socket in self.sockets.values()):
            await asyncio.sleep(self.sweep)
            self.close_idle()

    def close_idle(self) -> int:
        """Close the sockets idle for longer than ``idle``; returns how many were told to close."""
        now = self.clock()
        closed = 0
        loop = asyncio.get_running_loop()
        for socket in list(self.sockets.values()):
            if socket.closing or socket.loop is not loop:
                continue
            if not socket.opened():
                socket.heard = now
            elif now - socket.heard > self.idle:
                socket.closing = True
                closed += 1
                task = asyncio.ensure_future(_close(socket))
                self._closes.add(task)
                task.add_done_callback(self._closes.discard)
        return closed


async def _close(socket: _Socket) -> None:
    try:
        await socket.send({"type": "websocket.close", "code": CLOSE_IDLE})
    except Exception:  # already gone: nothing to close
        log.info("idle socket: the close was not sent", exc_info=True)
