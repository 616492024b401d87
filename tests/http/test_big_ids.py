"""An id beyond the database's integer range names nothing: 404, never a 500 (``OverflowError``).

Issue 14's attack: ``POST /api/v1/motions/9223372036854775808/votes/`` with a member's token was a
500 from the vote service. Every URL pattern now takes its ids through ``<id:...>``
(``ecabinet.converters``, at most 18 digits)."""

from __future__ import annotations

import asyncio
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter

from ecabinet.asgi import application
from ecabinet.converters import IdConverter
from hotpath import intake
from voting import intake_handler
from voting.models import Vote

from ..asgi import call
from ..voting.conftest import build_room
from ..voting.test_intake import Counting, token_of

HUGE = ["9223372036854775808", "9223372036854775807", "1" + "0" * 18, "9" * 40, "0" * 19 + "1"]


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def test_no_url_pattern_takes_an_unbounded_integer():
    from meetings.routing import websocket_urlpatterns

    routes = list(_patterns(get_resolver())) + [(str(p.pattern), p) for p in websocket_urlpatterns]
    with_ids = [route for route, entry in routes if any(isinstance(c, IdConverter)
                                                        for c in getattr(entry.pattern, "converters", {}).values())]
    assert len(with_ids) > 80  # the API's, the screens' and the socket's
    for route, entry in routes:
        for converter in getattr(entry.pattern, "converters", {}).values():
            assert not isinstance(converter, IntConverter), route


def _api_routes_with_ids():
    routes = []
    for route, _entry in _patterns(get_resolver()):
        if route.startswith("api/v1/") and "<id:" in route:
            routes.append(route)
    return routes


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_every_api_route_answers_404_not_found_to_an_id_past_the_range(transactional_db, method):
    """All the API's routes with an id, each id replaced by a hostile one, by a member (the attacker
    tried all 108 routes by hand)."""
    room = build_room(members=1)
    member = token_of(room.members[0])
    routes = _api_routes_with_ids()
    assert len(routes) > 40
    for number, route in enumerate(routes):
        huge = HUGE[number % len(HUGE)]
        path = "/" + re.sub(r"<id:\w+>", huge, route)
        answer = asyncio.run(call(application, path, method=method, body=b"{}" if method != "GET" else b"",
                                  headers=[(b"content-type", b"application/json"), *member]))
        assert (answer["status"], answer["json"]["code"]) == (404, "not_found"), (method, path, answer)


@pytest.fixture
def room(transactional_db):
    room = build_room(members=2)
    return room, room.motion()


@pytest.mark.parametrize("huge", HUGE)
def test_a_vote_for_a_motion_past_the_range_is_404_through_the_intake_and_django(room, huge):
    room, motion = room
    member = token_of(room.members[0])
    body = b'{"choice": "yes"}'
    headers = [(b"content-type", b"application/json"), *member]
    # The server's application: the intake in front, Django's view behind it.
    answer = asyncio.run(call(application, f"/api/v1/motions/{huge}/votes/", method="POST", body=body, headers=headers))
    assert (answer["status"], answer["json"]["code"]) == (404, "not_found")
    # Django alone (the intake's path allows 18 digits and hands anything else on).
    from hotpath.http_handler import PooledASGIHandler as Handler

    django = Counting(Handler(2))
    try:
        app = intake.BatchIntake(django, intake_handler)
        answer = asyncio.run(call(app, f"/api/v1/motions/{huge}/votes/", method="POST", body=body, headers=headers))
        assert (answer["status"], answer["json"]["code"]) == (404, "not_found")
        assert django.calls == 1
        answer = asyncio.run(call(django, f"/api/v1/motions/{huge}/votes/", method="POST", body=body, headers=headers))
        assert (answer["status"], answer["json"]["code"]) == (404, "not_found")
        # The largest id the converter lets through, with no such motion: the intake's own 404.
        answer = asyncio.run(call(app, "/api/v1/motions/" + "9" * 18 + "/votes/", method="POST", body=body,
                                  headers=headers))
        assert answer["status"] == 404
        assert django.calls == 2  # the 18-digit id was answered by the intake, not handed on
    finally:
        django.app.executor.shutdown(wait=True)
    assert Vote.objects.count() == 0
    # And the real motion still takes the vote.
    answer = asyncio.run(call(application, f"/api/v1/motions/{motion.pk}/votes/", method="POST", body=body,
                              headers=headers))
    assert answer["status"] == 201
