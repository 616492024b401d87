"""Closing written ballots, and the scheduler's round of reminders (``manage.py ballot_reminders``).

A ballot closes by itself at its deadline: ``services.ballot_answers`` refuses answers from then on
whatever the recorded status. ``ballots_run_schedule`` records what the clock already decided and
sends the notices that go with it:

1. open ballots whose deadline has passed become ``closed`` (``closed_at`` = the deadline, audit
   entry, the secretariat told that the summary is ready);
2. closed ballots whose "overdue" notice has not gone out send it, once, to the recipients who did
   not answer every question;
3. open ballots within ``REMIND_BEFORE`` of their deadline send one reminder to the recipients who
   have not answered every question — unless the ballot was issued inside that window, when the
   notice of issue, hours earlier, already said when the ballot closes.

"Once" is a conditional update of a stamp (``reminded_before_at``, ``reminded_overdue_at``, the
status): two runs, or two schedulers racing, send nothing twice. Each ballot is handled in its own
transaction, so one failure does not hold back the others, and the notices commit with the stamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from ecabinet import audit
from ecabinet.errors import InvalidState

from .. import ballot_notices
from ..models import Ballot, BallotAnswer
from . import ballots as core

__all__ = ["REMIND_BEFORE", "ScheduleReport", "ballot_close", "ballots_run_schedule", "incomplete_recipients",
           "record_closed"]

B = Ballot.Status
REMIND_BEFORE = timedelta(hours=24)


def record_closed(*, actor, ballot: Ballot, closed_at: datetime, by: str) -> bool:
    """open → closed, once: returns False if another caller closed it first. Runs in the caller's
    transaction; tells the secretariat (but the actor) that the summary is ready."""
    if not Ballot.objects.filter(pk=ballot.pk, status=B.OPEN).update(status=B.CLOSED, closed_at=closed_at):
        return False
    ballot.refresh_from_db()
    pending = incomplete_recipients(ballot)
    audit.record(actor, "ballot.closed", ballot, data={
        "by": by, "closed_at": closed_at.isoformat(), "recipients": ballot.recipients.count(),
        "incomplete": [u.username for u in pending]})
    ballot_notices.notify_summary_ready(ballot, exclude=actor)
    return True


def incomplete_recipients(ballot: Ballot) -> list:
    """Recipients who have not answered every question, in protocol order."""
    questions = ballot.questions.count()
    answered: dict[int, int] = {}
    for member_id in BallotAnswer.objects.filter(question__ballot=ballot).values_list("member_id", flat=True):
        answered[member_id] = answered.get(member_id, 0) + 1
    users = core.User.objects.filter(pk__in=ballot.recipients.values("user_id")).order_by("id")
    return [u for u in users if answered.get(u.pk, 0) < questions]


@transaction.atomic
def ballot_close(*, actor, ballot: Ballot | int) -> Ballot:
    """The secretariat closes a ballot. Before the deadline only once every recipient has answered
    every question: the deadline is a promise to the members, and nobody loses time this way. From
    the deadline on, this records the close the ballot made by itself (``closed_at`` = the deadline),
    without waiting for the scheduler."""
    access = core._manager(actor, ballot)
    locked = core._lock(access.ballot)
    now = core.current_time()
    if locked.status != B.OPEN:
        raise InvalidState(_("Only an open ballot can be closed."), code="ballot_not_open")
    if locked.deadline <= now:
        record_closed(actor=actor, ballot=locked, closed_at=locked.deadline, by="deadline")
        return locked
    pending = incomplete_recipients(locked)
    if pending:
        raise InvalidState(
            _("%(n)s member(s) have not answered every question yet; the ballot closes by itself at its "
              "deadline.") % {"n": len(pending)}, code="answers_pending")
    record_closed(actor=actor, ballot=locked, closed_at=now, by="secretariat")
    return locked


@dataclass
class ScheduleReport:
    closed: list[int] = field(default_factory=list)
    reminded: dict[int, int] = field(default_factory=dict)  # ballot id → members reminded
    overdue: dict[int, int] = field(default_factory=dict)  # ballot id → members told they are overdue

    @property
    def nothing_done(self) -> bool:
        return not (self.closed or self.reminded or self.overdue)


def _close_due(now: datetime, report: ScheduleReport) -> None:
    for ballot_id in Ballot.objects.filter(status=B.OPEN, deadline__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            ballot = core._lock(Ballot(pk=ballot_id))
            if ballot.status == B.OPEN and record_closed(actor=None, ballot=ballot, closed_at=ballot.deadline,
                                                         by="deadline"):
                report.closed.append(ballot_id)


def _send_overdue(now: datetime, report: ScheduleReport) -> None:
    for ballot_id in Ballot.objects.filter(status=B.CLOSED, reminded_overdue_at__isnull=True).values_list(
            "pk", flat=True):
        with transaction.atomic():
            if not Ballot.objects.filter(pk=ballot_id, status=B.CLOSED, reminded_overdue_at__isnull=True).update(
                    reminded_overdue_at=now):
                continue
            ballot = Ballot.objects.get(pk=ballot_id)
            late = [u for u in incomplete_recipients(ballot) if u.is_active]
            if late:
                ballot_notices.notify_overdue(ballot, late)
                audit.record(None, "ballot.overdue_notice", ballot, data={"members": [u.username for u in late]})
            report.overdue[ballot_id] = len(late)


def _send_reminders(now: datetime, report: ScheduleReport) -> None:
    due = Ballot.objects.filter(status=B.OPEN, deadline__gt=now, deadline__lte=now + REMIND_BEFORE,
                                reminded_before_at__isnull=True)
    for ballot in due:
        if ballot.issued_at and ballot.issued_at > ballot.deadline - REMIND_BEFORE:
            continue  # issued less than a day before its deadline: the notice of issue is the reminder
        with transaction.atomic():
            if not Ballot.objects.filter(pk=ballot.pk, status=B.OPEN, reminded_before_at__isnull=True).update(
                    reminded_before_at=now):
                continue
            pending = [u for u in incomplete_recipients(ballot) if u.is_active]
            if pending:
                ballot_notices.notify_reminder(ballot, pending)
                audit.record(None, "ballot.reminder", ballot, data={"members": [u.username for u in pending]})
            report.reminded[ballot.pk] = len(pending)


def ballots_run_schedule() -> ScheduleReport:
    """One round of the scheduler; see the module docstring. Safe to run at any time, any number of
    times, from several machines at once."""
    now = core.current_time()
    report = ScheduleReport()
    _close_due(now, report)
    _send_overdue(now, report)
    _send_reminders(now, report)
    return report
