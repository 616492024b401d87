"""The proposed agenda item "Báo cáo tình hình thực hiện nhiệm vụ" on a session's preparation screen
(issue 18: "the next session's preparation screen shows the open and overdue tasks of earlier
sessions as a proposed agenda item").

Earlier sessions: those that start before this one (``starts_at``), this one excluded. The panel shows
the counts of their open and overdue tasks and names the ``TASKS_PROPOSED_ITEM_LIST`` most overdue
(earliest deadline first): three queries whatever the number of tasks. ``meetings`` may not import
``followup`` (the layers, docs/architecture.md), so the panel is an inclusion tag of this app
(``followup.templatetags.task_agenda``) that the meetings template loads by name, and the button posts
to a view of this app that calls ``meetings.services.agenda_item_add``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q

from meetings.models import AgendaItem, Meeting

from .models import Task
from .permissions import tasks_visible_to
from .selectors import overdue_q

__all__ = ["PROPOSED_ITEM_TITLE", "Proposal", "proposed_item"]

# The agenda item's title: a text of the session's agenda, in Vietnamese whatever the screen's language.
PROPOSED_ITEM_TITLE = "Báo cáo tình hình thực hiện nhiệm vụ"
OPEN_STATES = (Task.State.ASSIGNED, Task.State.IN_PROGRESS, Task.State.REPORTED_DONE, Task.State.RETURNED)


@dataclass(frozen=True)
class Proposal:
    open: int
    overdue: int
    most_overdue: list[tuple[Task, int]]  # (task, days overdue)
    on_agenda: bool

    def description(self) -> str:
        """The agenda item's description: the figures on the day it was added (Vietnamese) — counts
        only. The agenda is read by everyone invited, observers included, while a task is seen only
        by whom ``tasks_visible_to`` allows: naming the overdue tasks here would hand other
        ministries' tasks to all of them (a security review's finding). Each reader finds the tasks
        they may see in the register."""
        return (f"Các phiên họp trước còn {self.open} nhiệm vụ chưa hoàn thành, trong đó {self.overdue} nhiệm vụ "
                "quá hạn. Danh sách chi tiết: mục Nhiệm vụ (Theo dõi thực hiện nhiệm vụ), lọc "
                "“Chỉ nhiệm vụ quá hạn”.")[: settings.DESCRIPTION_MAX_CHARS]


def proposed_item(user, meeting: Meeting, today: dt.date) -> Proposal:
    """The open and overdue tasks of the sessions before ``meeting`` that ``user`` may see."""
    earlier = (tasks_visible_to(user).filter(meeting__starts_at__lt=meeting.starts_at)
               .exclude(meeting_id=meeting.pk).filter(state__in=OPEN_STATES))
    counts = earlier.order_by().aggregate(open=Count("pk"), overdue=Count("pk", filter=overdue_q(today)))
    worst = list(earlier.filter(overdue_q(today)).select_related("lead_ministry", "meeting")
                 .order_by("deadline", "id")[: settings.TASKS_PROPOSED_ITEM_LIST])
    on_agenda = AgendaItem.objects.filter(Q(meeting=meeting) & Q(title=PROPOSED_ITEM_TITLE)).exists()
    return Proposal(open=counts["open"], overdue=counts["overdue"],
                    most_overdue=[(t, (today - t.deadline).days) for t in worst], on_agenda=on_agenda)
