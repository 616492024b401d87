"""The admission queue of room-socket handshakes (``hotpath.admission``): at most ``limit`` at
once, the others in arrival order, a place given back when the consumer says so or when the
application ends however it ends; HTTP is never queued."""

from __future__ import annotations

import asyncio
import functools

import pytest

from hotpath import admission

from .recorder import Recorder


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def presenting(n: int) -> list:
    """A credential of its own for handshake ``n`` (one without any is refused before the queue:
    tests/security/test_i19_admission.py)."""
    return [(b"authorization", f"Token key-{n}".encode())]


def start(gate, n: int, **scope):
    return asyncio.ensure_future(gate({"type": "websocket", "n": n, "headers": presenting(n), **scope}, None, None))


def test_at_most_limit_handshakes_work_at_once_and_the_others_enter_in_arrival_order():
    async def scenario():
        app = Recorder()
        gate = admission.Admission(app, limit=2)
        tasks = [start(gate, n) for n in range(6)]
        await settle()
        assert app.entered == [0, 1]
        for n in range(6):
            app.go.setdefault(n, asyncio.Event()).set()  # the oldest finishes: exactly one more comes in
            await settle()
            assert app.entered == list(range(min(6, n + 3)))
        await asyncio.gather(*tasks)
        assert app.most_inside == 2

    asyncio.run(scenario())


def test_release_lets_the_next_in_while_the_socket_stays_open_and_twice_is_once():
    async def scenario():
        app = Recorder()
        gate = admission.Admission(app, limit=1)
        first, second, third = start(gate, 0), start(gate, 1), start(gate, 2)
        await settle()
        assert app.entered == [0]
        admission.release(app.scopes[0])  # the consumer's connect is over; the socket lives on
        admission.release(app.scopes[0])  # a second release gives back nothing more
        await settle()
        assert app.entered == [0, 1]
        assert app.inside == 2
        app.go[0].set()  # the first socket closes: its place was already given back
        await settle()
        assert app.entered == [0, 1]
        app.go[1].set()
        await settle()
        assert app.entered == [0, 1, 2]
        app.go[2].set()
        await asyncio.gather(first, second, third)

    asyncio.run(scenario())


def test_a_failing_application_gives_its_place_back():
    async def scenario():
        app = Recorder()
        gate = admission.Admission(app, limit=1)
        failing, waiting = start(gate, 0, fail=True), start(gate, 1)
        await settle()
        app.go[0].set()
        with pytest.raises(RuntimeError):
            await failing
        await settle()
        assert app.entered == [0, 1]
        app.go[1].set()
        await waiting

    asyncio.run(scenario())


def test_http_is_not_queued():
    async def scenario():
        app = Recorder()
        gate = admission.Admission(app, limit=1)
        socket = start(gate, 0)
        await settle()
        request = asyncio.ensure_future(gate({"type": "http", "n": 1}, None, None))
        await settle()
        assert app.entered == [0, 1]
        app.go[0].set()
        app.go[1].set()
        await asyncio.gather(socket, request)
        assert admission.SCOPE_KEY not in app.scopes[1]

    asyncio.run(scenario())


class Transport:
    def __init__(self, connected: bool) -> None:
        self.connected, self.disconnecting = connected, False


class Protocol:
    """What ``hotpath.wsframes.daphne_protocol`` finds under Daphne's ``send``."""

    STATE_CLOSED, STATE_CONNECTING, STATE_OPEN = 0, 1, 3

    def __init__(self, *, alive: bool) -> None:
        self.state = self.STATE_CONNECTING if alive else self.STATE_CLOSED
        self.transport = Transport(alive)

    def serverSend(self, *args) -> None:
        raise AssertionError("not sent to")


def daphne_send(protocol: Protocol):
    async def handle_reply(protocol, message) -> None:
        raise AssertionError("not sent to")

    return functools.partial(handle_reply, protocol)


def test_a_handshake_dropped_while_it_waited_is_skipped_not_worked_through():
    async def scenario():
        app = Recorder()
        gate = admission.Admission(app, limit=1)
        gone = Protocol(alive=True)
        first = start(gate, 0)
        waiting_then_dropped = asyncio.ensure_future(gate({"type": "websocket", "n": 1, "headers": presenting(1)}, None,
                                                         daphne_send(gone)))
        alive = asyncio.ensure_future(gate({"type": "websocket", "n": 2, "headers": presenting(2)}, None,
                                           daphne_send(Protocol(alive=True))))
        await settle()
        gone.state, gone.transport.connected = gone.STATE_CLOSED, False  # Daphne's handshake timeout
        app.go[0].set()
        await settle()
        assert app.entered == [0, 2]  # the dropped one never reached the application, nor held the place
        app.go[2].set()
        await asyncio.gather(first, waiting_then_dropped, alive)

    asyncio.run(scenario())
