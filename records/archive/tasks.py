"""The decision follow-up tasks of an archived session (issue 18), as they go into its bag.

``data/tasks.jsonl`` holds one JSON object a line for every task of the session
(``followup.Task.meeting``: the tasks of its agenda items, motions and resolution, and of the written
ballots linked to it), in id order, as they stand at the export (tasks go on after the session
closes; a later export shows them further on): the task (source, ministries, deadline, priority,
state), its whole history (``history``: every step with its actor, states, reason and deadlines) and
its reports (``reports``: kind, author, time, text, and the attachments' facts with their ``path``
in the bag). Each attachment is there as the ministry sent it, ``data/tasks/<task>/<attachment>-
<sha256[:16]>.pdf``, with its sha256 (checked against the stored file while it is copied). The
count is ``Follow-Up-Tasks`` in bag-info.txt. Checked offline by ``records.archive.task_check``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django.db.models import Prefetch

from followup.models import Task, TaskAttachment, TaskChange, TaskReport

from ..record import iso
from . import layout
from .bagdir import BagWriter

__all__ = ["task_rows", "write_tasks"]

Chunks = Callable[[object, str], Iterable[bytes]]


def _person(user) -> dict:
    return {"username": user.username, "full_name": user.get_full_name()}


def _tasks(meeting):
    return (Task.objects.filter(meeting=meeting).order_by("id")
            .select_related("lead_ministry", "created_by")
            .prefetch_related("co_ministries",
                              Prefetch("changes", queryset=TaskChange.objects.select_related("actor")
                                       .order_by("at", "id")),
                              Prefetch("reports", queryset=TaskReport.objects.select_related("author")
                                       .order_by("at", "id").prefetch_related(
                                           Prefetch("attachments",
                                                    queryset=TaskAttachment.objects.order_by("position"))))))


def _source_id(task: Task) -> int:
    return {Task.Source.AGENDA_ITEM: task.agenda_item_id, Task.Source.MOTION: task.motion_id,
            Task.Source.BALLOT: task.ballot_id}.get(task.source_kind, task.meeting_id)


def _row(task: Task) -> dict:
    return {
        "id": task.pk, "meeting_id": task.meeting_id, "title": task.title, "description": task.description,
        "source": {"kind": task.source_kind, "id": _source_id(task)},
        "lead_ministry": task.lead_ministry.code,
        "co_ministries": sorted(m.code for m in task.co_ministries.all()),
        "regular": task.regular, "deadline": task.deadline.isoformat() if task.deadline else None,
        "priority": task.priority, "state": task.state,
        "created_by": _person(task.created_by), "created_at": iso(task.created_at),
        "reported_at": iso(task.reported_at), "closed_at": iso(task.closed_at),
        "history": [{
            "kind": c.kind, "at": iso(c.at), "actor": _person(c.actor), "from_state": c.from_state or None,
            "to_state": c.to_state, "reason": c.reason,
            "old_deadline": c.old_deadline.isoformat() if c.old_deadline else None,
            "new_deadline": c.new_deadline.isoformat() if c.new_deadline else None,
        } for c in task.changes.all()],
        "reports": [{
            "id": r.pk, "kind": r.kind, "at": iso(r.at), "author": _person(r.author), "text": r.text,
            "attachments": [{"id": a.pk, "filename": a.filename, "size": a.size, "pages": a.pages,
                             "sha256": a.sha256, "path": "data/" + layout.task_attachment_path(task.pk, a.pk, a.sha256)}
                            for a in r.attachments.all()],
        } for r in task.reports.all()],
    }


def task_rows(meeting) -> list[tuple[Task, dict]]:
    """The session's tasks with the line each gets in ``tasks.jsonl`` (a bounded number of queries)."""
    return [(task, _row(task)) for task in _tasks(meeting)]


def write_tasks(meeting, writer: BagWriter, chunks: Chunks, mismatch: Callable[[str], Exception]) -> int:
    """Write ``tasks.jsonl`` and the attachments for ``meeting`` into the bag; returns the number of
    tasks. ``chunks(field, what)`` reads a stored file; ``mismatch(what)`` is the error to raise when
    it does not match its recorded sha256."""
    lines = []
    for task, row in task_rows(meeting):
        for report in task.reports.all():
            for attachment in report.attachments.all():
                what = f"“{attachment.filename}” (task {task.pk}, report {report.pk})"
                path = layout.task_attachment_path(task.pk, attachment.pk, attachment.sha256)
                if writer.add(path, chunks(attachment.file, what)) != attachment.sha256:
                    raise mismatch(what)
        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    writer.add(layout.TASKS_INDEX, "".join(line + "\n" for line in lines).encode("utf-8"))
    return len(lines)
