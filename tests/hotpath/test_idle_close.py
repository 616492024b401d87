"""The application's own idle close (``hotpath.heartbeats.IdleClose``): a socket that sends nothing
for ``IDLE_SECONDS`` is closed with 4410; one that pings is not, nor one still in its handshake.
It replaces Daphne's WebSocket pings as the way a vanished tablet is dropped (deploy/daphne_process.py)."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync

from deploy import daphne_process
from hotpath import heartbeats

ROOT = Path(__file__).resolve().parents[2]
TABLET_PING_SECONDS = 20  # docs/protocol.md


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeProtocol:
    """What ``wsframes.daphne_protocol`` recognises as Daphne's protocol (``serverSend``, states)."""

    STATE_CONNECTING, STATE_OPEN = 0, 1

    def __init__(self, state: int) -> None:
        self.state = state

    def serverSend(self, payload, binary):
        raise AssertionError("not used here")


def make_send(sent: list, protocol=None):
    """A ``send`` shaped like Daphne's (``partial(server.handle_reply, protocol)``)."""
    async def send(_protocol, message):
        sent.append(message)

    return functools.partial(send, protocol)


async def echo_app(scope, receive, send):
    """Reads until disconnected; the middleware's close is Daphne's business (here: recorded)."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return


def test_a_silent_socket_is_closed_and_a_pinging_one_is_not():
    clock = Clock()
    middleware = heartbeats.IdleClose(echo_app, idle=90, sweep=3600, clock=clock)

    async def scenario():
        silent_in, pinging_in = asyncio.Queue(), asyncio.Queue()
        silent_sent, pinging_sent = [], []
        tasks = [asyncio.ensure_future(middleware({"type": "websocket"}, silent_in.get, make_send(silent_sent))),
                 asyncio.ensure_future(middleware({"type": "websocket"}, pinging_in.get, make_send(pinging_sent)))]
        await asyncio.sleep(0)
        assert len(middleware.sockets) == 2
        for _ in range(5):  # 100 s: the pinging socket sends every 20 s
            clock.now += 20
            await pinging_in.put({"type": "websocket.receive", "text": '{"type":"ping"}'})
            await asyncio.sleep(0)
            middleware.close_idle()
            await asyncio.sleep(0)
        assert silent_sent == [{"type": "websocket.close", "code": heartbeats.CLOSE_IDLE}]
        assert pinging_sent == []
        assert middleware.close_idle() == 0  # told once, not again on every sweep
        await silent_in.put({"type": "websocket.disconnect", "code": heartbeats.CLOSE_IDLE})
        await pinging_in.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.gather(*tasks)
        assert middleware.sockets == {}

    async_to_sync(scenario)()


def test_the_clock_starts_when_the_handshake_is_answered():
    clock = Clock()
    middleware = heartbeats.IdleClose(echo_app, idle=90, sweep=3600, clock=clock)
    protocol = FakeProtocol(FakeProtocol.STATE_CONNECTING)

    async def scenario():
        incoming, sent = asyncio.Queue(), []
        task = asyncio.ensure_future(middleware({"type": "websocket"}, incoming.get, make_send(sent, protocol)))
        await asyncio.sleep(0)
        clock.now += 60  # queued for admission for a minute
        assert middleware.close_idle() == 0
        protocol.state = FakeProtocol.STATE_OPEN
        clock.now += 89
        assert middleware.close_idle() == 0
        clock.now += 2
        assert middleware.close_idle() == 1
        await asyncio.sleep(0)
        assert sent == [{"type": "websocket.close", "code": heartbeats.CLOSE_IDLE}]
        await incoming.put({"type": "websocket.disconnect", "code": heartbeats.CLOSE_IDLE})
        await task

    async_to_sync(scenario)()


def test_the_sweep_runs_by_itself_and_http_passes_through():
    middleware = heartbeats.IdleClose(echo_app, idle=0.05, sweep=0.02)
    seen = []

    async def http_app(scope, receive, send):
        seen.append(scope["type"])

    async def scenario():
        await heartbeats.IdleClose(http_app)({"type": "http"}, None, None)
        incoming, sent = asyncio.Queue(), []
        task = asyncio.ensure_future(middleware({"type": "websocket"}, incoming.get, make_send(sent)))
        for _ in range(50):
            await asyncio.sleep(0.02)
            if sent:
                break
        assert sent == [{"type": "websocket.close", "code": heartbeats.CLOSE_IDLE}]
        await incoming.put({"type": "websocket.disconnect", "code": heartbeats.CLOSE_IDLE})
        await task

    async_to_sync(scenario)()
    assert seen == ["http"]


def test_daphne_pings_only_sockets_that_stopped_pinging_and_every_copy_of_the_command_agrees():
    options = daphne_process.server_options()
    interval = int(options[options.index("--ping-interval") + 1])
    timeout = int(options[options.index("--ping-timeout") + 1])
    # A tablet's ping resets Daphne's clock: with a margin over the tablets' 20 s, Daphne never
    # pings a tablet that pings as docs/protocol.md asks (its default, 20 s, often did).
    assert interval >= 2 * TABLET_PING_SECONDS
    # The application's idle close does not wait for a ping Daphne has not sent yet to be missed.
    assert interval + timeout >= heartbeats.IDLE_SECONDS
    assert heartbeats.IDLE_SECONDS >= 4 * TABLET_PING_SECONDS
    wanted = " ".join(options)
    for copy in ("Makefile", "deploy/systemd/ecabinet-daphne@.service"):
        text = " ".join((ROOT / copy).read_text().replace("\\\n", " ").split())
        assert wanted in text, copy
    assert wanted in " ".join(daphne_process.command(8000))


@pytest.mark.django_db(transaction=True)
def test_a_room_socket_that_stops_pinging_is_closed_and_one_that_pings_stays(cast):
    from channels.testing import WebsocketCommunicator

    from ecabinet.asgi import application
    from meetings.models import Meeting
    from tests.room.wsclient import HOST, token_headers, ws_path

    cast.set_status(Meeting.Status.IN_PROGRESS)
    app = heartbeats.IdleClose(application, idle=0.6, sweep=0.05)

    headers = {user: [(b"host", HOST), *token_headers(user)] for user in (cast.member, cast.member2)}

    async def scenario():
        silent, pinging = (WebsocketCommunicator(app, ws_path(cast.meeting.pk), headers=headers[user])
                           for user in (cast.member, cast.member2))
        for comm in (silent, pinging):
            connected, _ = await comm.connect(timeout=3)
            assert connected
            assert (await comm.receive_json_from(timeout=3))["type"] == "snapshot"
        for _ in range(8):  # 1.2 s, twice the idle time: one pings every 0.15 s, the other says nothing
            await pinging.send_json_to({"type": "ping"})
            assert (await pinging.receive_json_from(timeout=3))["type"] == "pong"
            await asyncio.sleep(0.15)
        assert await silent.receive_output(timeout=1) == {"type": "websocket.close", "code": heartbeats.CLOSE_IDLE}
        assert await pinging.receive_nothing(timeout=0.1)
        for comm in (silent, pinging):
            await comm.disconnect()

    async_to_sync(scenario)()
