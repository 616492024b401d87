"""``limits.ahit``, the count of the room socket's messages and connections from the event loop
(``meetings.consumers``), with this process's memory as the cache (one process, no ``REDIS_URL``):
counted at once in the loop's thread — no thread hop for a lock and a dict — against the same
counters as ``hit``. With Redis: ``tests/test_rate_limits_redis.py``."""

from __future__ import annotations

import asyncio
import threading

from django.core.cache import caches

from ecabinet import clock as server_clock
from ecabinet import limits

T0 = 1_800_000_000 + 10


def test_the_loop_counts_in_memory_at_once_on_the_same_counter(settings, monkeypatch):
    settings.RATE_WS_MESSAGES_PER_MINUTE = 3
    monkeypatch.setattr(server_clock, "now", lambda: T0)
    caches["default"].clear()
    where = []
    real = limits.hit_many
    monkeypatch.setattr(limits, "hit_many", lambda *a: (where.append(threading.current_thread().name), real(*a))[1])
    assert limits.hit("ws_messages", 77) is None

    async def pings() -> tuple[list, str]:
        answers = [await limits.ahit("ws_messages", 77) for _ in range(3)]
        return answers, threading.current_thread().name

    answers, loop_thread = asyncio.run(pings())
    assert answers == [None, None, limits.Refusal("ws_messages", 50)]
    assert set(where[1:]) == {loop_thread}
    assert asyncio.run(limits.ahit("ws_messages", 78)) is None  # another account
    assert asyncio.run(limits.ahit("ws_messages", None)) is None  # nobody signed in: not counted here
