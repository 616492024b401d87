"""The vote path's limits (``hotpath.intake``): every malformed body gets a 400 (or a 401 to a
stranger, as Django's view answers), a body too large a 413, never a 500 or no answer at all, and
nothing is stored. Each request is given 20 s: the deeply nested body used to get no answer.

Issue 14: ``{"choice": ["yes"]}`` was a 500 (a list looked up in a set); a nested body of 3,000
levels, read whole but longer than the intake's 4 KiB, was handed to Django announced as unfinished,
and Django waited for the rest forever."""

from __future__ import annotations

import asyncio

import pytest

from ecabinet.asgi import application
from ecabinet.models import IdempotencyRecord
from hotpath import intake
from hotpath.http_handler import PooledASGIHandler
from voting import intake_handler
from voting.models import Vote

from ..asgi import call
from ..http.test_request_limits import send_parts
from .conftest import build_room
from .test_intake import Counting, token_of

JSON = (b"content-type", b"application/json")


@pytest.fixture
def room(transactional_db):
    room = build_room(members=2)
    return room, room.motion()


@pytest.fixture
def behind():
    django = Counting(PooledASGIHandler(2))
    yield django
    django.app.executor.shutdown(wait=True)


def post(app, motion, body: bytes, headers: list) -> dict:
    return asyncio.run(asyncio.wait_for(call(app, f"/api/v1/motions/{motion.pk}/votes/", method="POST", body=body,
                                             headers=[JSON, *headers]), 20))


def nested(levels: int) -> bytes:
    return b'{"choice": ' + b"[" * levels + b"]" * levels + b"}"


CASES = [  # body, answer to a member, answer to a stranger
    (b'{"choice": ["yes"]}', (400, "invalid"), (401, "not_authenticated")),
    (b'{"choice": 5}', (400, "invalid"), (401, "not_authenticated")),
    (b'{"choice": {"yes": 1}}', (400, "invalid"), (401, "not_authenticated")),
    (b'{"choice": null}', (400, "invalid"), (401, "not_authenticated")),
    (b'["yes"]', (400, "invalid"), (401, "not_authenticated")),
    (b'"yes"', (400, "invalid"), (401, "not_authenticated")),
    (b'{"choice": "\xff"}', (400, "malformed_request"), (401, "not_authenticated")),
    (b'{"choice": "yes"', (400, "malformed_request"), (400, "malformed_request")),
    (nested(1000), (400, "json_too_deep"), (400, "json_too_deep")),
    (b'{"x": [' + b",".join([b"1"] * 1500) + b'], "choice": "yes"}', (400, "json_too_many_fields"),
     (400, "json_too_many_fields")),
    (nested(3000), (413, "request_too_large"), (413, "request_too_large")),
    (nested(5000), (413, "request_too_large"), (413, "request_too_large")),
]


@pytest.mark.parametrize(("body", "member", "stranger"), CASES, ids=lambda v: repr(v)[:30])
def test_every_malformed_vote_is_answered_with_a_code_and_nothing_is_stored(room, body, member, stranger):
    room, motion = room
    for headers, expected in ((token_of(room.members[0]), member), ([], stranger)):
        answer = post(application, motion, body, headers)
        assert (answer["status"], answer["json"]["code"]) == expected
        assert answer["json"]["detail"]
    assert Vote.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


def test_the_intake_refuses_what_it_refuses_without_django(room, behind, settings):
    room, motion = room
    app = intake.BatchIntake(behind, intake_handler)
    member = token_of(room.members[0])
    too_long = b'{"choice": "yes", "x": "' + b"x" * settings.HTTP_MAX_VOTE_BODY_BYTES + b'"}'
    for body in (nested(1000), nested(5000), too_long):
        answer = post(app, motion, body, member)
        assert answer["status"] in (400, 413)
        assert answer["headers"]["content-type"] == "application/json" and "allow" not in answer["headers"]
    # Without a Content-Length: read up to the cap, then refused.
    path = f"/api/v1/motions/{motion.pk}/votes/"
    first = b'{"choice": "yes", "x": "'
    answer, read = asyncio.run(send_parts(path, [first] + [b"x" * 1000] * 100, [JSON, *member], app=app))
    assert answer["status"] == 413
    assert read == 1 + (settings.HTTP_MAX_VOTE_BODY_BYTES - len(first)) // 1000 + 1  # not a part past the cap
    assert behind.calls == 0 and Vote.objects.count() == 0
    # A good vote still goes through.
    assert post(app, motion, b'{"choice": "yes"}', member)["status"] == 201


def test_django_s_vote_view_answers_a_choice_that_is_not_a_string_with_400(room, behind):
    room, motion = room
    answer = post(behind, motion, b'{"choice": ["yes"]}', token_of(room.members[0]))
    assert answer["status"] == 400 and answer["json"]["code"] == "invalid" and answer["json"]["field"] == "choice"
    assert Vote.objects.count() == 0
