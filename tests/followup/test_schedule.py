"""``manage.py task_reminders`` (``followup.schedule``): reminders 7 days and 1 day before a task's
deadline and the overdue notice after it, to the lead ministry, and the secretariat's digest — each
once per task and deadline however often the command runs, even two rounds at the same moment; an
extension re-arms them; closed, reported-done and regular tasks are left alone."""

from __future__ import annotations

import datetime as dt
import threading
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from ecabinet.models import AuditEntry, Notification
from followup import schedule, services
from followup.models import TaskNotice

from ..factories import UserFactory
from .conftest import later, new_task, walk


class Clock:
    """The services' clock (``followup.services.current_time``), moved by whole days at noon."""

    def __init__(self, monkeypatch):
        self.now = timezone.localtime(services.current_time()).replace(hour=12, minute=0, second=0, microsecond=0)
        monkeypatch.setattr(services, "current_time", lambda: self.now)

    def to_day(self, day: dt.date) -> None:
        self.now = self.now.replace(year=day.year, month=day.month, day=day.day)


@pytest.fixture
def clock(ft, monkeypatch):
    UserFactory(username="admin-btc", ministry=ft.lead, is_superuser=True, is_staff=True)
    return Clock(monkeypatch)


def run(verbosity: int = 1) -> str:
    out = StringIO()
    call_command("task_reminders", stdout=out, verbosity=verbosity)
    return out.getvalue()


def told(kind: str) -> list[str]:
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def test_it_reminds_a_week_and_a_day_before_then_says_overdue_each_once(ft, clock, settings,
                                                                          django_capture_on_commit_callbacks):
    task = ft.task  # due in 30 days: lead bo-tai-chinh (lead01), co-operating bo-tu-phap (co01)
    deadline = task.deadline
    clock.to_day(deadline - dt.timedelta(days=8))
    assert run() == "" and "nothing to do" in run(verbosity=2)
    clock.to_day(deadline - dt.timedelta(days=7))
    assert run() == f"task #{task.pk}: reminder (7 day(s) before the deadline) to 1 person(s)\n"
    assert told("task.reminder") == ["lead01"]
    notice = Notification.objects.get(kind="task.reminder")
    assert notice.url == f"/tasks/{task.pk}/" and deadline.strftime("%d/%m/%Y") in notice.title
    assert "(in 7 day(s))" in notice.body
    assert run() == ""
    clock.to_day(deadline - dt.timedelta(days=3))
    assert run() == ""
    clock.to_day(deadline - dt.timedelta(days=1))
    assert "reminder (1 day(s) before the deadline) to 1 person(s)" in run()
    clock.to_day(deadline)
    assert run() == ""
    assert told("task.reminder") == ["lead01", "lead01"]

    clock.to_day(deadline + dt.timedelta(days=1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert run() == (f"task #{task.pk}: overdue notice to 1 person(s)\n"
                         "secretariat: digest of 1 newly overdue task(s) to 1 person(s)\n")
    assert told("task.overdue") == ["lead01"]  # the lead ministry; not co01, nor its administrator
    assert told("task.overdue_digest") == ["secretary"]
    assert task.title in Notification.objects.get(kind="task.overdue_digest").body
    assert sorted(m.to[0] for m in mail.outbox) == ["lead01@example.gov.vn", "secretary@example.gov.vn"]
    for day in (1, 2, 30):
        clock.to_day(deadline + dt.timedelta(days=day))
        assert run() == ""
    assert list(TaskNotice.objects.values_list("kind", "days_before", "recipients")) == [
        ("reminder", 7, 1), ("reminder", 1, 1), ("overdue", 0, 1)]
    assert AuditEntry.objects.filter(action__in=["task.reminder_notice", "task.overdue_notice"]).count() == 3


def test_the_reminder_mail_is_in_vietnamese(ft, clock, settings, django_capture_on_commit_callbacks):
    settings.LANGUAGE_CODE = "vi"
    deadline = ft.task.deadline.strftime("%d/%m/%Y")
    clock.to_day(ft.task.deadline - dt.timedelta(days=6))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        run()
    [message] = mail.outbox
    assert message.to == ["lead01@example.gov.vn"]
    assert message.subject == f"Nhắc việc: nhiệm vụ “{ft.task.title}” đến hạn ngày {deadline}"
    assert f"do Bộ Tài chính chủ trì đến hạn ngày {deadline} (còn 6 ngày)" in message.body
    assert message.body.endswith(f"/tasks/{ft.task.pk}/")


def test_a_stopped_scheduler_sends_the_latest_reminder_only(ft, clock):
    clock.to_day(ft.task.deadline - dt.timedelta(days=1))
    assert "reminder (1 day(s)" in run()
    assert told("task.reminder") == ["lead01"] and run() == ""


def test_a_task_assigned_inside_a_window_skips_that_window(ft, clock):
    task = new_task(ft, deadline=later(4))
    clock.to_day(task.deadline - dt.timedelta(days=3))
    assert run() == ""  # the notice of assignment gave the deadline four days before it
    clock.to_day(task.deadline - dt.timedelta(days=1))
    assert f"task #{task.pk}: reminder (1 day(s)" in run()


def test_an_extension_re_arms_the_notices_for_the_new_deadline(ft, clock):
    task = ft.task
    first = task.deadline
    clock.to_day(first + dt.timedelta(days=1))
    assert "overdue notice" in run()
    new = first + dt.timedelta(days=20)
    services.task_extend(actor=ft.secretary, task=task, deadline=new, reason="Chờ ý kiến thẩm định.")
    assert run() == ""  # 19 days left
    clock.to_day(new - dt.timedelta(days=7))
    assert "reminder (7 day(s)" in run()
    clock.to_day(new + dt.timedelta(days=1))
    assert "overdue notice" in run()
    assert told("task.overdue") == ["lead01", "lead01"]
    assert sorted(TaskNotice.objects.filter(kind="overdue").values_list("deadline", flat=True)) == [first, new]


@pytest.mark.parametrize("state", ["reported_done", "accepted", "cancelled"])
def test_it_leaves_closed_and_reported_tasks_alone(ft, clock, state):
    walk(ft, ft.task, state)
    clock.to_day(ft.task.deadline - dt.timedelta(days=1))
    assert run() == ""
    clock.to_day(ft.task.deadline + dt.timedelta(days=5))
    assert run() == "" and not TaskNotice.objects.exists()


def test_it_reminds_returned_tasks_and_never_regular_ones(ft, clock):
    walk(ft, ft.task, "returned")
    regular = new_task(ft, deadline=None, regular=True)
    clock.to_day(ft.task.deadline + dt.timedelta(days=1))
    assert run().startswith(f"task #{ft.task.pk}: overdue notice")
    assert not TaskNotice.objects.filter(task=regular).exists()


def test_two_rounds_planned_together_send_each_notice_once(ft, clock):
    """Two schedulers that both planned before either sent (the interleaving the unique constraint
    is for): the second finds the notice's row and sends nothing."""
    other = new_task(ft, deadline=ft.task.deadline)
    clock.to_day(ft.task.deadline + dt.timedelta(days=1))
    today, now = clock.now.date(), clock.now
    first_plan, second_plan = schedule.plan_notices(today), schedule.plan_notices(today)
    assert len(first_plan) == 2 and first_plan == second_plan
    first = schedule.ScheduleReport(today=today)
    second = schedule.ScheduleReport(today=today)
    schedule.send_notices(first_plan, today=today, now=now, report=first)
    schedule.send_notices(second_plan, today=today, now=now, report=second)
    assert first.overdue == {ft.task.pk: 1, other.pk: 1} and first.digest == 1
    assert second.nothing_done and second.digest == 0
    assert told("task.overdue") == ["lead01", "lead01"] and told("task.overdue_digest") == ["secretary"]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_running_at_once_send_each_notice_once(ft):
    """Real threads, one connection each (SQLite: IMMEDIATE transactions queue; PostgreSQL with
    DATABASE_URL: the second insert waits, then fails on ``tasknotice_once``)."""
    tasks = [ft.task] + [new_task(ft, deadline=ft.task.deadline) for _ in range(3)]
    when = timezone.localtime(services.current_time()) + dt.timedelta(days=31)
    barrier = threading.Barrier(3)
    reports, errors = [], []

    def round_():
        try:
            barrier.wait(timeout=30)
            reports.append(schedule.tasks_run_schedule(when))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=round_) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    sent = [task_id for report in reports for task_id in report.overdue]
    assert sorted(sent) == sorted(t.pk for t in tasks)
    assert told("task.overdue") == ["lead01"] * 4
    assert TaskNotice.objects.count() == 4


def test_the_reminder_days_are_a_setting(ft, clock, settings):
    settings.TASK_REMIND_DAYS_BEFORE = (3,)
    clock.to_day(ft.task.deadline - dt.timedelta(days=4))
    assert run() == ""
    clock.to_day(ft.task.deadline - dt.timedelta(days=3))
    assert "reminder (3 day(s) before the deadline)" in run()
    settings.TASK_REMIND_DAYS_BEFORE = ()
    other = new_task(ft, deadline=later(10))
    clock.to_day(other.deadline - dt.timedelta(days=1))
    assert "reminder" not in run()
    assert not TaskNotice.objects.filter(task=other).exists()


def test_a_task_reported_or_extended_after_the_round_planned_is_skipped(ft, clock):
    other = new_task(ft, deadline=ft.task.deadline)
    clock.to_day(ft.task.deadline + dt.timedelta(days=1))
    today, now = clock.now.date(), clock.now
    planned = schedule.plan_notices(today)
    assert {p.task_id for p in planned} == {ft.task.pk, other.pk}
    services.task_report(actor=ft.lead_user, task=ft.task)
    services.task_extend(actor=ft.secretary, task=other, deadline=later(10), reason="Chờ số liệu quyết toán.")
    report = schedule.ScheduleReport(today=today)
    schedule.send_notices(planned, today=today, now=now, report=report)
    assert report.nothing_done and not TaskNotice.objects.exists()
