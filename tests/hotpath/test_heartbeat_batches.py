"""``hotpath.heartbeats.Heartbeats`` under load: while the sockets ping at ``BUSY_PINGS`` per
``GATHER_SECONDS`` or more, a batch waits ``BUSY_GATHER_SECONDS`` (fewer, larger trips to the
database); a quiet room keeps the short wait. Every ping still gets its own answer."""

from __future__ import annotations

import asyncio
import time

from hotpath import heartbeats


def run(monkeypatch, *, pings: int, every: float) -> tuple[list[int], list[float], list]:
    monkeypatch.setattr(heartbeats, "GATHER_SECONDS", 0.05)
    monkeypatch.setattr(heartbeats, "BUSY_GATHER_SECONDS", 0.4)
    sizes: list[int] = []

    def record(batch):
        sizes.append(len(batch))
        return [f"head of {channel}" for _user, _meeting, channel in batch]

    async def scenario():
        beats = heartbeats.Heartbeats(record)
        waits: list[float] = []

        async def one(n):
            started = time.monotonic()
            answer = await beats.beat(None, 1, f"room.{n}")
            waits.append(time.monotonic() - started)
            return answer

        pending = []
        for n in range(pings):
            pending.append(asyncio.ensure_future(one(n)))
            await asyncio.sleep(every)
        return waits, await asyncio.gather(*pending)

    waits, answers = asyncio.run(scenario())
    return sizes, waits, answers


def test_a_busy_room_goes_to_the_database_in_fewer_larger_batches(monkeypatch):
    sizes, _waits, answers = run(monkeypatch, pings=300, every=0.004)  # ~250 a second for 1.2 s
    assert answers == [f"head of room.{n}" for n in range(300)]  # each its own answer, in order
    assert sum(sizes) == 300
    # At the short wait alone, 1.2 s of pings would be some 24 batches; after the first, each waits 0.4 s.
    assert len(sizes) <= 8, sizes
    assert max(sizes) >= 50, sizes


def test_a_quiet_room_keeps_the_short_wait(monkeypatch):
    sizes, waits, answers = run(monkeypatch, pings=6, every=0.1)
    assert answers == [f"head of room.{n}" for n in range(6)]
    assert sizes == [1] * 6
    assert max(waits) < 0.3, waits  # never the busy wait (0.4 s)
