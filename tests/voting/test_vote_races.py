"""Votes racing each other and the close, with real threads and one database connection each.

These run on the SQLite test database (a file: IMMEDIATE transactions queue on the writer lock) and,
unchanged, on PostgreSQL (READ COMMITTED, row locks) when ``DATABASE_URL`` is set — see
``voting.locks`` for why a vote racing the close is either counted or refused on both.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from voting.models import Vote, VoteRevision
from voting.services import motions

from .conftest import build_room, client_for, race

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db(transaction=True)]
CHOICES = ("yes", "no", "abstain")


def post_vote(user, motion_id: int, choice: str, key: str | None = None):
    def call():
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        response = client_for(user).post(f"/api/v1/motions/{motion_id}/votes/", {"choice": choice}, format="json",
                                         **headers)
        return response.status_code, response.json(), response.has_header("Idempotent-Replayed")
    return call


def post_close(user, motion_id: int):
    def call():
        response = client_for(user).post(f"/api/v1/motions/{motion_id}/close/")
        return response.status_code, response.json()
    return call


@pytest.mark.parametrize("method", ["named", "secret"])
def test_it_counts_all_of_100_members_voting_at_once(method):
    room = build_room(members=99)  # with the chair, 100 members
    motion = room.motion(method=method)
    choices = [CHOICES[i % 3] for i in range(100)]
    started = time.monotonic()
    answers = race([post_vote(user, motion.pk, choice) for user, choice in zip(room.voters, choices, strict=True)])
    elapsed = time.monotonic() - started
    assert [status for status, _body, _replayed in answers] == [201] * 100, answers
    assert len({body["receipt"] for _s, body, _r in answers}) == 100
    assert Vote.objects.filter(motion=motion).count() == 100
    result = motions.motion_close(actor=room.chair, motion_id=motion.pk).result
    expected = Counter(choices)
    assert (result["yes"], result["no"], result["abstain"], result["present"]) == \
        (expected["yes"], expected["no"], expected["abstain"], 100)
    print(f"100 concurrent {method} votes in {elapsed:.2f}s")


@pytest.mark.parametrize("votes_may_change", [False, True])
def test_it_keeps_exactly_one_vote_per_member_retrying_and_contradicting_at_once(votes_may_change):
    room = build_room(members=29, votes_may_change=votes_may_change)
    motion = room.motion()
    calls, owners = [], []
    for user in room.voters:
        for choice, key in (("yes", f"{user.username}-1"), ("yes", f"{user.username}-1"), ("no", f"{user.username}-2")):
            calls.append(post_vote(user, motion.pk, choice, key))
            owners.append((user.username, choice, key))
    answers = race(calls)
    votes = {v.voter.username: v for v in Vote.objects.filter(motion=motion).select_related("voter")}
    assert sorted(votes) == sorted(u.username for u in room.voters)
    for user in room.voters:
        mine = [(owner, answer) for owner, answer in zip(owners, answers, strict=True) if owner[0] == user.username]
        statuses = Counter(status for _owner, (status, _body, _replayed) in mine)
        assert set(statuses) <= {201, 409}
        same_key = [answer for (_u, _c, key), answer in mine if key.endswith("-1")]
        # The two copies of one request get one answer: both the vote (one of them replayed), or both
        # refused. One interleaving escapes when votes may change: copy 2 is refused because the
        # contradicting vote got in first, while copy 1, still running, then changes that vote back
        # (the key is recorded only when its effect is, so copy 2 could not wait for copy 1).
        if not votes_may_change:
            assert same_key[0][0] == same_key[1][0], same_key
        if same_key[0][0] == same_key[1][0] == 201:
            first, replay = sorted(same_key, key=lambda answer: answer[2])
            assert (first[2], replay[2]) == (False, True)
            assert replay[1] == {**first[1], "receipt": None}  # the receipt is shown once
        for (_u, choice, _key), (status, body, _replayed) in mine:
            if status == 409:
                assert body["code"] == "already_voted"
        accepted = [choice for (_u, choice, _k), (status, _b, replayed) in mine if status == 201 and not replayed]
        assert accepted, "every member's vote was acknowledged at least once"
        # The stored choice is the last acknowledged one; a change keeps the earlier one as history.
        assert votes[user.username].choice in accepted
        revisions = VoteRevision.objects.filter(vote=votes[user.username]).count()
        assert revisions == len(accepted) - 1 and (votes_may_change or revisions == 0)


@pytest.mark.parametrize("method", ["named", "secret"])
def test_it_gives_50_racing_closes_one_frozen_result_with_every_acknowledged_vote(method):
    room = build_room(members=49)  # 50 voters
    motion = room.motion(method=method)
    first_votes_in = threading.Event()
    closers = [post_close(room.chair if i % 2 else room.secretary, motion.pk) for i in range(50)]
    voters = [post_vote(user, motion.pk, CHOICES[i % 3]) for i, user in enumerate(room.voters)]
    calls = [val for pair in zip(voters, closers, strict=True) for val in pair]  # interleaved
    # The closes, and the last 30 votes with them, wait until 20 votes are in: then they race.
    late = {i for i in range(len(calls)) if i % 2 or i >= 40}

    def release_closes():
        deadline = time.monotonic() + 60
        while Vote.objects.filter(motion=motion).count() < 20 and time.monotonic() < deadline:
            time.sleep(0.005)
        first_votes_in.set()

    watcher = threading.Thread(target=release_closes)
    watcher.start()
    answers = race(calls, start=first_votes_in, late=late)
    watcher.join()
    vote_answers, close_answers = answers[0::2], answers[1::2]
    assert {status for status, _body in close_answers} == {200}
    frozen = close_answers[0][1]
    assert all(body == frozen for _status, body in close_answers), "every close answers the same result"
    motion.refresh_from_db()
    assert motion.status == "closed" and {"motion": motion.pk, **motions.public_result(motion.result)} == frozen
    acknowledged = {u.username: CHOICES[i % 3] for i, (u, (s, _b, _r)) in enumerate(
        zip(room.voters, vote_answers, strict=True)) if s == 201}
    refused = [u.username for u, (s, body, _r) in zip(room.voters, vote_answers, strict=True)
               if s == 409 and body["code"] == "motion_not_open"]
    assert len(acknowledged) + len(refused) == 50, vote_answers
    assert len(acknowledged) >= 20
    counted = Counter(acknowledged.values())
    assert (frozen["yes"], frozen["no"], frozen["abstain"]) == (counted["yes"], counted["no"], counted["abstain"])
    taking_part = frozen["roll_call"] if method == "named" else frozen["participation"]
    assert sorted(row["username"] for row in taking_part) == sorted(acknowledged)
    if method == "named":
        assert {row["username"]: row["choice"] for row in taking_part} == acknowledged
    assert Vote.objects.filter(motion=motion).count() == len(acknowledged)
    print(f"{method}: {len(acknowledged)} votes counted, {len(refused)} refused after the close")
