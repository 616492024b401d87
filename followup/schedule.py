"""The tasks' scheduler: reminders before a deadline and overdue notices (issue 18 §3), one round
per call of ``tasks_run_schedule`` (the ``task_reminders`` command; run it every hour or so).

Which notices, for a dated task that is open — assigned, in progress or returned. A regular task has
no deadline; a task reported done waits for the secretariat, not for its ministry; an accepted or
cancelled one is over: none of them is reminded of anything.

* **Reminders** at ``TASK_REMIND_DAYS_BEFORE`` days before the deadline (7 and 1 by default). On a
  given day a task is in the window of the smallest of those numbers that is at least the days left
  (5 days left: the 7-day window; 1 or 0: the 1-day one), and only that window's reminder goes out:
  a scheduler that was stopped for a week sends one reminder, not a backlog. A window that had
  already begun when the deadline was set (the task assigned, or its deadline extended, four days
  before it) sends nothing: the notice of assignment or extension gave the deadline a moment ago.
* **The overdue notice** from the day after the deadline on, once.
* **The secretariat's digest**: one notice per round that sent overdue notices, naming those tasks
  (the register shows every overdue task at any time; the digest says which are new).

Recipients are ``followup.permissions.task_notice_recipients``; texts ``followup.notices``.

"Once": each notice is a ``TaskNotice`` row keyed by (task, kind, deadline, window), inserted in the
transaction that sends the notice, before it; the unique constraint ``tasknotice_once`` refuses a
second row, so a second round, or a second scheduler running at the same moment on another machine,
sends nothing twice — on SQLite (IMMEDIATE transactions queue the writers) and on PostgreSQL (the
second insert waits for the first transaction and then fails). The deadline is part of the key, so
an extension re-arms the reminders and the overdue notice for the new deadline. Each notice is sent
in its own transaction (the audit chain's lock first, then the task's row, the services' lock
order), where the task's state and deadline are read again: a task reported done or extended since
the round began is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from ecabinet import audit

from . import notices, services
from .models import Task, TaskChange, TaskNotice
from .services import OPEN

__all__ = ["Planned", "ScheduleReport", "plan_notices", "send_notices", "tasks_run_schedule"]

N = TaskNotice.Kind
# the changes that set a task's deadline: its creation and each extension
DEADLINE_SET = Q(changes__kind__in=[TaskChange.Kind.CREATED, TaskChange.Kind.EXTENDED])


@dataclass(frozen=True)
class Planned:
    """One notice a round means to send: the key of its ``TaskNotice``."""

    task_id: int
    kind: str
    deadline: date
    days_before: int = 0


@dataclass
class ScheduleReport:
    today: date
    reminded: dict[int, tuple[int, int]] = field(default_factory=dict)  # task id → (window, people told)
    overdue: dict[int, int] = field(default_factory=dict)  # task id → people told
    digest: int = 0  # people of the secretariat told of the newly overdue tasks

    @property
    def nothing_done(self) -> bool:
        return not (self.reminded or self.overdue)


def _window(days_left: int) -> int | None:
    windows = [d for d in settings.TASK_REMIND_DAYS_BEFORE if d >= days_left]
    return min(windows) if windows else None


def plan_notices(today: date) -> list[Planned]:
    """The notices due on ``today`` that have not been sent (a read: nothing is written)."""
    open_dated = Task.objects.filter(state__in=OPEN, regular=False)
    sent_overdue = TaskNotice.objects.filter(task=OuterRef("pk"), kind=N.OVERDUE, deadline=OuterRef("deadline"))
    planned = [Planned(task_id, N.OVERDUE, deadline) for task_id, deadline in
               open_dated.filter(deadline__lt=today).exclude(Exists(sent_overdue))
               .order_by("deadline", "pk").values_list("pk", "deadline")]
    if not settings.TASK_REMIND_DAYS_BEFORE:
        return planned
    last_day = today + timedelta(days=max(settings.TASK_REMIND_DAYS_BEFORE))
    soon = (open_dated.filter(deadline__gte=today, deadline__lte=last_day)
            .annotate(deadline_set=Max("changes__at", filter=DEADLINE_SET))
            .order_by("deadline", "pk").values_list("pk", "deadline", "deadline_set"))
    soon = list(soon)
    sent = set(TaskNotice.objects.filter(kind=N.REMINDER, deadline__gte=today, deadline__lte=last_day)
               .values_list("task_id", "deadline", "days_before"))
    for task_id, deadline, deadline_set in soon:
        window = _window((deadline - today).days)
        if window is None or (task_id, deadline, window) in sent:
            continue
        if deadline_set is not None and timezone.localdate(deadline_set) >= deadline - timedelta(days=window):
            continue  # the notice of assignment or extension, inside the window, gave this deadline
        planned.append(Planned(task_id, N.REMINDER, deadline, window))
    return planned


def _send_one(item: Planned, *, today: date, now: datetime) -> int | None:
    """Send one planned notice, once; returns how many were told, or None if it was not sent (sent
    already, or the task changed since it was planned)."""
    with transaction.atomic():
        audit.lock_head()
        task = (Task.objects.select_for_update(of=("self",)).select_related("lead_ministry", "meeting")
                .filter(pk=item.task_id).first())
        if task is None or task.state not in OPEN or task.regular or task.deadline != item.deadline:
            return None
        try:
            with transaction.atomic():  # a savepoint: the refused insert leaves the transaction usable
                notice = TaskNotice.objects.create(task=task, kind=item.kind, deadline=item.deadline,
                                                   days_before=item.days_before, sent_at=now)
        except IntegrityError:
            return None  # another round sent it
        if item.kind == N.REMINDER:
            told = notices.notify_reminder(task, today=today)
        else:
            told = notices.notify_overdue(task, today=today)
        TaskNotice.objects.filter(pk=notice.pk).update(recipients=told)
        audit.record(None, f"task.{item.kind}_notice", task, meeting_id=task.meeting_id, data={
            "deadline": item.deadline.isoformat(), "days_before": item.days_before, "recipients": told,
            "by": "task_reminders"})
        return told


def send_notices(planned: list[Planned], *, today: date, now: datetime, report: ScheduleReport) -> None:
    """Send the planned notices, each once (see the module's docstring), then the secretariat's digest
    of the tasks this call found newly overdue."""
    newly_overdue = []
    for item in planned:
        told = _send_one(item, today=today, now=now)
        if told is None:
            continue
        if item.kind == N.REMINDER:
            report.reminded[item.task_id] = (item.days_before, told)
        else:
            report.overdue[item.task_id] = told
            newly_overdue.append(item.task_id)
    if newly_overdue:
        tasks = list(Task.objects.filter(pk__in=newly_overdue).select_related("lead_ministry")
                     .order_by("deadline", "pk"))
        with transaction.atomic():
            report.digest = notices.notify_overdue_digest(tasks)


def tasks_run_schedule(now: datetime | None = None) -> ScheduleReport:
    """One round of the scheduler at ``now`` (default: the services' clock). Safe to run at any time,
    any number of times, from several machines at once."""
    now = now or services.current_time()
    today = timezone.localdate(now)
    report = ScheduleReport(today=today)
    send_notices(plan_notices(today), today=today, now=now, report=report)
    return report
