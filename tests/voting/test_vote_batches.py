"""``voting.services.votes.votes_cast``: many ballots in one transaction (a group commit), each
answered as it would be alone, with the work of the batch independent of its size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecabinet import audit, realtime
from ecabinet.errors import DomainError
from ecabinet.models import AuditEntry
from meetings import services
from meetings.models import Event, Participant
from voting.models import Vote
from voting.services import motions, votes

from ..factories import UserFactory
from .conftest import build_room


def outcome_of(outcome) -> tuple:
    if isinstance(outcome, DomainError):
        return type(outcome).__name__, outcome.code, str(outcome.message)
    return "Cast", outcome.vote.choice, outcome.on_behalf_of and outcome.on_behalf_of[1:]  # without the room prefix


def test_a_batch_counts_every_vote_once_with_one_tally_and_one_marker(db, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    room = build_room(members=39)
    motion = room.motion()
    rung = []
    monkeypatch.setattr(realtime, "_send", lambda groups, message: rung.append((groups, message)))
    before = Event.objects.filter(meeting=room.meeting).count()
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = votes.votes_cast([votes.Ballot(u, motion.pk, "yes" if i % 3 else "no")
                                     for i, u in enumerate(room.voters)])
    assert all(isinstance(o, votes.Cast) for o in outcomes)
    assert len({o.token for o in outcomes}) == 40
    assert Vote.objects.filter(motion=motion).count() == 40
    written = list(Event.objects.filter(meeting=room.meeting).order_by("seq")[before:])
    assert [e.kind for e in written] == ["vote.mine"] * 40 + ["vote.tally"]
    assert [e.seq for e in written] == list(range(written[0].seq, written[0].seq + 41))
    assert written[-1].data["voted"] == 40 and written[-1].data["no"] == 14
    markers = [m for _g, m in rung if "visible" in m]
    assert len(markers) == 1 and (markers[0]["first"], markers[0]["seq"]) == (written[0].seq, written[-1].seq)
    # Two doorbells for the lot: the tally to all, then the marker carrying the 40 private texts,
    # each visible to its voter alone.
    assert [groups for groups, _m in rung] == [[f"m{room.meeting.pk}.all"]] * 2
    assert [seq for seq, _text, _key in markers[0]["texts"]] == [e.seq for e in written[:40]]
    assert {f"u{u.pk}": [e.seq] for u, e in zip(room.voters, written[:40], strict=True)} == {
        token: seqs for token, seqs in markers[0]["visible"].items() if token != "all"}
    assert AuditEntry.objects.filter(action="vote.cast").count() == 40
    problem, _seq, _hash = audit.verify_chain()
    assert problem is None


def _queries_for(size: int, prefix: str) -> int:
    room = build_room(members=size - 1, prefix=prefix)
    motion = room.motion()
    with CaptureQueriesContext(connection) as captured:
        outcomes = votes.votes_cast([votes.Ballot(u, motion.pk, "yes") for u in room.voters])
    assert all(isinstance(o, votes.Cast) for o in outcomes)
    return len(captured)


def test_the_work_of_a_batch_does_not_grow_with_its_size(db):
    assert _queries_for(10, "a") == _queries_for(60, "b")


def _mixed_room(prefix: str):
    room = build_room(members=6, absent=1, prefix=prefix, substitutes_may_vote=True, votes_may_change=True)
    absent = room.members[-1]
    deputy = UserFactory(username=f"{prefix}-deputy", full_name="Thứ trưởng")
    observer = UserFactory(username=f"{prefix}-guest", full_name="Khách mời")
    outsider = UserFactory(username=f"{prefix}-outsider", full_name="Người ngoài")
    services.participant_add(actor=room.secretary, meeting=room.meeting, username=deputy.username, role="substitute",
                             substitute_for=absent.username)
    services.substitute_approve(actor=room.chair, meeting=room.meeting, username=deputy.username)
    services.attendance_set(actor=room.secretary, meeting=room.meeting, username=deputy.username, status="present")
    services.participant_add(actor=room.secretary, meeting=room.meeting, username=observer.username,
                             role=Participant.Role.OBSERVER)
    closed = room.motion()
    motions.motion_close(actor=room.chair, motion_id=closed.pk)
    motion = room.motion()
    m = room.members
    ballots = [
        (room.chair, motion.pk, "yes"), (m[0], motion.pk, "no"), (m[0], motion.pk, "abstain"),
        (m[1], motion.pk, "maybe"), (observer, motion.pk, "yes"), (room.secretary, motion.pk, "yes"),
        (outsider, motion.pk, "yes"), (deputy, motion.pk, "yes"), (absent, motion.pk, "yes"),
        (m[2], closed.pk, "yes"), (m[3], 10**9, "yes"), (deputy, motion.pk, "no"), (m[4], motion.pk, "yes"),
        (m[4], motion.pk, "yes"),
    ]
    return room, motion, [votes.Ballot(*b) for b in ballots]


def _stored(motion) -> set:
    return {(v.voter.username[1:], v.choice, v.on_behalf_of.username[1:] if v.on_behalf_of_id else None)
            for v in Vote.objects.filter(motion=motion).select_related("voter", "on_behalf_of")}


def test_each_ballot_of_a_mixed_batch_gets_the_answer_it_would_get_alone(db):
    _room, batch_motion, batch = _mixed_room("a")
    _room, alone_motion, alone = _mixed_room("b")
    together = [outcome_of(o) for o in votes.votes_cast(batch)]
    one_by_one = []
    for ballot in alone:
        try:
            vote, _token = motions.vote_cast(actor=ballot.actor, motion_id=ballot.motion_id, choice=ballot.choice)
        except DomainError as refusal:
            one_by_one.append(outcome_of(refusal))
        else:
            one_by_one.append(outcome_of(votes.Cast(vote, "", vote.on_behalf_of.username if vote.on_behalf_of_id
                                                    else None)))
    assert together == one_by_one
    codes = [o[1] if o[0] != "Cast" else "cast" for o in together]
    assert codes == ["cast", "cast", "cast", "invalid_choice", "not_eligible", "not_eligible", "not_found", "cast",
                     "not_present", "motion_not_open", "not_found", "cast", "cast", "already_voted"]
    assert _stored(batch_motion) == _stored(alone_motion)


@pytest.mark.parametrize("method", ["named", "secret"])
def test_a_batch_of_secret_votes_files_every_choice_once(db, method):
    room = build_room(members=29)
    motion = room.motion(method=method)
    choices = ["yes", "no", "abstain"] * 10
    outcomes = votes.votes_cast([votes.Ballot(u, motion.pk, c) for u, c in zip(room.voters, choices, strict=True)])
    result = motions.motion_close(actor=room.chair, motion_id=motion.pk).result
    assert (result["yes"], result["no"], result["abstain"]) == (10, 10, 10)
    if method == "secret":
        from voting import receipts
        filed = {r["receipt_hash"]: r["choice"] for r in result["receipts"]}
        assert filed == {receipts.receipt_hash(motion.pk, o.token): c for o, c in zip(outcomes, choices, strict=True)}
