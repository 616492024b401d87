"""``hotpath.fairness``: a reconnect storm is accepted and read a few connections per turn of the
event loop, so that the doorbells of the tablets already connected are not held behind one long turn
(issue 19); every connection is still accepted and read, in the next turns."""

from __future__ import annotations

import asyncio
import socket

import pytest
from twisted.internet import protocol, tcp

from hotpath import fairness


class Reactor:
    """What ``tcp.Port`` needs of a reactor here: readers and timers, recorded."""

    def __init__(self) -> None:
        self.readers: set = set()
        self.timers: list[tuple[float, object, tuple]] = []

    def addReader(self, reader) -> None:
        self.readers.add(reader)

    def removeReader(self, reader) -> None:
        self.readers.discard(reader)

    def callLater(self, delay, function, *args):
        self.timers.append((delay, function, args))

    def fire(self) -> None:
        timers, self.timers = self.timers, []
        for _delay, function, args in timers:
            function(*args)


class Refusing(protocol.Factory):
    """Counts the connections accepted (and closes them: nothing to serve)."""

    def __init__(self) -> None:
        self.accepted = 0

    def buildProtocol(self, addr):
        self.accepted += 1


@pytest.fixture
def port():
    fairness.install()
    reactor = Reactor()
    factory = Refusing()
    the_port = tcp.Port(0, factory, backlog=128, interface="127.0.0.1", reactor=reactor)
    listening = the_port.createInternetSocket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(128)
    # What startListening sets (without its logging and the factory's start).
    the_port.socket, the_port.fileno, the_port.connected, the_port.numberAccepts = (
        listening, listening.fileno, True, 100)
    clients = [socket.create_connection(listening.getsockname()) for _ in range(20)]
    yield the_port, reactor, factory
    for client in clients:
        client.close()
    listening.close()


def test_install_wraps_twisteds_port_and_connections_once():
    fairness.install()
    fairness.install()
    assert tcp.Port.doRead.__wrapped__.__qualname__ == "Port.doRead"
    assert tcp.Server.doRead.__wrapped__.__qualname__ == "Connection.doRead"
    assert not hasattr(tcp.Server.doRead.__wrapped__, "__wrapped__")


def test_a_storm_is_accepted_a_batch_per_turn_then_the_port_rests(port):
    the_port, reactor, factory = port
    the_port.startReading()
    the_port.doRead()
    assert factory.accepted == fairness.ACCEPTS_PER_TURN  # Twisted's own: all 20 at once
    # A full batch: the port is not watched until the pause is over.
    assert the_port not in reactor.readers
    assert [(delay, args) for delay, _f, args in reactor.timers] == [(fairness.ACCEPT_PAUSE_SECONDS, (the_port,))]
    reactor.fire()
    assert the_port in reactor.readers
    the_port.doRead()
    assert factory.accepted == 2 * fairness.ACCEPTS_PER_TURN
    reactor.fire()
    the_port.doRead()
    # The last 4: not a full batch, so the port keeps reading, as without a storm.
    assert factory.accepted == 20
    assert the_port in reactor.readers and reactor.timers == []


def test_a_lone_connection_is_accepted_without_a_pause(port):
    the_port, reactor, factory = port
    the_port.numberAccepts = 1  # what Twisted scales down to after quiet turns
    the_port.startReading()
    the_port.doRead()
    assert factory.accepted == 1
    assert the_port in reactor.readers and reactor.timers == []


class Connection:
    """A new connection as ``fairness`` sees it (``tcp.Server``'s reading switch and state)."""

    def __init__(self) -> None:
        self._first_read_done = False
        self.reading = True
        self.reads = 0
        self.connected = True
        self.disconnecting = False

    def startReading(self) -> None:
        self.reading = True

    def stopReading(self) -> None:
        self.reading = False


def _read(connection) -> None:
    connection.reads += 1


def test_a_turn_reads_the_requests_of_a_few_new_connections_the_others_at_the_next_turn():
    asyncio.run(_a_turn_reads_a_few())


async def _a_turn_reads_a_few():
    do_read = fairness._budgeted(_read)
    storm = [Connection() for _ in range(fairness.FIRST_READS_PER_TURN + 5)]
    for connection in storm:  # the same turn: every socket readable at once
        do_read(connection)
    read = [c for c in storm if c.reads]
    assert len(read) == fairness.FIRST_READS_PER_TURN
    waiting = [c for c in storm if not c.reads]
    assert all(not c.reading for c in waiting)  # nothing read: their requests stay in the kernel
    # Already read once: a connection's further reads (a keep-alive request, a WebSocket frame)
    # are never held, whatever the budget.
    do_read(read[0])
    assert read[0].reads == 2
    await asyncio.sleep(0)  # the next turn: the budget is full again, the waiting ones watched again
    assert all(c.reading for c in waiting)
    for connection in waiting:
        do_read(connection)
    assert all(c.reads == 1 for c in waiting)


def test_a_connection_closed_while_it_waited_is_not_watched_again():
    asyncio.run(_closed_while_waiting())


async def _closed_while_waiting():
    do_read = fairness._budgeted(_read)
    for _ in range(fairness.FIRST_READS_PER_TURN):
        do_read(Connection())
    late = Connection()
    do_read(late)
    late.connected = False
    await asyncio.sleep(0)
    assert not late.reading and late.reads == 0


def test_without_an_event_loop_nothing_is_held():
    do_read = fairness._budgeted(_read)
    storm = [Connection() for _ in range(fairness.FIRST_READS_PER_TURN * 2)]
    for connection in storm:
        do_read(connection)
    assert all(c.reads == 1 for c in storm)


class Counting(Connection):
    """A ``Connection`` that counts how often it is stopped and watched again."""

    def __init__(self) -> None:
        super().__init__()
        self.stops = self.starts = 0

    def startReading(self) -> None:
        self.starts += 1
        super().startReading()

    def stopReading(self) -> None:
        self.stops += 1
        super().stopReading()


def test_a_burst_on_open_connections_is_read_in_order_each_stopped_and_watched_again_at_most_once():
    """500 keep-alive connections opened ahead send their requests at once (the vote storm): each
    waits in line once, in order; watching every waiting one again at every turn cost O(N²) wake-ups."""
    asyncio.run(_burst())


async def _burst():
    order: list = []

    def read(connection) -> None:
        connection.reads += 1
        order.append(connection)

    do_read = fairness._budgeted(read)
    burst = [Counting() for _ in range(10 * fairness.FIRST_READS_PER_TURN + 3)]
    per_turn = []
    ready = list(burst)  # every connection's request arrived in the same turn
    for _turn in range(100):
        before = len(order)
        for connection in ready:  # what the selector reports: the watched connections with bytes
            do_read(connection)
        per_turn.append(len(order) - before)
        await asyncio.sleep(0)  # the next turn (the refill runs first, as a callback queued earlier)
        ready = [c for c in burst if c.reading and not c.reads]
        if not ready:
            break
    assert order == burst  # first in, first read
    assert all(c.reads == 1 for c in burst)
    assert max(per_turn) <= fairness.FIRST_READS_PER_TURN
    assert all(c.stops <= 1 and c.starts <= 1 for c in burst), max(c.stops + c.starts for c in burst)
    for _ in range(3):
        await asyncio.sleep(0)
    assert fairness._Budget.turn_of is None  # the line is empty: no refill keeps the loop awake
