"""The votes limit (``RATE_VOTES_PER_MINUTE``, ``ecabinet.limits``) on both paths a vote takes: the
intake in front of Django (``hotpath.intake``) and Django's ``VotesView``, with the same answer —
status, body and headers, ``Retry-After`` included — and nothing stored for the refused vote."""

from __future__ import annotations

import asyncio

import pytest

from ecabinet import clock as server_clock
from voting.models import Vote

from ..asgi import call
from .conftest import build_room
from .test_intake import apps as apps  # the fixture
from .test_intake import same_answer, token_of, vote

T0 = 1_800_000_000 + 10


@pytest.fixture
def room(transactional_db, monkeypatch):
    monkeypatch.setattr(server_clock, "now", lambda: T0)
    return build_room(members=4, votes_may_change=True)


def test_the_intake_and_the_view_refuse_the_vote_after_the_limit_alike(room, apps, settings):
    settings.RATE_VOTES_PER_MINUTE = 2
    app, behind, django = apps
    motion = room.motion()
    a, b, c = (token_of(m) for m in room.members[:3])
    for choice in ("yes", "no"):
        same_answer(vote(app, motion.pk, choice, a), vote(django, motion.pk, choice, b))
    intake_answer, view_answer = vote(app, motion.pk, "abstain", a), vote(django, motion.pk, "abstain", b)
    same_answer(intake_answer, view_answer)
    assert intake_answer["status"] == 429 and intake_answer["headers"]["retry-after"] == "50"
    assert intake_answer["json"]["code"] == "rate_limited"
    assert behind.calls == 0  # the intake answered the refusal itself
    assert sorted(Vote.objects.filter(motion=motion).values_list("choice", flat=True)) == ["no", "no"]
    # Another member votes as usual, through either path.
    assert vote(app, motion.pk, "yes", c)["status"] == 201


def test_votes_of_one_member_arriving_together_are_each_counted(room, apps, settings):
    """Requests of one member that arrive together (taken in one batch) count one by one."""
    settings.RATE_VOTES_PER_MINUTE = 2
    app, behind, _django = apps
    motion = room.motion()
    headers = [(b"content-type", b"application/json"), *token_of(room.members[0])]

    async def together():
        return await asyncio.gather(*(call(app, f"/api/v1/motions/{motion.pk}/votes/", method="POST",
                                           body=f'{{"choice":"{c}"}}'.encode(), headers=headers)
                                      for c in ("yes", "no", "abstain", "yes")))

    answers = asyncio.run(together())
    assert sorted(a["status"] for a in answers) == [201, 201, 429, 429]
    assert Vote.objects.filter(motion=motion).count() == 1 and behind.calls == 0
