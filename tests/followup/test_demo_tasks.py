"""``seed_demo`` loads the tasks last month's closed session assigned, through the services, once:
across ministries, in every state, some overdue — and an installation seeded before tasks existed
gets them on its next run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from ecabinet.models import Notification, User
from followup.models import Task, TaskChange, TaskNotice, TaskReport
from followup.permissions import tasks_visible_to
from followup.services import today


def seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_demo_has_tasks_in_every_state_some_overdue_each_seen_by_its_minister():
    assert "13 follow-up tasks" in seed_demo()
    tasks = list(Task.objects.select_related("meeting", "lead_ministry"))
    assert 12 <= len(tasks) <= 15
    assert {t.state for t in tasks} == set(Task.State.values)
    assert {t.source_kind for t in tasks} == set(Task.Source.values)
    closed = {t.meeting for t in tasks if t.meeting_id}
    assert len(closed) == 1 and closed.pop().status == "closed"
    assert len({t.lead_ministry_id for t in tasks}) >= 8
    open_states = ("assigned", "in_progress", "returned")
    overdue = [t for t in tasks if t.state in open_states and not t.regular and t.deadline < today()]
    assert len(overdue) >= 3
    assert any(t.regular for t in tasks)
    assert TaskChange.objects.filter(kind="extended").exists()
    accepted = [t for t in tasks if t.state == "accepted"]
    assert any(t.reported_at.date() <= t.deadline for t in accepted)
    assert any(t.reported_at.date() > t.deadline for t in accepted)
    ballot_task = next(t for t in tasks if t.source_kind == "ballot")
    notice = Notification.objects.filter(kind="task.created", url=f"/tasks/{ballot_task.pk}/").first()
    assert f"the written ballot “{ballot_task.ballot.title}”" in notice.body
    # The round of the scheduler at the end of the seed told each overdue task's ministry, once.
    assert set(TaskNotice.objects.filter(kind="overdue").values_list("task_id", flat=True)) == {t.pk for t in overdue}

    # Two lead ministries reported progress, one with its signed-off report as a PDF the reader opens.
    reports = list(TaskReport.objects.filter(kind="progress").select_related("task"))
    assert len(reports) == 2
    assert all(r.task.state == "in_progress" for r in reports)
    assert sum(r.attachments.count() for r in reports) == 1

    for task in tasks:
        ministers = User.objects.filter(ministry=task.lead_ministry, username__startswith="member")
        assert ministers.exists(), task.lead_ministry.code
        for minister in ministers:
            assert tasks_visible_to(minister).filter(pk=task.pk).exists()
    assert not tasks_visible_to(User.objects.get(username="outsider")).exists()
    assert not tasks_visible_to(User.objects.get(username="admin")).exists()

    before = (Task.objects.count(), TaskChange.objects.count(), Notification.objects.count())
    assert "nothing changed" in seed_demo()
    assert (Task.objects.count(), TaskChange.objects.count(), Notification.objects.count()) == before

    Task.objects.all().delete()  # an installation seeded before tasks existed
    assert "13 follow-up tasks" in seed_demo()
    assert "nothing changed" in seed_demo()
