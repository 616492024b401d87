"""The tablets' pings, taken to the database in batches.

Each tablet pings every 20 s (docs/protocol.md); the ping records its presence and answers the
session's head ``seq``. One trip to the database per ping would be 25 trips a second for 500
tablets, each a hop to the database thread behind the fan-out's work. Here the first ping waits
``GATHER_SECONDS`` for others, every ping that arrives meanwhile or while a batch is at the database
goes with the next batch, and each gets the answer it would get alone.

What a batch does at the database is the caller's (``record``: ``meetings.room.heartbeats`` for the
room socket): this package knows nothing of sessions.
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async

__all__ = ["GATHER_SECONDS", "Heartbeats", "beat"]

# How long the first ping of a batch waits for others before the batch goes to the database. 1,000
# tablets pinging every 20 s are 50 pings a second, arriving one by one: without a wait each went
# alone, a handful of queries each (``meetings.room.heartbeats``), 50 trips a second; with it, about
# five trips of ten pings. A pong a fifth of a second later changes nothing for a tablet that pings
# every 20 s.
GATHER_SECONDS = 0.2


async def beat(record, user, meeting_id: int, channel_name: str) -> int | None:
    """Record the ping of ``user``'s socket ``channel_name`` in the session with ``record`` (a
    synchronous function of a list of pings, answering each one's head); returns the session's head."""
    return await _for_this_loop(record).beat(user, meeting_id, channel_name)


class Heartbeats:
    """The pings of a process's sockets, taken to the database in batches: every ping that arrives
    while a batch is at the database goes with the next one (``record``). A ping's answer
    is the same as alone; 500 tablets pinging every 20 s cost one trip per batch, not 25 a second."""

    def __init__(self, record) -> None:
        self.record = record
        self.waiting: list[tuple[object, int, str, asyncio.Future]] = []
        self.running = False
        self.task: asyncio.Task | None = None

    async def beat(self, user, meeting_id: int, channel_name: str) -> int | None:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((user, meeting_id, channel_name, future))
        if not self.running:
            self.running = True
            self.task = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        try:
            await asyncio.sleep(GATHER_SECONDS)
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    heads = await database_sync_to_async(self.record)([(u, m, c) for u, m, c, _f in batch])
                except Exception as exc:  # the database is away: each ping fails as it would alone
                    for *_ping, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_ping, future), head in zip(batch, heads, strict=True):
                    if not future.done():
                        future.set_result(head)
        finally:
            self.running = False


_beats: dict[tuple[asyncio.AbstractEventLoop, object], Heartbeats] = {}


def _for_this_loop(record) -> Heartbeats:
    loop = asyncio.get_running_loop()
    beats = _beats.get((loop, record))
    if beats is None:
        for old in [key for key in _beats if key[0].is_closed()]:
            del _beats[old]
        beats = _beats[loop, record] = Heartbeats(record)
    return beats
