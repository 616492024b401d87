"""Idle session timeout (issue 15 point 5; ecabinet.idle): with a moved clock.

A session unused for longer than ``SESSION_IDLE_MINUTES`` ends: the next screen goes to the login page
with a message saying why, the next API call gets 401 ``session_expired``; a session lasts at most
``SESSION_COOKIE_AGE`` after sign-in however active; the last-seen mark is written at most once a minute.
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from ecabinet import clock as server_clock
from ecabinet import idle

from .factories import api_token

PASSWORD = "pw-for-tests"  # tests/factories.py


class Clock:
    def __init__(self) -> None:
        self.at = 1_800_000_000.0

    def __call__(self) -> float:
        return self.at

    def move(self, *, minutes: float = 0, hours: float = 0) -> None:
        self.at += minutes * 60 + hours * 3600


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(server_clock, "now", clock)
    return clock


def signed_in(user) -> Client:
    client = Client()
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def session_data(client) -> str:
    return Session.objects.get(session_key=client.cookies["sessionid"].value).session_data


def test_a_session_unused_for_longer_than_the_limit_ends_with_a_message(cast, clock, settings):
    settings.SESSION_IDLE_MINUTES = 30
    settings.LANGUAGE_CODE = "vi"  # as in production (the tests run in English otherwise)
    client = signed_in(cast.member)
    assert client.get("/").status_code == 200
    clock.move(minutes=29)
    assert client.get("/").status_code == 200  # 29 minutes: still signed in, and the clock starts again
    clock.move(minutes=29)
    assert client.get("/").status_code == 200
    clock.move(minutes=31)
    key = client.cookies["sessionid"].value
    response = client.get("/notifications/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/notifications/"
    page = client.get(response["Location"])
    assert "sau 30 phút không hoạt động" in page.content.decode()  # Vietnamese first
    assert 'data-code="session_expired"' in page.content.decode()
    # Ended for good (the session row is gone): not signed in any more, even if the clock went back.
    assert not Session.objects.filter(session_key=key).exists()
    clock.move(minutes=-31)
    assert client.get("/").status_code == 302


def test_the_api_answers_401_session_expired(cast, clock):
    client = signed_in(cast.member)
    assert client.get("/api/v1/meetings/").status_code == 200
    clock.move(minutes=31)
    response = client.get("/api/v1/meetings/")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired" and "30 minutes" in response.json()["detail"]
    assert client.get("/api/v1/meetings/").status_code in (401, 403)  # signed out now, DRF's own answer


def test_the_last_seen_mark_is_written_at_most_once_a_minute(cast, clock):
    client = signed_in(cast.member)
    client.get("/")
    before = session_data(client)
    for _ in range(5):
        clock.move(minutes=0.15)
        client.get("/")
    assert session_data(client) == before  # 45 s of requests: the session row was not written
    clock.move(minutes=0.3)
    client.get("/")
    assert session_data(client) != before
    stored = Session.objects.get(session_key=client.cookies["sessionid"].value).get_decoded()
    assert stored[idle.LAST_SEEN] == int(clock.at)


def test_a_session_ends_after_its_absolute_age_however_active(cast, clock, settings):
    settings.SESSION_COOKIE_AGE = 12 * 3600
    client = signed_in(cast.member)
    for _ in range(12 * 3 - 1):  # active every 20 minutes for 11 h 40 min
        clock.move(minutes=20)
        assert client.get("/").status_code == 200
    clock.move(minutes=21)
    response = client.get("/")
    assert response.status_code == 302
    assert "12 hours after signing in" in client.get(response["Location"]).content.decode()


def test_token_requests_are_not_touched(cast, clock):
    """The API's token callers have no browser session: the idle rule is not theirs (device tokens are)."""
    key = api_token(cast.member)
    tablet = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert tablet.get("/api/v1/meetings/").status_code == 200
    clock.move(hours=5)
    assert tablet.get("/api/v1/meetings/").status_code == 200


def test_session_alive_is_the_rule_for_sockets(cast, clock):
    client = signed_in(cast.member)
    key = client.cookies["sessionid"].value
    assert idle.session_alive(key, cast.member.pk)
    assert not idle.session_alive(key, cast.member2.pk)  # another person's
    assert not idle.session_alive("no-such-session", cast.member.pk)
    assert not idle.session_alive(None)
    # A heartbeat is activity: 25 minutes later it renews the mark, 25 minutes after that a request is fine.
    clock.move(minutes=25)
    assert idle.session_alive(key, cast.member.pk)
    clock.move(minutes=25)
    assert client.get("/").status_code == 200
    # Without activity for longer than the limit: refused (the next request ends it and says why).
    clock.move(minutes=31)
    assert not idle.session_alive(key, cast.member.pk, activity=False)
    clock.move(minutes=-31)
    # Deactivated, or the password changed: refused as Django refuses the request.
    cast.member.set_password("another-password-1")
    cast.member.save()
    assert not idle.session_alive(key, cast.member.pk)
    client = signed_in(cast.member2)
    cast.member2.is_active = False
    cast.member2.save()
    assert not idle.session_alive(client.cookies["sessionid"].value, cast.member2.pk)
