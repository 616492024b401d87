"""Answering: answers change until the deadline, every replaced answer is kept as a revision, an
identical answer changes nothing, and the audit log records each change."""

from __future__ import annotations

import datetime as dt

import pytest

from ecabinet.errors import Forbidden, InvalidState, NotFound
from voting.models import BallotAnswer, BallotAnswerRevision
from voting.services import ballot_answers


@pytest.fixture
def issued(bcast):
    bcast.issue()
    return bcast


def test_it_keeps_every_replaced_answer_as_a_revision(issued, clock):
    bcast = issued
    bcast.answer(bcast.member, (0, "agree", ""))
    first_at = clock.now
    clock.move(hours=1)
    bcast.answer(bcast.member, (0, "other", "Đề nghị bổ sung Điều 4."))
    clock.move(hours=1)
    bcast.answer(bcast.member, (0, "disagree", "Không tán thành phương án 2."))
    answer = BallotAnswer.objects.get(question=bcast.questions[0], member=bcast.member)
    assert (answer.choice, answer.opinion) == ("disagree", "Không tán thành phương án 2.")
    assert answer.answered_at == first_at and answer.changed_at == clock.now
    revisions = list(answer.revisions.values_list("choice", "opinion", "replaced_at"))
    assert revisions == [("agree", "", first_at + dt.timedelta(hours=1)),
                         ("other", "Đề nghị bổ sung Điều 4.", clock.now)]


def test_it_stores_nothing_new_for_an_identical_answer(issued):
    bcast = issued
    bcast.answer(bcast.member, (0, "other", "Ý kiến"))
    from ecabinet.models import AuditEntry

    audit = AuditEntry.objects.count()
    bcast.answer(bcast.member, (0, "other", "  Ý kiến  "))  # the same, once trimmed
    assert BallotAnswerRevision.objects.count() == 0
    assert AuditEntry.objects.count() == audit
    assert BallotAnswer.objects.get(member=bcast.member).changed_at is None


def test_it_audits_each_answer_without_the_text_of_the_opinion(issued):
    bcast = issued
    bcast.answer(bcast.member, (0, "agree", ""), (1, "other", "Nội dung riêng"))
    bcast.answer(bcast.member, (1, "agree", ""))
    from ecabinet.models import AuditEntry

    entries = list(AuditEntry.objects.filter(action="ballot.answered").order_by("seq"))
    assert [e.actor_id for e in entries] == [bcast.member.pk, bcast.member.pk]
    assert [(a["position"], a["choice"], a["what"]) for a in entries[0].data["answers"]] == [
        (1, "agree", "created"), (2, "other", "created")]
    assert [(a["position"], a["what"]) for a in entries[1].data["answers"]] == [(2, "changed")]
    assert "Nội dung riêng" not in str(entries[0].data)


def test_it_lets_only_recipients_answer(issued):
    bcast = issued
    one = [{"question": bcast.questions[0].pk, "choice": "agree"}]
    with pytest.raises(Forbidden):
        ballot_answers.ballot_answer(actor=bcast.secretary, ballot=bcast.ballot, answers=one)
    for user in (bcast.nonrecipient, bcast.outsider, bcast.admin, bcast.archivist):
        with pytest.raises(NotFound):
            ballot_answers.ballot_answer(actor=user, ballot=bcast.ballot, answers=one)
    assert not BallotAnswer.objects.exists()


def test_it_refuses_answers_to_a_draft_and_to_a_closed_ballot(bcast, clock):
    one = [{"question": bcast.questions[0].pk, "choice": "agree"}]
    with pytest.raises(NotFound):  # recipients do not see a draft at all
        ballot_answers.ballot_answer(actor=bcast.member, ballot=bcast.ballot, answers=one)
    bcast.issue()
    clock.to(bcast.ballot.deadline)
    with pytest.raises(InvalidState) as refused:
        ballot_answers.ballot_answer(actor=bcast.member, ballot=bcast.ballot, answers=one)
    assert refused.value.code == "ballot_closed"


def test_it_shows_my_answers_and_their_history_in_the_api(issued):
    bcast = issued
    bcast.answer(bcast.member, (0, "other", "Lần 1"))
    bcast.answer(bcast.member, (0, "agree", ""))
    data = bcast.api(bcast.member).get(f"/api/v1/ballots/{bcast.ballot.pk}/").json()
    assert data["can_answer"] is True and data["my_progress"] == {"answered": 1, "questions": 2}
    assert data["recipients"] is None  # who else was asked, and how far they got, is the secretariat's
    assert data["recipient_count"] == 3
    (mine,) = data["my_answers"]
    assert (mine["choice"], mine["history"][0]["choice"], mine["history"][0]["opinion"]) == ("agree", "other", "Lần 1")
    # Others never see each other's answers before the close.
    other = bcast.api(bcast.member2).get(f"/api/v1/ballots/{bcast.ballot.pk}/").json()
    assert other["my_answers"] == []
    secretariat = bcast.api(bcast.secretary).get(f"/api/v1/ballots/{bcast.ballot.pk}/").json()
    assert secretariat["my_answers"] == [] and secretariat["can_answer"] is False
    assert {r["username"]: r["complete"] for r in secretariat["recipients"]} == {
        "pm": False, "member01": False, "member02": False}
