"""``hotpath.intake``: votes taken in group commits in front of Django.

The first tests send the same requests to the intake and to Django's own view (``VotesView``, by
``PooledASGIHandler`` without the intake) for two members in the same situation, and require the
same status, body and headers; the others check what only the intake does (batches, replays in a
batch, falling back to Django)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from django.conf import settings
from django.db import OperationalError
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from ecabinet.api import idempotency
from ecabinet.models import IdempotencyRecord
from hotpath import intake
from hotpath.http_handler import PooledASGIHandler
from meetings import services
from meetings.models import Participant
from voting import intake_handler
from voting.models import Motion, Vote
from voting.services import motions, votes

from ..asgi import call, scope
from ..factories import UserFactory, api_token
from .conftest import build_room

RECEIPT = "<receipt>"


class Counting:
    """Django's application, counting the requests the intake handed to it."""

    def __init__(self, app) -> None:
        self.app, self.calls = app, 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await self.app(scope, receive, send)


@pytest.fixture
def apps():
    django = PooledASGIHandler(2)
    behind = Counting(PooledASGIHandler(2))
    yield intake.BatchIntake(behind, intake_handler), behind, django
    django.executor.shutdown(wait=True)
    behind.app.executor.shutdown(wait=True)


def token_of(user) -> list:
    """The same token for every request of ``user`` (one device, as a tablet has)."""
    if not hasattr(user, "_test_token"):
        user._test_token = api_token(user)
    return [(b"authorization", f"Token {user._test_token}".encode())]


def vote(app, motion_id: int, choice, headers: list, *, key: str | None = None, body: bytes | None = None,
         content_type: bytes = b"application/json") -> dict:
    extra = [(b"idempotency-key", key.encode())] if key else []
    data = body if body is not None else json.dumps({"choice": choice}).encode()
    return asyncio.run(call(app, f"/api/v1/motions/{motion_id}/votes/", method="POST", body=data,
                            headers=[(b"content-type", content_type), *extra, *headers]))


def same_answer(a: dict, b: dict) -> None:
    """Equal status, body and headers, but for the receipt token (random) and its length."""
    def norm(answer):
        data = answer["json"]
        if isinstance(data, dict) and data.get("receipt"):
            assert len(data["receipt"]) == 32
            data = {**data, "receipt": RECEIPT}
        return answer["status"], data, {k: v for k, v in answer["headers"].items() if k != "content-length"}
    assert norm(a) == norm(b)


@pytest.fixture
def pair(transactional_db):
    """A session in progress and, for each situation, two people in it: one for the intake, one for
    Django's view."""
    room = build_room(members=8, absent=2, votes_may_change=False)
    observers = [UserFactory(username=f"guest{i}", full_name="Khách mời") for i in (1, 2)]
    for guest in observers:
        services.participant_add(actor=room.secretary, meeting=room.meeting, username=guest.username,
                                 role=Participant.Role.OBSERVER)
    outsiders = [UserFactory(username=f"outsider{i}", full_name="Người ngoài") for i in (1, 2)]
    return room, observers, outsiders


def test_the_intake_answers_every_case_as_django_s_view_does(pair, apps):
    room, observers, outsiders = pair
    app, behind, django = apps
    motion = room.motion()
    closed = room.motion()
    motions.motion_close(actor=room.chair, motion_id=closed.pk)
    m = room.members  # m[6], m[7] are absent
    first, second = token_of(m[0]), token_of(m[1])
    key1, key2 = str(uuid.uuid4()), str(uuid.uuid4())

    # A first vote, its replay, a new request, the key reused for another request.
    same_answer(vote(app, motion.pk, "yes", first, key=key1), vote(django, motion.pk, "yes", second, key=key2))
    same_answer(vote(app, motion.pk, "yes", first, key=key1), vote(django, motion.pk, "yes", second, key=key2))
    replay = vote(app, motion.pk, "yes", first, key=key1)
    assert replay["headers"]["idempotent-replayed"] == "true" and replay["json"]["receipt"] is None
    same_answer(vote(app, motion.pk, "no", first), vote(django, motion.pk, "no", second))
    same_answer(vote(app, motion.pk, "no", first, key=key1), vote(django, motion.pk, "no", second, key=key2))
    # Refusals the vote itself gives.
    same_answer(vote(app, motion.pk, "yes", token_of(observers[0])), vote(django, motion.pk, "yes",
                                                                          token_of(observers[1])))
    same_answer(vote(app, motion.pk, "yes", token_of(outsiders[0])), vote(django, motion.pk, "yes",
                                                                          token_of(outsiders[1])))
    same_answer(vote(app, motion.pk, "yes", token_of(m[6])), vote(django, motion.pk, "yes", token_of(m[7])))
    same_answer(vote(app, closed.pk, "yes", token_of(m[2])), vote(django, closed.pk, "yes", token_of(m[3])))
    same_answer(vote(app, 10**9, "yes", token_of(m[2])), vote(django, 10**9, "yes", token_of(m[3])))
    same_answer(vote(app, motion.pk, "yes", token_of(room.secretary)),
                vote(django, motion.pk, "yes", token_of(room.secretary)))
    assert behind.calls == 0  # all of them answered by the intake itself

    # What the intake leaves to Django: the same answers, from Django.
    same_answer(vote(app, motion.pk, "maybe", first), vote(django, motion.pk, "maybe", second))
    same_answer(vote(app, motion.pk, None, first, body=b"{not json"), vote(django, motion.pk, None, second,
                                                                          body=b"{not json"))
    form = b"application/x-www-form-urlencoded"
    same_answer(vote(app, motion.pk, None, first, body=b"choice=yes", content_type=form),
                vote(django, motion.pk, None, second, body=b"choice=yes", content_type=form))
    same_answer(vote(app, motion.pk, "yes", []), vote(django, motion.pk, "yes", []))
    same_answer(vote(app, motion.pk, "yes", [(b"authorization", b"Token " + b"0" * 40)]),
                vote(django, motion.pk, "yes", [(b"authorization", b"Token " + b"0" * 40)]))
    same_answer(vote(app, motion.pk, "yes", first, key="k" * 201),
                vote(django, motion.pk, "yes", second, key="k" * 201))
    assert behind.calls == 5  # "{not json" is the intake's own refusal (ecabinet.jsonguard), as Django's
    assert Vote.objects.filter(motion=motion).count() == 2


def test_english_is_answered_in_english_and_vietnamese_by_default(pair, apps, settings):
    settings.LANGUAGE_CODE = "vi"
    room, observers, _outsiders = pair
    app, _behind, django = apps
    motion = room.motion()
    english = [(b"cookie", b"django_language=en")]
    vi_intake = vote(app, motion.pk, "yes", token_of(observers[0]))
    same_answer(vi_intake, vote(django, motion.pk, "yes", token_of(observers[1])))
    assert vi_intake["headers"]["content-language"] == "vi" and "Khách mời" in vi_intake["json"]["detail"]
    en_intake = vote(app, motion.pk, "yes", token_of(observers[0]) + english)
    same_answer(en_intake, vote(django, motion.pk, "yes", token_of(observers[1]) + english))
    assert en_intake["json"]["detail"].startswith("Invited guests")


def browser(user) -> tuple[list, str]:
    client = Client()
    client.force_login(user)
    secret = _get_new_csrf_string()
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"sessionid={session}; csrftoken={secret}".encode())], secret


def test_a_browser_tablet_votes_with_its_session_and_csrf_token_as_with_django(pair, apps):
    room, _observers, _outsiders = pair
    app, behind, django = apps
    motion = room.motion(method="secret")
    (cookie_a, secret_a), (cookie_b, secret_b) = browser(room.members[0]), browser(room.members[1])
    csrf_a, csrf_b = [(b"x-csrftoken", secret_a.encode())], [(b"x-csrftoken", secret_b.encode())]
    same_answer(vote(app, motion.pk, "no", cookie_a), vote(django, motion.pk, "no", cookie_b))  # no CSRF token
    assert behind.calls == 1
    key_a, key_b = str(uuid.uuid4()), str(uuid.uuid4())
    answer = vote(app, motion.pk, "no", cookie_a + csrf_a, key=key_a)
    same_answer(answer, vote(django, motion.pk, "no", cookie_b + csrf_b, key=key_b))
    assert answer["status"] == 201 and "choice" not in answer["json"] and behind.calls == 1
    # A secret vote's key is matched on the path alone: another choice with it is still a replay.
    same_answer(vote(app, motion.pk, "yes", cookie_a + csrf_a, key=key_a),
                vote(django, motion.pk, "yes", cookie_b + csrf_b, key=key_b))


def test_votes_arriving_together_are_written_in_few_batches(pair, apps, monkeypatch):
    room, _observers, _outsiders = pair
    app, behind, _django = apps
    motion = room.motion()
    sizes = []
    handle = intake.handle
    monkeypatch.setattr(intake, "handle", lambda batch, handler: (sizes.append(len(batch)), handle(batch, handler)))
    voters = [p for p in room.voters if p not in room.members[-2:]]  # the present ones
    tokens = {voter.pk: token_of(voter) for voter in voters}

    async def storm():
        return await asyncio.gather(*(call(app, f"/api/v1/motions/{motion.pk}/votes/", method="POST",
                                           body=b'{"choice":"yes"}',
                                           headers=[(b"content-type", b"application/json"),
                                                    (b"idempotency-key", str(uuid.uuid4()).encode()),
                                                    *tokens[voter.pk]]) for voter in voters))

    answers = asyncio.run(storm())
    assert [a["status"] for a in answers] == [201] * len(voters)
    assert len({a["json"]["receipt"] for a in answers}) == len(voters)
    assert Vote.objects.filter(motion=motion).count() == len(voters) == sum(sizes)
    assert len(sizes) < len(voters) and behind.calls == 0


# --- batches, without HTTP ------------------------------------------------------------------------

def submission(motion_id: int, user, *, key: str = "", choice: str = "yes") -> intake.Submission:
    body = json.dumps({"choice": choice}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *token_of(user)]
    if key:
        headers.append((b"idempotency-key", key.encode()))
    return intake._parsed(scope(f"/api/v1/motions/{motion_id}/votes/", method="POST", headers=headers), body,
                          motion_id, intake_handler)


def test_two_copies_of_one_request_never_share_a_batch(db):
    room = build_room(members=3)
    motion = room.motion()
    a = submission(motion.pk, room.members[0], key="same")
    copy = submission(motion.pk, room.members[0], key="same")
    other = submission(motion.pk, room.members[1], key="same")  # another person's key may be equal
    now, later = intake._distinct_keys([a, copy, other])
    assert now == [a, other] and later == [copy]
    intake.handle(now, intake_handler)
    intake.handle(later, intake_handler)
    assert (a.answer.status, a.answer.replayed) == (201, False)
    assert (copy.answer.status, copy.answer.replayed, copy.answer.body["receipt"]) == (201, True, None)
    assert other.answer.status == 201 and not other.answer.replayed


def test_a_batch_that_meets_a_record_written_meanwhile_is_retried_one_by_one(db, monkeypatch):
    room = build_room(members=3)
    motion = room.motion()
    early = submission(motion.pk, room.members[0], key="k1")
    intake.handle([early], intake_handler)  # its vote and record are in
    copy = submission(motion.pk, room.members[0], key="k1")
    others = [submission(motion.pk, u, key=f"k-{u.pk}") for u in (room.chair, room.members[1])]
    stored = idempotency.stored_many
    calls = []

    def blind_once(keys):  # the first look misses the record, as if it were being committed elsewhere
        calls.append(keys)
        return {} if len(calls) == 1 else stored(keys)

    monkeypatch.setattr(idempotency, "stored_many", blind_once)
    intake.handle([copy, *others], intake_handler)
    assert copy.answer.status == 201 and copy.answer.replayed
    assert [o.answer.status for o in others] == [201, 201]
    assert Vote.objects.filter(motion=motion).count() == 3
    assert IdempotencyRecord.objects.filter(key__in=["k1", *(f"k-{u.pk}" for u in (room.chair, room.members[1]))]
                                            ).count() == 3


def test_a_batch_the_database_refuses_is_handed_to_django(db, monkeypatch):
    room = build_room(members=2)
    motion = room.motion()
    batch = [submission(motion.pk, u) for u in room.voters]

    def fail(ballots):
        raise OperationalError("database is locked")

    monkeypatch.setattr(votes, "votes_cast", fail)
    intake.handle(batch, intake_handler)
    assert [s.answer for s in batch] == [None, None, None]
    assert not Vote.objects.filter(motion=motion).exists()
    assert Motion.objects.get(pk=motion.pk).status == Motion.Status.OPEN


def test_with_mfa_enforced_a_member_who_must_enrol_cannot_vote_through_the_intake(pair, apps, settings):
    """Issue 15: the intake hands such a caller to Django, whose API refuses them until they enrol."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    room, _observers, _outsiders = pair
    app, behind, _django = apps
    motion = room.motion()
    settings.MFA_ENFORCE = True
    refused = vote(app, motion.pk, "yes", token_of(room.members[0]))
    assert (refused["status"], refused["json"]["code"]) == (403, "mfa_enrolment_required")
    assert behind.calls == 1 and not Vote.objects.filter(motion=motion).exists()
    TOTPDevice.objects.create(user=room.members[0], name="totp", confirmed=True)
    assert vote(app, motion.pk, "yes", token_of(room.members[0]))["status"] == 201
    assert behind.calls == 1
