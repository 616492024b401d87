"""The event loop's turns for the sockets already open while a reconnect storm arrives
(issue 19; docs/limits.md, "Room sockets: connecting at once").

A Daphne process is one event loop: the doorbell of an event (``hotpath.hub``), handed over by the
HTTP thread that committed it (``call_soon_threadsafe``), and its writes to every tablet of the
room wait for the turn of the loop in progress to end. A reconnect storm must not make those turns
long; ``install()``, called by ``ecabinet.asgi`` before Daphne serves, bounds the storm's share of
each.

Accepting at a pace. Twisted's listening port accepts, per turn of the loop, as many connections as
the kernel holds (up to ``tcp.Port.numberAccepts``: 100, plus 20 after each full turn). A storm's
connections were all taken within a few milliseconds; their upgrade requests then arrived
together, and one turn of the loop read, parsed and started all of them: 200 tablets, one turn of
75-100 ms of CPU (0.4 ms each: Twisted's HTTP parser, Daphne, autobahn's handshake, the application
started), 1,000 tablets several times that. A doorbell that came meanwhile waited the whole turn:
the tablets already connected saw their events 5 to 20 times later than when quiet. Now a turn
accepts at most ``ACCEPTS_PER_TURN`` connections, and after a full batch the port stops reading for
``ACCEPT_PAUSE_SECONDS``; the rest wait in the kernel's listen backlog (``LISTEN_BACKLOG``,
``deploy/daphne_process.py``). And since busy clients send their requests in bursts whatever the
pace, a turn reads the first bytes (the request) of at most ``FIRST_READS_PER_TURN`` new
connections: a connection over the budget stops reading and waits in line (``_Budget``), its
request waiting in the kernel meanwhile (in order: nothing of it has been read); each turn watches
the next few of the line again. So the loop parses
a few upgrade requests per turn, and the doorbells get their turn in between (measured: the longest
turn of a storm of 200 went from 103 ms to 15 ms).

The pace (1,600 connections a second) is far above what the admission queue (``hotpath.admission``)
works through, so a storm's tablets do not wait longer for their snapshot. A connection alone is
accepted and read at once, as before; a turn that has read its budget's worth of requests leaves
the others in line, read a budget's worth per turn in the order they came.
"""

from __future__ import annotations

import asyncio
import collections
import sys

from twisted.internet import tcp

__all__ = ["ACCEPTS_PER_TURN", "ACCEPT_PAUSE_SECONDS", "FIRST_READS_PER_TURN", "SWITCH_INTERVAL_SECONDS", "install"]

# Connections one turn of the event loop accepts at most; after that many, the listening port rests
# for ACCEPT_PAUSE_SECONDS (1,600 a second; Twisted's own: 100 and more per turn, without a pause).
ACCEPTS_PER_TURN = 8
ACCEPT_PAUSE_SECONDS = 0.005
# New connections whose first bytes (their HTTP or upgrade request) one turn of the loop reads at
# most; the others wait in line, a budget's worth watched again per turn.
FIRST_READS_PER_TURN = 8
# The GIL's switch interval in the server process (CPython's default: 0.005).
SWITCH_INTERVAL_SECONDS = 0.001


def _paced(do_read):
    def doRead(self):
        if self.numberAccepts > ACCEPTS_PER_TURN:
            self.numberAccepts = ACCEPTS_PER_TURN
        asked = self.numberAccepts
        result = do_read(self)
        # Twisted raises ``numberAccepts`` by 20 after a full batch, sets it to the number accepted
        # otherwise. A full batch of ACCEPTS_PER_TURN: more are probably waiting; read again after
        # the pause.
        if (asked == ACCEPTS_PER_TURN and self.numberAccepts == asked + 20 and self.connected
                and not self.disconnecting):
            self.stopReading()
            self.reactor.callLater(ACCEPT_PAUSE_SECONDS, _resume, self)
        return result

    doRead.__wrapped__ = do_read
    return doRead


def _resume(port) -> None:
    if port.connected and not port.disconnecting:
        port.startReading()


class _Budget:
    """First reads of new connections per turn of the loop, in arrival order.

    A new connection whose first bytes arrive when this turn's budget is spent, or while others wait
    already, stops reading and joins ``waiting`` (first in, first out). At the start of each turn
    (``refill``, a callback of the loop, queued before that turn's selector events), up to a turn's
    budget of the waiting connections are watched again (``coming``): read at the next turn, where
    they are ``due`` and have their place whoever else arrives. A waiting connection is thus touched
    twice in all (stopped once, watched again once), however long the line: watching every waiting
    connection again at every turn, as a first version did, cost O(N²/budget) wake-ups when N
    pre-opened keep-alive connections sent their requests at once (the vote storm of 500: 1.05 →
    1.61 ms of server CPU per vote).

    At most ``FIRST_READS_PER_TURN`` first reads in a turn: the due connections and the newcomers let
    through share it (``left`` = the budget less the due ones)."""

    left = FIRST_READS_PER_TURN
    turn_of: asyncio.AbstractEventLoop | None = None  # the loop whose refill is due, if any
    waiting: collections.deque = collections.deque()
    coming: set = set()  # watched again by this turn's refill: read at the next turn
    due: set = set()  # watched again by the last turn's refill: read in this one

    @classmethod
    def _due(cls, loop: asyncio.AbstractEventLoop) -> None:
        if cls.turn_of is not loop:
            cls.turn_of = loop
            loop.call_soon(cls.refill, loop)

    @classmethod
    def take(cls, connection) -> bool:
        """True: read ``connection``'s first bytes now. False: it joined the line."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no asyncio loop (a plain Twisted reactor): no budget
            return True
        if connection in cls.due or connection in cls.coming:
            cls.due.discard(connection)
            cls.coming.discard(connection)
            return True
        if cls.turn_of is not loop and (cls.turn_of is not None or cls.waiting):
            cls._reset()  # a loop that ended with connections in line (tests run one loop after another)
        if cls.turn_of is None:  # the first first-read since the loop was quiet: a whole budget
            cls.left = FIRST_READS_PER_TURN
        cls._due(loop)
        if cls.waiting or cls.left <= 0:
            cls.waiting.append(connection)
            return False
        cls.left -= 1
        return True

    @classmethod
    def refill(cls, loop: asyncio.AbstractEventLoop | None = None) -> None:
        cls.turn_of = None
        alive = cls._alive
        # Only last turn's: a due connection not read in its turn (none should be: its bytes were
        # there) loses its place and queues again when it reads, so the refills stop when the line
        # is empty and the loop goes back to sleep.
        cls.due = {c for c in cls.coming if alive(c)}
        cls.coming = set()
        while cls.waiting and len(cls.coming) < FIRST_READS_PER_TURN:
            connection = cls.waiting.popleft()
            if alive(connection):
                cls.coming.add(connection)
                connection.startReading()
        cls.left = max(0, FIRST_READS_PER_TURN - len(cls.due))
        if loop is not None and (cls.waiting or cls.coming or cls.due):
            cls._due(loop)

    @classmethod
    def _reset(cls) -> None:
        cls.left, cls.turn_of = FIRST_READS_PER_TURN, None
        cls.waiting, cls.coming, cls.due = collections.deque(), set(), set()

    @staticmethod
    def _alive(connection) -> bool:
        return connection.connected and not connection.disconnecting


def _budgeted(do_read):
    def doRead(self):
        if not getattr(self, "_first_read_done", True):
            if not _Budget.take(self):
                # Over this turn's budget: nothing is read; the socket waits its turn in the line.
                self.stopReading()
                return None
            self._first_read_done = True
        return do_read(self)

    doRead.__wrapped__ = do_read
    return doRead


def _fresh(init):
    def __init__(self, *args, **kwargs):
        self._first_read_done = False
        init(self, *args, **kwargs)

    __init__.__wrapped__ = init
    return __init__


def install() -> None:
    """Pace Twisted's TCP ports' accepts and budget the first reads of new connections per turn of
    the loop (idempotent)."""
    if not hasattr(tcp.Port.doRead, "__wrapped__"):
        tcp.Port.doRead = _paced(tcp.Port.doRead)
    if not hasattr(tcp.Server.doRead, "__wrapped__"):
        tcp.Server.__init__ = _fresh(tcp.Server.__init__)
        tcp.Server.doRead = _budgeted(tcp.Server.doRead)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
