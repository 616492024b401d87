"""Reading the register of tasks: the filtered list (a bounded number of queries whatever the number
of tasks: the count, one page with its links joined, the page's co-operating ministries) and a task's
detail with its history. Who sees what is ``followup.permissions``; this module only shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connections
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse

from ecabinet.models import Ministry
from meetings.models import AgendaItem, Meeting
from voting.models import Ballot, Motion

from .models import Task, TaskAttachment, TaskChange, TaskReport
from .permissions import PROBE_MEETING, TaskAccess, tasks_visible_to, visible_tasks_sql

OVERDUE_STATES = (Task.State.ASSIGNED, Task.State.IN_PROGRESS, Task.State.RETURNED)


@dataclass(frozen=True)
class TaskFilters:
    ministry: str | None = None  # a ministry's code: tasks it leads or co-operates on
    meeting: int | None = None
    state: str | None = None
    deadline_before: date | None = None  # deadline on or before
    deadline_after: date | None = None  # deadline on or after
    overdue: bool | None = None


def overdue_q(today: date) -> Q:
    """Overdue: a dated task still with the ministry (not reported done, not finished) whose deadline
    has passed."""
    return Q(regular=False, deadline__lt=today, state__in=OVERDUE_STATES)


def tasks_filtered(user, filters: TaskFilters, today: date) -> QuerySet[Task]:
    tasks = tasks_visible_to(user)
    if filters.ministry:
        through = Task.co_ministries.through
        tasks = tasks.filter(Q(lead_ministry__code=filters.ministry) | Exists(
            through.objects.filter(task_id=OuterRef("pk"), ministry__code=filters.ministry)))
    if filters.meeting is not None:
        tasks = tasks.filter(meeting_id=filters.meeting)
    if filters.state:
        tasks = tasks.filter(state=filters.state)
    if filters.deadline_before is not None:
        tasks = tasks.filter(deadline__lte=filters.deadline_before)
    if filters.deadline_after is not None:
        tasks = tasks.filter(deadline__gte=filters.deadline_after)
    if filters.overdue is True:
        tasks = tasks.filter(overdue_q(today))
    elif filters.overdue is False:
        tasks = tasks.exclude(overdue_q(today))
    return tasks.order_by("regular", "deadline", "id")


def with_links(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """Joined: the session, the lead ministry, the source; the co-operating ministries in one more query."""
    return tasks.select_related("meeting", "lead_ministry", "agenda_item", "motion", "ballot").prefetch_related(
        Prefetch("co_ministries", queryset=Ministry.objects.order_by("name")))


def _ministry(m: Ministry) -> dict:
    return {"code": m.code, "name": m.name, "short_name": m.short_name}


def _source(task: Task) -> dict:
    kind = task.source_kind
    if kind == Task.Source.AGENDA_ITEM:
        source_id, title = task.agenda_item_id, task.agenda_item.title
    elif kind == Task.Source.MOTION:
        source_id, title = task.motion_id, task.motion.title
    elif kind == Task.Source.BALLOT:
        source_id, title = task.ballot_id, task.ballot.title
    else:
        source_id, title = task.meeting_id, task.meeting.title
    return {"kind": kind, "kind_text": task.get_source_kind_display(), "id": source_id, "title": title}


def task_row(task: Task, today: date) -> dict:
    return {
        "id": task.pk,
        "title": task.title,
        "meeting": {"id": task.meeting_id, "title": task.meeting.title} if task.meeting_id else None,
        "source": _source(task),
        "lead_ministry": _ministry(task.lead_ministry),
        "co_ministries": [_ministry(m) for m in task.co_ministries.all()],
        "regular": task.regular,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "priority": task.priority,
        "state": task.state,
        "state_text": task.get_state_display(),
        "overdue": bool(not task.regular and task.state in OVERDUE_STATES and task.deadline < today),
        "created_at": task.created_at.isoformat(),
        "url": reverse("api_task", args=[task.pk]),
    }


def task_detail(access: TaskAccess, today: date) -> dict:
    task = with_links(Task.objects.filter(pk=access.task.pk)).select_related("created_by").get()
    changes = TaskChange.objects.filter(task=task).select_related("actor").order_by("at", "id")
    return {
        **task_row(task, today),
        "description": task.description,
        "created_by": task.created_by.get_full_name() if task.created_by_id else None,
        "reported_at": task.reported_at.isoformat() if task.reported_at else None,
        "closed_at": task.closed_at.isoformat() if task.closed_at else None,
        "my_actions": access.actions(),
        "history": [{
            "kind": c.kind, "kind_text": c.get_kind_display(), "at": c.at.isoformat(),
            "actor": c.actor.get_full_name(), "from_state": c.from_state or None, "to_state": c.to_state,
            "reason": c.reason,
            "old_deadline": c.old_deadline.isoformat() if c.old_deadline else None,
            "new_deadline": c.new_deadline.isoformat() if c.new_deadline else None,
        } for c in changes],
        "reports": reports_of(task),
    }


def reports_of(task: Task) -> list[dict]:
    """A task's reports, oldest first, with their attachments' facts and download addresses: two
    queries (the reports with their authors, then all their attachments). Their number is bounded by
    ``TASK_REPORTS_MAX``, their attachments by ``TASK_REPORT_MAX_ATTACHMENTS`` each."""
    reports = TaskReport.objects.filter(task=task).select_related("author").order_by("at", "id").prefetch_related(
        Prefetch("attachments", queryset=TaskAttachment.objects.order_by("position")))
    return [report_dict(report) for report in reports]


def report_dict(report: TaskReport) -> dict:
    return {
        "id": report.pk, "kind": report.kind, "kind_text": report.get_kind_display(), "at": report.at.isoformat(),
        "author": report.author.get_full_name(), "text": report.text,
        "attachments": [{
            "id": a.pk, "filename": a.filename, "size": a.size, "pages": a.pages, "sha256": a.sha256,
            "url": reverse("task_attachment", args=[report.task_id, a.pk]),
        } for a in report.attachments.all()],
    }


# --- the screens (followup.views) -----------------------------------------------------------------

SESSION_CHOICES_MAX = 200  # docs/limits.md: the sessions the register's filter offers


def is_overdue(task: Task, today: date) -> bool:
    """``overdue_q`` for one task already read."""
    return bool(not task.regular and task.state in OVERDUE_STATES and task.deadline < today)


def sessions_with_tasks(user):
    """The sessions of the tasks the user may see, latest first (the register's session filter): one
    query, at most ``SESSION_CHOICES_MAX``."""
    meeting_ids = tasks_visible_to(user).filter(meeting__isnull=False).values("meeting_id")
    return list(Meeting.objects.filter(pk__in=meeting_ids).order_by("-starts_at", "-id")
                .only("id", "title", "starts_at")[:SESSION_CHOICES_MAX])


SESSION_TASK_FIELDS = ("pk", "title", "state", "regular", "deadline", "lead_ministry_id", "lead_ministry__code",
                       "lead_ministry__name", "lead_ministry__name_en", "lead_ministry__short_name")


def _session_tasks_query(meeting_id, limit: int):
    return lambda tasks: (tasks.filter(meeting_id=meeting_id).order_by("regular", "deadline", "id")
                          .values_list(*SESSION_TASK_FIELDS)[:limit])


def session_tasks_statement(user, meeting_id: int, limit: int) -> tuple[str, str, list] | None:
    """``session_tasks``' query as (database alias, SQL, parameters), its columns
    ``SESSION_TASK_FIELDS`` in order and its rows in the list's order; None for an account that sees no
    task. For anyone outside the secretariat the query is ``tasks_visible_to``'s prepared once
    (``permissions.visible_tasks_sql``), as the session page asks it on every view (issue 19)."""
    if not (user.is_authenticated and user.is_active):
        return None
    if user.is_secretariat:
        queryset = _session_tasks_query(meeting_id, limit)(tasks_visible_to(user))
        sql, params = queryset.query.get_compiler(queryset.db).as_sql()
        return queryset.db, sql, list(params)
    return visible_tasks_sql(user, f"session:{limit}", _session_tasks_query(PROBE_MEETING, limit), meeting=meeting_id)


def session_task_rows(meeting_id: int, rows: list[tuple]) -> list[Task]:
    """``session_tasks_statement``'s rows as the tasks the session page shows, with their lead ministry."""
    deadline = Task._meta.get_field("deadline")
    return [Task(pk=pk, meeting_id=meeting_id, title=title, state=state, regular=bool(regular),
                 deadline=deadline.to_python(due),
                 lead_ministry=Ministry(pk=ministry, code=code, name=name, name_en=name_en, short_name=short))
            for pk, title, state, regular, due, ministry, code, name, name_en, short in rows]


def session_tasks(user, meeting_id: int, limit: int) -> list[Task]:
    """The tasks of one session the user may see, by deadline, with their lead ministry (the fields
    the session page shows: ``SESSION_TASK_FIELDS``): one query (``session_tasks_statement``)."""
    statement = session_tasks_statement(user, meeting_id, limit)
    return [] if statement is None else session_task_rows(meeting_id, _fetch(*statement))


def _fetch(alias: str, sql: str, params: list) -> list[tuple]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def task_history(task: Task) -> list[TaskChange]:
    return list(TaskChange.objects.filter(task=task).select_related("actor").order_by("at", "id"))


@dataclass(frozen=True)
class SourceShown:
    """What the new-task form says about the decision a task will come from."""

    kind: str
    kind_text: str
    title: str
    meeting: Meeting | None
    ballot: Ballot | None = None


def source_shown(kind: str, source_id: int) -> SourceShown | None:
    """The decision named by ``source_kind``/``source_id``, or None if there is none (one query). Only
    for the secretariat's form: the service checks again that the decision was taken."""
    text = Task.Source(kind).label if kind in Task.Source.values else ""
    if kind == Task.Source.AGENDA_ITEM:
        item = AgendaItem.objects.select_related("meeting").filter(pk=source_id).first()
        return item and SourceShown(kind, text, item.title, item.meeting)
    if kind == Task.Source.MOTION:
        motion = Motion.objects.select_related("agenda_item__meeting").filter(pk=source_id).first()
        return motion and SourceShown(kind, text, motion.title, motion.agenda_item.meeting)
    if kind == Task.Source.RESOLUTION:
        meeting = Meeting.objects.filter(pk=source_id).first()
        return meeting and SourceShown(kind, text, meeting.title, meeting)
    if kind == Task.Source.BALLOT:
        ballot = Ballot.objects.select_related("meeting").filter(pk=source_id).first()
        return ballot and SourceShown(kind, text, ballot.title, ballot.meeting, ballot)
    return None
