"""A cookie-authenticated room socket lives only as long as its browser session (issue 15 point 5;
``ecabinet.idle``, ``meetings.consumers``): closed with 4401 at connect or on a heartbeat once the session
has ended; the heartbeat of an open room is activity that keeps the session from going idle. Sockets
authenticated with a token have no browser session and are not concerned."""

from __future__ import annotations

import pytest
from django.test import Client

from ecabinet import clock as server_clock
from meetings import consumers
from meetings.models import Meeting

from .wsclient import PASSWORD, Tablet, call, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


class Clock:
    at = 1_800_000_000.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(server_clock, "now", clock)
    monkeypatch.setattr(consumers, "SESSION_CHECK_SECONDS", 0)  # check on every ping, not once a minute
    return clock


def browser(user) -> tuple[Client, list]:
    client = Client()
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie)]
    return client, headers


def test_the_socket_closes_on_the_next_heartbeat_after_sign_out(cast, clock):
    cast.set_status(Meeting.Status.PUBLISHED)
    client, headers = browser(cast.member)
    outcome = {}

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        assert (await tablet.recv())["type"] == "snapshot"
        await tablet.send({"type": "ping"})
        outcome["pong"] = (await tablet.until(lambda m: m["type"] == "pong"))[-1]["type"]
        await call(client.post)("/logout/")
        await tablet.send({"type": "ping"})
        outcome["code"] = await tablet.closed_with(timeout=3)

    run(scenario)
    assert outcome == {"pong": "pong", "code": consumers.CLOSE_ACCESS_ENDED}


def test_an_idle_session_cannot_open_the_room(cast, clock):
    cast.set_status(Meeting.Status.PUBLISHED)
    _client, headers = browser(cast.member)
    clock.at += 31 * 60
    outcome = {}

    async def scenario():
        tablet = Tablet(headers, cast.meeting.pk)
        outcome["connected"] = (await tablet.connect())[0]
        outcome["code"] = await tablet.closed_with(timeout=3)

    run(scenario)
    assert outcome == {"connected": True, "code": consumers.CLOSE_ACCESS_ENDED}


def test_the_room_s_heartbeat_keeps_the_session_alive(cast, clock):
    """A minister following a long session in the room without touching the tablet stays signed in."""
    cast.set_status(Meeting.Status.PUBLISHED)
    client, headers = browser(cast.member)
    outcome = {"pongs": 0}

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        await tablet.recv()
        for _ in range(9):  # three hours, a heartbeat every 20 minutes (the tablet sends one every 20 s)
            clock.at += 20 * 60
            await tablet.send({"type": "ping"})
            await tablet.until(lambda m: m["type"] == "pong")
            outcome["pongs"] += 1
        await tablet.close()

    run(scenario)
    assert outcome["pongs"] == 9
    clock.at += 25 * 60
    assert client.get("/").status_code == 200  # 25 minutes after the last heartbeat: still signed in


def test_without_heartbeats_the_session_goes_idle(cast, clock):
    cast.set_status(Meeting.Status.PUBLISHED)
    _client, headers = browser(cast.member)
    outcome = {}

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        await tablet.recv()
        clock.at += 31 * 60
        await tablet.send({"type": "ping"})
        outcome["code"] = await tablet.closed_with(timeout=3)

    run(scenario)
    assert outcome["code"] == consumers.CLOSE_ACCESS_ENDED


def test_token_sockets_have_no_browser_session_to_end(cast, clock):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(cast.member)
    outcome = {}

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        await tablet.recv()
        clock.at += 5 * 3600
        await tablet.send({"type": "ping"})
        outcome["last"] = (await tablet.until(lambda m: m["type"] == "pong"))[-1]["type"]
        await tablet.close()

    run(scenario)
    assert outcome["last"] == "pong"
