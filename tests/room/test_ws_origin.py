"""Origin (issue #3 "Done means", issue 15 point 6): the socket is opened only from a page of this
site — an ``Origin`` with exactly the scheme, host and port the socket came in on (its ``Host``, one of
``ALLOWED_HOSTS``), or one of ``CSRF_TRUSTED_ORIGINS``. A wrong Origin is refused before anything
else, even with valid credentials (cross-site WebSocket hijacking rides on the victim's cookie); a
missing one is refused for a cookie, accepted for ``Authorization: Token`` (apps that are not browsers).
The sockets here come in over plain ``ws://`` with ``Host: 127.0.0.1:8000`` (``wsclient.HOST``).
"""

from __future__ import annotations

import pytest

from ecabinet import ws_origin
from meetings.models import Meeting, Presence

from .wsclient import Tablet, cookie_headers, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def attempt(headers, meeting_id: int) -> bool:
    outcome = {}

    async def scenario():
        tablet = Tablet(headers, meeting_id)
        connected, _ = await tablet.connect()
        outcome["connected"] = connected
        if connected:
            outcome["first"] = (await tablet.recv())["type"]
        await tablet.close()

    run(scenario)
    if outcome["connected"]:
        assert outcome["first"] == "snapshot"
    return outcome["connected"]


SITE = ["http://127.0.0.1:8000", "HTTP://127.0.0.1:8000", "http://127.0.0.1:8000/"]
REFUSED = [
    "http://127.0.0.1:8001",  # another port of the same host: another program (the attack of issue 15)
    "http://127.0.0.1",  # port 80
    "https://127.0.0.1:8000",  # another scheme
    "http://localhost:8000",  # another allowed host, not the one the socket came to
    "http://evil.example", "http://127.0.0.1.evil.example", "http://evil.example:8000",
    "http://user@127.0.0.1:8000", "ftp://127.0.0.1:8000", "null", "",
]


@pytest.mark.parametrize("auth", ["token", "cookie"])
def test_it_accepts_the_exact_origin_of_the_site(cast, auth):
    cast.set_status(Meeting.Status.PUBLISHED)
    make = token_headers if auth == "token" else cookie_headers
    for origin in SITE:
        assert attempt(make(cast.member, origin=origin), cast.meeting.pk), origin


@pytest.mark.parametrize("auth", ["token", "cookie"])
def test_it_refuses_another_port_scheme_or_host(cast, auth):
    cast.set_status(Meeting.Status.PUBLISHED)
    make = token_headers if auth == "token" else cookie_headers
    for origin in REFUSED:
        assert not attempt(make(cast.member, origin=origin), cast.meeting.pk), origin
    assert not Presence.objects.exists()


def test_a_missing_origin_is_refused_for_a_cookie_but_not_for_a_token(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    assert not attempt(cookie_headers(cast.member, origin=None), cast.meeting.pk)
    assert attempt(token_headers(cast.member, origin=None), cast.meeting.pk)


def test_a_token_header_without_origin_never_opens_the_room_with_the_cookie(cast):
    """The missing-Origin exemption is for token sockets: a cookie beside a token that opens nothing
    (here an invented one) must not open the room as the cookie's user."""
    cast.set_status(Meeting.Status.PUBLISHED)
    forged = [*cookie_headers(cast.member, origin=None), (b"authorization", b"Token not-a-real-token")]
    assert not attempt(forged, cast.meeting.pk)
    assert not Presence.objects.exists()


def test_it_accepts_the_trusted_origins_exactly(cast, settings):
    cast.set_status(Meeting.Status.PUBLISHED)
    settings.CSRF_TRUSTED_ORIGINS = ["https://cabinet.example.gov.vn", "http://127.0.0.1:9000"]
    for origin in ("https://cabinet.example.gov.vn", "https://cabinet.example.gov.vn:443", "http://127.0.0.1:9000"):
        assert attempt(cookie_headers(cast.member, origin=origin), cast.meeting.pk), origin
    for origin in ("http://cabinet.example.gov.vn", "https://cabinet.example.gov.vn:8443", "http://127.0.0.1:9001"):
        assert not attempt(cookie_headers(cast.member, origin=origin), cast.meeting.pk), origin


def test_the_host_must_be_allowed(cast):
    """An Origin equal to a Host that is not in ALLOWED_HOSTS (DNS rebinding) is not the site's."""
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = [(b"host", b"rebound.example:8000"), *cookie_headers(cast.member, origin="http://rebound.example:8000")]
    assert not attempt(headers, cast.meeting.pk)


def _scope(origin: str, *, scheme: str = "ws", host: str = "cabinet.example.gov.vn", extra=()) -> dict:
    return {"type": "websocket", "scheme": scheme,
            "headers": [(b"host", host.encode()), (b"origin", origin.encode()), *extra]}


def test_the_scheme_is_the_one_the_socket_came_in_on(settings):
    settings.ALLOWED_HOSTS = ["cabinet.example.gov.vn"]
    assert ws_origin.origin_allowed(_scope("https://cabinet.example.gov.vn", scheme="wss"))
    assert not ws_origin.origin_allowed(_scope("http://cabinet.example.gov.vn", scheme="wss"))
    assert not ws_origin.origin_allowed(_scope("https://cabinet.example.gov.vn", scheme="ws"))
    # Behind the TLS proxy: its X-Forwarded-Proto decides, as for Django (SECURE_PROXY_SSL_HEADER).
    proto = ((b"x-forwarded-proto", b"https"),)
    assert not ws_origin.origin_allowed(_scope("https://cabinet.example.gov.vn", extra=proto))
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert ws_origin.origin_allowed(_scope("https://cabinet.example.gov.vn", extra=proto))
    assert not ws_origin.origin_allowed(_scope("http://cabinet.example.gov.vn", extra=proto))
    assert not ws_origin.origin_allowed(_scope("https://cabinet.example.gov.vn"))
    assert ws_origin.origin_allowed(_scope("https://cabinet.example.gov.vn:8443", host="cabinet.example.gov.vn:8443",
                                           extra=proto))
