"""Origin (issue #3 "Done means"): the socket is opened only from a page of this site — an
``Origin`` whose host is in ``ALLOWED_HOSTS``. A wrong or missing Origin is refused before anything
else, even with valid credentials (cross-site WebSocket hijacking rides on the victim's cookie).
"""

from __future__ import annotations

import pytest

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


ALLOWED = ["http://127.0.0.1:8000", "http://localhost:8000", "https://localhost"]
REFUSED = [None, "http://evil.example", "http://127.0.0.1.evil.example", "http://evil.example:8000", "null", ""]


def test_it_accepts_an_origin_of_an_allowed_host(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    for origin in ALLOWED:
        assert attempt(token_headers(cast.member, origin=origin), cast.meeting.pk), origin


@pytest.mark.parametrize("auth", ["token", "cookie"])
def test_it_refuses_a_wrong_or_missing_origin(cast, auth):
    cast.set_status(Meeting.Status.PUBLISHED)
    make = token_headers if auth == "token" else cookie_headers
    for origin in REFUSED:
        assert not attempt(make(cast.member, origin=origin), cast.meeting.pk), origin
    assert not Presence.objects.exists()
