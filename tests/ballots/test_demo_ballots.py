"""``seed_demo`` loads one open written ballot and one closed one with answers, through the
services, once; and installations seeded before ballots existed get them on the next run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ecabinet.models import User
from followup.models import Task
from voting.ballot_summary import summarize
from voting.models import Ballot, BallotAnswer, BallotAnswerRevision
from voting.services.ballots import current_time


def seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_seeds_an_open_and_a_closed_ballot_once_and_adds_them_to_an_older_demo():
    output = seed_demo()
    assert "2 written ballots" in output
    members = set(User.objects.filter(is_member=True).values_list("username", flat=True))
    assert members == {"pm", *(f"member{n:02d}" for n in range(1, 27))}

    open_ballot = Ballot.objects.get(status="open")
    assert open_ballot.questions.count() == 2 and open_ballot.documents.count() >= 1
    assert open_ballot.recipients.count() == 27 and not open_ballot.silence_is_consent
    days = (open_ballot.deadline - timezone.now()).days
    assert 2 <= days <= 5
    assert BallotAnswerRevision.objects.filter(answer__question__ballot=open_ballot).count() == 1

    closed = Ballot.objects.get(status="closed")
    assert closed.silence_is_consent and closed.closed_at == closed.deadline < timezone.now()
    summary = summarize(closed, current_time())
    assert summary.final and summary.fully_answered == 23 and len(summary.not_answered) == 4
    first = summary.questions[0]
    assert (first.disagree, first.other, first.not_answered, first.agree_with_silence) == (1, 1, 4, 25)
    for document in (*open_ballot.documents.all(), *closed.documents.all()):
        assert document.pages >= 1 and document.file.storage.exists(document.file.name)

    assert "nothing changed" in seed_demo()
    assert Ballot.objects.count() == 2

    # An installation seeded before ballots existed: no ballots, no members flagged (and no tasks,
    # which came later still).
    Task.objects.all().delete()
    BallotAnswerRevision.objects.all().delete()
    BallotAnswer.objects.all().delete()
    Ballot.objects.all().delete()
    User.objects.filter(is_member=True).update(is_member=False)
    assert "0 sessions, 2 written ballots" in seed_demo()
    assert User.objects.filter(is_member=True).count() == 27
    assert Ballot.objects.filter(status="open").count() == 1
