"""``manage.py ballot_reminders``: the 24-hour reminder, the close at the deadline, the overdue
notice and the secretariat's "summary ready" — each once, however often the command runs — and the
secretariat's early close."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from ecabinet.models import AuditEntry, Notification
from voting.models import Ballot
from voting.services import ballot_closing

from ..factories import UserFactory


def run() -> str:
    out = StringIO()
    call_command("ballot_reminders", stdout=out)
    return out.getvalue()


def kinds() -> list[tuple[str, str]]:
    return sorted(Notification.objects.filter(kind__startswith="ballot.").exclude(kind="ballot.issued")
                  .values_list("kind", "user__username"))


@pytest.fixture
def issued(bcast):
    bcast.issue()
    return bcast


def test_it_reminds_once_within_a_day_of_the_deadline_only_those_who_have_not_answered_everything(issued, clock):
    bcast = issued
    bcast.answer(bcast.pm, (0, "agree", ""), (1, "agree", ""))
    bcast.answer(bcast.member, (0, "agree", ""))  # one of two: still reminded
    clock.to(bcast.ballot.deadline - dt.timedelta(hours=24, minutes=1))
    assert run() == "" and kinds() == []
    clock.move(minutes=2)
    assert "reminder to 2 member(s)" in run()
    assert kinds() == [("ballot.reminder", "member01"), ("ballot.reminder", "member02")]
    assert Ballot.objects.get(pk=bcast.ballot.pk).reminded_before_at == clock.now
    clock.move(hours=3)
    assert run() == ""
    assert len(kinds()) == 2
    assert AuditEntry.objects.filter(action="ballot.reminder").count() == 1


def test_it_sends_no_separate_reminder_for_a_ballot_issued_within_a_day_of_its_deadline(bcast, clock):
    from voting.services import ballots as services

    services.ballot_update(actor=bcast.secretary, ballot=bcast.ballot, title=bcast.ballot.title,
                           deadline=clock.now + dt.timedelta(hours=6), silence_is_consent=False)
    bcast.issue()
    clock.move(hours=1)
    assert run() == "" and kinds() == []


def test_it_closes_at_the_deadline_and_sends_the_overdue_notices_once(issued, clock):
    bcast = issued
    bcast.answer(bcast.pm, (0, "agree", ""), (1, "agree", ""))
    UserFactory(username="secretary2", full_name="Thư Ký Hai", is_secretariat=True)
    UserFactory(username="secretary3", full_name="Thư Ký Ba", is_secretariat=True, is_active=False)
    bcast.member2.is_active = False  # left office: no notice
    bcast.member2.save()
    clock.to(bcast.ballot.deadline + dt.timedelta(minutes=9))
    output = run()
    assert f"ballot #{bcast.ballot.pk}: closed at its deadline" in output
    assert "overdue notice to 1 member(s)" in output
    ballot = Ballot.objects.get(pk=bcast.ballot.pk)
    assert (ballot.status, ballot.closed_at, ballot.reminded_overdue_at) == ("closed", ballot.deadline, clock.now)
    assert kinds() == [("ballot.overdue", "member01"), ("ballot.summary_ready", "secretary"),
                       ("ballot.summary_ready", "secretary2")]
    overdue = Notification.objects.get(kind="ballot.overdue")
    assert "counted as agreement" in overdue.body  # the cast's ballot: silence is consent
    entry = AuditEntry.objects.get(action="ballot.closed")
    assert entry.actor is None and entry.data["by"] == "deadline"
    assert entry.data["incomplete"] == ["member01", "member02"]
    clock.move(minutes=10)
    assert run() == ""
    assert len(kinds()) == 3


def test_it_does_not_remind_after_the_deadline_when_the_scheduler_was_down(issued, clock):
    bcast = issued
    clock.to(bcast.ballot.deadline + dt.timedelta(days=1))
    run()
    assert {k for k, _u in kinds()} == {"ballot.overdue", "ballot.summary_ready"}
    assert Ballot.objects.get(pk=bcast.ballot.pk).reminded_before_at is None


def test_it_lets_the_secretariat_close_early_only_once_everyone_has_answered(issued, clock):
    bcast = issued
    url = f"/api/v1/ballots/{bcast.ballot.pk}/close/"
    client = bcast.api(bcast.secretary)
    for user in bcast.recipients[:2]:
        bcast.answer(user, (0, "agree", ""), (1, "agree", ""))
    response = client.post(url)
    assert (response.status_code, response.json()["code"]) == (409, "answers_pending")
    assert "1 member" in response.json()["detail"]
    bcast.answer(bcast.member2, (0, "disagree", "Không đồng ý."), (1, "agree", ""))
    clock.move(hours=1)
    response = client.post(url)
    assert response.status_code == 200 and response.json()["status"] == "closed"
    ballot = Ballot.objects.get(pk=bcast.ballot.pk)
    assert ballot.closed_at == clock.now and ballot.closed_at < ballot.deadline
    assert AuditEntry.objects.get(action="ballot.closed").data["by"] == "secretariat"
    assert kinds() == []  # the secretary who closed it needs no notice; nobody is overdue
    run()
    assert kinds() == [] and Ballot.objects.get(pk=ballot.pk).reminded_overdue_at is not None
    response = bcast.api(bcast.member).post(f"/api/v1/ballots/{ballot.pk}/answers/",
                                            {"question": bcast.questions[0].pk, "choice": "agree"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "ballot_closed")


def test_it_records_the_close_at_the_deadline_when_the_secretariat_closes_a_due_ballot(issued, clock):
    bcast = issued
    clock.to(bcast.ballot.deadline + dt.timedelta(hours=2))
    ballot = ballot_closing.ballot_close(actor=bcast.secretary, ballot=bcast.ballot)
    assert ballot.status == "closed" and ballot.closed_at == ballot.deadline
    run()  # the overdue notices still go out, once
    assert sorted(u for k, u in kinds() if k == "ballot.overdue") == ["member01", "member02", "pm"]
