"""Issue 19d attack on ``hotpath.fairness``'s first-read budget: an attacker keeps a flood of new
connections coming, each with its first bytes ready (at the accept pace: ``ACCEPTS_PER_TURN`` a turn),
while an honest client's request waits over budget. On a real selector (the loop's epoll), the honest
request must still be read within a few turns — the waiting connections are watched again in the order
they waited — every connection's first bytes read exactly once, and idle (slowloris) connections must not
spend the budget at all.

This holds because a waiting connection is watched again by a ``call_soon`` (run at the start of the
next turn, before that turn's selector events, the accepts among them), so it is in the selector's ready
list ahead of the connections accepted after it. Measured here: read at turn 7 with 24 connections
waiting ahead of it and 8 new ones every turn. A variant in which the flood's connections are registered
from a ``call_soon`` before the re-arm (not how Twisted accepts) starved it until the flood ended.
"""

from __future__ import annotations

import asyncio
import socket

from hotpath import fairness


class Conn:
    """A new connection as ``fairness`` sees it, its reading switched on a real selector."""

    def __init__(self, loop, name: str, log: list, data: bytes | None = b"GET / HTTP/1.1\r\n\r\n") -> None:
        self.loop, self.name, self.log = loop, name, log
        self.ours, self.theirs = socket.socketpair()
        self.ours.setblocking(False)
        if data:
            self.theirs.sendall(data)
        self._first_read_done = False
        self.connected, self.disconnecting, self.reading = True, False, False

    def startReading(self) -> None:
        if not self.reading:
            self.reading = True
            self.loop.add_reader(self.ours.fileno(), self.doRead)

    def stopReading(self) -> None:
        if self.reading:
            self.reading = False
            self.loop.remove_reader(self.ours.fileno())

    def doRead(self) -> None:
        _budgeted(self)

    def close(self) -> None:
        self.stopReading()
        self.ours.close()
        self.theirs.close()


def _read(conn: Conn) -> None:
    conn.log.append((conn.name, conn.loop.turn))
    conn.ours.recv(65536)
    conn.stopReading()  # served: the test's server reads nothing more


_budgeted = fairness._budgeted(_read)


def test_an_honest_request_is_read_within_a_few_turns_of_a_flood_and_none_twice():
    asyncio.run(_flood())


async def _flood():
    loop = asyncio.get_running_loop()
    loop.turn = 0
    log: list = []
    conns: list[Conn] = []

    def tick() -> None:  # counts the loop's turns
        loop.turn += 1
        loop.call_soon(tick)

    def accept() -> None:
        """The listening port's accept (an event of the selector, as Twisted's ``Port.doRead``): a flood
        of new connections, their requests already sent, at the paced ``ACCEPTS_PER_TURN`` a turn."""
        if loop.turn <= 40:
            for n in range(fairness.ACCEPTS_PER_TURN):
                conn = Conn(loop, f"flood-{loop.turn}-{n}", log)
                conns.append(conn)
                conn.startReading()

    listening, connecting = socket.socketpair()
    connecting.sendall(b"x")  # always readable: the backlog never empties
    loop.add_reader(listening.fileno(), accept)

    # A burst already waiting, then the honest client, then idle slowloris connections (nothing sent).
    for n in range(3 * fairness.FIRST_READS_PER_TURN):
        conn = Conn(loop, f"burst-{n}", log)
        conns.append(conn)
        conn.startReading()
    honest = Conn(loop, "honest", log)
    conns.append(honest)
    honest.startReading()
    idle = [Conn(loop, f"idle-{n}", log, data=None) for n in range(200)]
    for conn in idle:
        conn.startReading()
    loop.call_soon(tick)
    try:
        for _ in range(400):
            await asyncio.sleep(0)
            if loop.turn > 60:
                break
        names = [name for name, _turn in log]
        turn_of = dict(log)
        assert "honest" in turn_of, "the honest request was never read"
        # Behind the burst of 24 that waited before it: read within a few turns, not after the flood.
        assert turn_of["honest"] <= 3 * 2 + 4, turn_of["honest"]
        assert len(names) == len(set(names)), "a connection's first bytes read twice"
        assert not any(name.startswith("idle") for name in names)
        assert set(names) == {c.name for c in conns}, "a connection's request was lost"
        per_turn: dict[int, int] = {}
        for _name, turn in log:
            per_turn[turn] = per_turn.get(turn, 0) + 1
        assert max(per_turn.values()) <= fairness.FIRST_READS_PER_TURN
    finally:
        loop.remove_reader(listening.fileno())
        listening.close()
        connecting.close()
        for conn in conns + idle:
            conn.close()
