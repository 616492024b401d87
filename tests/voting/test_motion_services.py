"""``voting.services.motions``: putting, opening, voting, closing, and the session's voting rules."""

from __future__ import annotations

import pytest

from ecabinet.errors import Conflict, Forbidden, InvalidState, ValidationFailed
from meetings import services
from meetings.models import Event, Participant
from voting import receipts
from voting.models import Motion, Vote, VoteRevision
from voting.services import motions
from voting.services.motions import AlreadyVoted, MotionNotOpen, NotEligible

from .conftest import build_room


def test_it_puts_a_draft_motion_under_the_sessions_rule(room):
    motion = room.motion(open_it=False)
    assert (motion.status, motion.rule, motion.method) == ("draft", "vn-government", "named")
    assert Event.objects.filter(meeting=room.meeting, kind="motion.created").exists()


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"title": "  "}, "title_required"),
    ({"title": "Nghị quyết", "method": "show-of-hands"}, "invalid_method"),
    ({"title": "Nghị quyết", "rule": "unanimity"}, "invalid_rule"),
])
def test_it_refuses_a_malformed_motion(room, kwargs, code):
    with pytest.raises(ValidationFailed) as refused:
        motions.motion_create(actor=room.secretary, item_id=room.item.pk, **kwargs)
    assert refused.value.code == code
    assert not Motion.objects.exists()


def test_it_lets_only_the_chair_and_the_secretariat_put_and_run_motions(room):
    with pytest.raises(Forbidden):
        motions.motion_create(actor=room.members[0], item_id=room.item.pk, title="Nghị quyết")
    motion = room.motion(open_it=False)
    with pytest.raises(Forbidden):
        motions.motion_open(actor=room.members[0], motion_id=motion.pk)
    motions.motion_open(actor=room.secretary, motion_id=motion.pk)
    with pytest.raises(Forbidden):
        motions.motion_close(actor=room.members[0], motion_id=motion.pk)


def test_it_opens_a_motion_once_and_freezes_the_sessions_rules_on_it(db):
    room = build_room(members=2, substitutes_may_vote=True, votes_may_change=True)
    motion = room.motion()
    assert (motion.status, motion.substitutes_may_vote, motion.votes_may_change) == ("open", True, True)
    with pytest.raises(InvalidState) as again:
        motions.motion_open(actor=room.chair, motion_id=motion.pk)
    assert again.value.code == "motion_not_draft"
    with pytest.raises(Conflict) as refused:
        motions.meeting_set_voting_rules(actor=room.chair, meeting=room.meeting, rule="two-thirds",
                                         substitutes_may_vote=False, votes_may_change=False)
    assert refused.value.code == "motion_open"
    motions.motion_close(actor=room.chair, motion_id=motion.pk)
    motions.meeting_set_voting_rules(actor=room.chair, meeting=room.meeting, rule="two-thirds",
                                     substitutes_may_vote=False, votes_may_change=False)
    motion.refresh_from_db()
    assert (motion.substitutes_may_vote, motion.votes_may_change) == (True, True)
    assert room.motion().rule == "two-thirds"


def test_it_sets_the_voting_rules_only_by_the_chair(room):
    for person in (room.secretary, room.members[0]):
        with pytest.raises(Forbidden):
            motions.meeting_set_voting_rules(actor=person, meeting=room.meeting, rule="simple-majority",
                                             substitutes_may_vote=True, votes_may_change=True)
    room.meeting.refresh_from_db()
    assert room.meeting.vote_rule == "vn-government"


def test_it_opens_and_puts_motions_only_during_the_session(room):
    draft = room.motion(open_it=False)
    services.meeting_adjourn(actor=room.secretary, meeting=room.meeting)
    with pytest.raises(InvalidState):
        motions.motion_open(actor=room.chair, motion_id=draft.pk)
    with pytest.raises(InvalidState):
        motions.motion_create(actor=room.chair, item_id=room.item.pk, title="Quá muộn")


def test_it_counts_a_vote_once_and_gives_a_receipt(room):
    motion = room.motion()
    vote, token = motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="yes")
    assert receipts.is_well_formed(token)
    assert vote.receipt_hash == receipts.receipt_hash(motion.pk, token)
    for choice in ("yes", "no"):
        with pytest.raises(AlreadyVoted):
            motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice=choice)
    assert Vote.objects.get(motion=motion).choice == "yes"


def test_it_changes_a_named_vote_when_the_rules_allow_and_keeps_the_history(db):
    room = build_room(members=2, votes_may_change=True)
    motion = room.motion()
    first, _token = motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="yes")
    with pytest.raises(AlreadyVoted):  # the same choice again is not a change
        motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="yes")
    changed, new_token = motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="no")
    assert changed.pk == first.pk and changed.choice == "no" and changed.changed_at is not None
    assert changed.receipt_hash == receipts.receipt_hash(motion.pk, new_token) != first.receipt_hash
    assert list(VoteRevision.objects.values_list("choice", flat=True)) == ["yes"]
    secret = room.motion(method="secret")
    motions.vote_cast(actor=room.members[0], motion_id=secret.pk, choice="yes")
    with pytest.raises(AlreadyVoted):
        motions.vote_cast(actor=room.members[0], motion_id=secret.pk, choice="no")


def test_it_refuses_votes_from_those_who_do_not_vote(db):
    room = build_room(members=3, absent=1)
    motion = room.motion()
    with pytest.raises(NotEligible) as absent:
        motions.vote_cast(actor=room.members[-1], motion_id=motion.pk, choice="yes")
    assert absent.value.code == "not_present"
    assert "ask the secretariat" in str(absent.value)
    with pytest.raises(NotEligible) as secretary:
        motions.vote_cast(actor=room.secretary, motion_id=motion.pk, choice="yes")
    assert secretary.value.code == "not_eligible"
    with pytest.raises(ValidationFailed):
        motions.vote_cast(actor=room.chair, motion_id=motion.pk, choice="maybe")
    assert not Vote.objects.exists()


def test_it_closes_once_with_a_frozen_result_that_nothing_changes(db):
    room = build_room(members=4, votes_may_change=True)
    motion = room.motion()
    motions.vote_cast(actor=room.chair, motion_id=motion.pk, choice="yes")
    motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="yes")
    motions.vote_cast(actor=room.members[1], motion_id=motion.pk, choice="no")
    closed = motions.motion_close(actor=room.secretary, motion_id=motion.pk)
    frozen = closed.result
    assert (frozen["yes"], frozen["no"], frozen["eligible"], frozen["present"]) == (2, 1, 5, 5)
    assert frozen["outcome"] == "not_enough_yes" and frozen["citation"].startswith("Luật Tổ chức Chính phủ")
    assert [row["username"] for row in frozen["roll_call"]] == sorted(u.username for u in room.voters[:3])
    # Everything that could touch it afterwards is refused or returns it unchanged.
    assert motions.motion_close(actor=room.chair, motion_id=motion.pk).result == frozen
    for person, choice in ((room.members[1], "yes"), (room.members[2], "yes")):
        with pytest.raises(MotionNotOpen):
            motions.vote_cast(actor=person, motion_id=motion.pk, choice=choice)
    with pytest.raises(InvalidState):
        motions.motion_open(actor=room.chair, motion_id=motion.pk)
    motions.meeting_set_voting_rules(actor=room.chair, meeting=room.meeting, rule="simple-majority",
                                     substitutes_may_vote=True, votes_may_change=True)
    services.attendance_set(actor=room.secretary, meeting=room.meeting, username=room.members[0].username,
                            status="absent", reason="Ốm")
    services.meeting_adjourn(actor=room.secretary, meeting=room.meeting)
    assert motions.motion_close(actor=room.chair, motion_id=motion.pk).result == frozen
    motion.refresh_from_db()
    assert motion.result == frozen and motion.status == "closed"


def test_it_keeps_counting_a_vote_whose_voter_left_or_was_removed(db):
    room = build_room(members=3)
    motion = room.motion()
    motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="yes")
    motions.vote_cast(actor=room.members[1], motion_id=motion.pk, choice="yes")
    services.attendance_set(actor=room.secretary, meeting=room.meeting, username=room.members[0].username,
                            status="absent", reason="Rời phiên họp")
    services.participant_remove(actor=room.secretary, meeting=room.meeting, username=room.members[1].username)
    result = motions.motion_close(actor=room.chair, motion_id=motion.pk).result
    assert (result["yes"], result["eligible"], result["present"]) == (2, 4, 4)


def test_it_lets_the_chairs_vote_decide_a_tie_in_a_named_vote_only(db):
    room = build_room(members=3)  # 4 members: 2 yes (with the chair) and 2 no
    for method, outcome in (("named", "adopted_by_chairs_casting_vote"), ("secret", "not_enough_yes")):
        motion = room.motion(method=method)
        for person, choice in zip(room.voters, ("yes", "yes", "no", "no"), strict=True):
            motions.vote_cast(actor=person, motion_id=motion.pk, choice=choice)
        assert motions.motion_close(actor=room.chair, motion_id=motion.pk).result["outcome"] == outcome


def test_it_lets_an_approved_substitute_vote_for_the_absent_member_only_when_allowed(db):
    room = build_room(members=2, absent=1)
    absent = room.members[-1]
    deputy = room.members[0].__class__.objects.create_user(username="deputy", full_name="Thứ trưởng",
                                                           email="d@example.gov.vn", password="x")
    services.participant_add(actor=room.secretary, meeting=room.meeting, username="deputy", role="substitute",
                             substitute_for=absent.username)
    services.substitute_approve(actor=room.chair, meeting=room.meeting, username="deputy")
    services.attendance_set(actor=room.secretary, meeting=room.meeting, username="deputy", status="present")
    closed_rules = room.motion()
    with pytest.raises(NotEligible):
        motions.vote_cast(actor=deputy, motion_id=closed_rules.pk, choice="yes")
    motions.motion_close(actor=room.chair, motion_id=closed_rules.pk)
    motions.meeting_set_voting_rules(actor=room.chair, meeting=room.meeting, rule="vn-government",
                                     substitutes_may_vote=True, votes_may_change=False)
    motion = room.motion()
    vote, _token = motions.vote_cast(actor=deputy, motion_id=motion.pk, choice="yes")
    assert vote.on_behalf_of_id == absent.pk
    services.attendance_set(actor=room.secretary, meeting=room.meeting, username=absent.username,
                            status="present")
    with pytest.raises(AlreadyVoted) as twice:
        motions.vote_cast(actor=absent, motion_id=motion.pk, choice="no")
    assert "on your behalf" in str(twice.value)
    assert Participant.objects.get(user=deputy).role == "substitute"
    result = motions.motion_close(actor=room.chair, motion_id=motion.pk).result
    assert (result["yes"], result["present"], result["eligible"]) == (1, 3, 3)
    assert result["roll_call"][0]["on_behalf_of"] == absent.username
