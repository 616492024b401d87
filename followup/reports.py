"""Reports on a task by its lead ministry (issue 18 §2): progress reports, and the report that the
task is done, each with a text and PDF attachments admitted exactly like session documents.

Who: the lead ministry's people and its approved delegate (``followup.permissions``: the actions
``progress`` and ``report``); the secretariat then accepts or returns a task reported done
(``followup.services``). Whoever sees the task reads its reports and downloads their files.

=========  =====================================  ===========================================
kind       the task may be                        what it does to the task
=========  =====================================  ===========================================
progress   assigned, in_progress, returned        assigned or returned → in_progress (the
                                                  history records ``started``: a ministry that
                                                  reports progress has started); in_progress
                                                  stays as it is
done       assigned, in_progress, returned        → reported_done (``followup.services.task_report``)
=========  =====================================  ===========================================

Anything else is 409 ``transition_not_allowed``; a task reported done takes no progress report (the
ministry has said it is done: the secretariat answers first).

Two steps, as every upload (``meetings.services.documents``): ``report_prepare`` asks who may post,
checks the text and the bounds, then inspects every file (``meetings.pdfcheck``, in a child process:
slow) *before* any transaction opens; ``report_record`` then writes in one transaction, with the
task locked: the state and the count of reports checked again, the report, its attachments (their
files stored last, under names of their own), the history and one audit entry (``task.reported`` or
``task.report_progress``: ids, counts, the files' SHA-256 — not the text). Every refusal leaves
nothing: no row, and no file (a file stored by a refused write is deleted; see ``report_record``).

Bounds (docs/limits.md, "Progress reports and attachments"): ``TASK_REPORT_TEXT_MAX_CHARS``
(400 ``text_too_long``), ``TASK_REPORT_MAX_ATTACHMENTS`` (400 ``too_many_attachments``),
``TASK_REPORT_MAX_BYTES`` (413 ``attachments_too_large``), ``TASK_REPORTS_MAX`` (409
``too_many_reports``); each file ``DOCUMENT_MAX_BYTES``, ``DOCUMENT_MAX_PAGES`` and the rest of the
PDF admission (its codes: ``not_pdf``, ``pdf_damaged``, ``file_too_large``…). A progress report needs
a text (400 ``report_text_required``); the same file twice in one report is 400 ``duplicate_attachment``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from ecabinet import audit
from ecabinet.errors import Conflict, Forbidden, InvalidState, UploadRejected, ValidationFailed
from meetings.pdfcheck import InspectedUpload
from meetings.services.documents import inspect_upload, store_upload

from . import services
from .models import Task, TaskAttachment, TaskChange, TaskReport
from .permissions import task_access, task_attachment

__all__ = ["PreparedReport", "files_kept_only_if_written", "report_prepare", "report_record", "task_attachment_open",
           "task_report_done", "task_report_progress"]

S = Task.State
REPORTABLE = frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RETURNED})
ACTION = {TaskReport.Kind.PROGRESS: "progress", TaskReport.Kind.DONE: "report"}


@dataclass(frozen=True)
class PreparedReport:
    """A report whose caller, text, bounds and files have been checked, ready for ``report_record``."""

    task_id: int
    kind: str
    text: str
    files: tuple[tuple[str, InspectedUpload], ...]  # (the file's name as sent, its inspection)


def _text(text, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationFailed(_("Write what has been done so far."), code="report_text_required", field="text")
    if len(text) > settings.TASK_REPORT_TEXT_MAX_CHARS:
        raise ValidationFailed(
            _("The text is too long: %(length)s characters, at most %(limit)s are allowed.")
            % {"length": len(text), "limit": settings.TASK_REPORT_TEXT_MAX_CHARS}, code="text_too_long", field="text")
    return text


# C0/C1 controls and the bidirectional overrides and isolates (a name "fdp.exe" shown reversed)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_filename(name: str) -> str:
    """A file name as kept and offered for download: its last part, without control or bidirectional
    characters, ending in ``.pdf`` (an attachment is always a PDF, whatever it was called)."""
    name = _UNSAFE.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()[:250] or "attachment"
    if name.rpartition(".")[2].lower() != "pdf" or "." not in name:
        name = f"{name}.pdf"
    return name


def _filename(upload) -> str:
    return clean_filename(getattr(upload, "name", "") or "")


def _bounds(files: Sequence) -> None:
    if len(files) > settings.TASK_REPORT_MAX_ATTACHMENTS:
        raise ValidationFailed(_("A report has at most %(n)s attached files.")
                               % {"n": settings.TASK_REPORT_MAX_ATTACHMENTS}, code="too_many_attachments",
                               field="files")
    total = sum(int(getattr(f, "size", 0) or 0) for f in files)
    if total > settings.TASK_REPORT_MAX_BYTES:
        raise UploadRejected(_("The attached files come to %(mb)s MB together; a report takes at most %(limit)s MB.")
                             % {"mb": round(total / 1024 / 1024, 1),
                                "limit": round(settings.TASK_REPORT_MAX_BYTES / 1024 / 1024, 1)},
                             code="attachments_too_large", status=413)


def _refused(task: Task, kind: str) -> InvalidState:
    return InvalidState(_("A report cannot be posted on a task that is “%(state)s”.")
                        % {"state": task.get_state_display()}, code="transition_not_allowed", action=ACTION[kind])


def report_prepare(*, actor, task: Task | int, kind: str, text: str = "", files: Iterable = ()) -> PreparedReport:
    """The slow half, outside any transaction: who may post (404, 403), the text and the bounds
    (400, 413), the task's state and count of reports as they stand (409; checked again under the
    lock), then each file's inspection (``meetings.pdfcheck``; its refusal names the file)."""
    access = task_access(actor, task)
    if not access.may_report:
        raise Forbidden()
    if kind not in ACTION:
        raise ValidationFailed(_("A report is a progress report or a report of completion."),
                               code="invalid_report_kind", field="kind")
    access.require(ACTION[kind])
    text = _text(text, required=kind == TaskReport.Kind.PROGRESS)
    files = list(files)
    _bounds(files)
    _check_task(Task.objects.get(pk=access.task.pk), kind)  # as stored now, not as the caller's copy says
    inspected = []
    for upload in files:
        try:
            inspected.append((_filename(upload), inspect_upload(upload)))
        except UploadRejected as exc:
            exc.message = _("“%(name)s”: %(reason)s") % {"name": _filename(upload)[:80], "reason": exc.message}
            raise
    seen: set[str] = set()
    for name, found in inspected:
        if found.facts.sha256 in seen:
            raise ValidationFailed(_("The file “%(name)s” is attached twice.") % {"name": name[:80]},
                                   code="duplicate_attachment", field="files")
        seen.add(found.facts.sha256)
    return PreparedReport(task_id=access.task.pk, kind=kind, text=text, files=tuple(inspected))


def _check_task(task: Task, kind: str) -> None:
    if task.state not in REPORTABLE:
        raise _refused(task, kind)
    if TaskReport.objects.filter(task_id=task.pk).count() >= settings.TASK_REPORTS_MAX:
        raise Conflict(_("A task keeps at most %(n)s reports.") % {"n": settings.TASK_REPORTS_MAX},
                       code="too_many_reports")


@contextmanager
def files_kept_only_if_written() -> Iterator[list[str]]:
    """For a caller that runs ``report_record`` inside a transaction of its own (the API's
    ``Idempotency-Key`` record commits with the report): pass the list this yields as ``stored``;
    when the block ends, each file in it that no committed attachment names is deleted. Used around
    the outermost transaction, so a report rolled back after ``report_record`` returned (the
    key's record refused at the commit) leaves no file either."""
    stored: list[str] = []
    try:
        yield stored
    finally:
        if stored:
            kept = set(TaskAttachment.objects.filter(file__in=stored).values_list("file", flat=True))
            for name in stored:
                if name not in kept:
                    default_storage.delete(name)


def report_record(*, actor, prepared: PreparedReport, stored: list[str] | None = None) -> TaskReport:
    """Write a prepared report (one transaction; see the module's docstring). Every file it stored is
    deleted again if the write fails, so a refusal leaves no file behind; the names of the files are
    appended to ``stored`` if given (``files_kept_only_if_written``)."""
    stored = [] if stored is None else stored
    try:
        with transaction.atomic():
            return _record(actor=actor, prepared=prepared, stored=stored)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


def _record(*, actor, prepared: PreparedReport, stored: list[str]) -> TaskReport:
    access = task_access(actor, prepared.task_id)  # asked again: the caller may have lost the ministry since
    access.require(ACTION[prepared.kind])
    audit.lock_head()
    task = Task.objects.select_for_update().get(pk=prepared.task_id)
    _check_task(task, prepared.kind)
    now = services.current_time()
    report = TaskReport.objects.create(task=task, kind=prepared.kind, author=actor, at=now, text=prepared.text)
    attachments = []
    for position, (filename, inspected) in enumerate(prepared.files, start=1):
        facts = inspected.facts
        attachment = TaskAttachment(report=report, position=position, filename=filename, sha256=facts.sha256,
                                    size=facts.size, pages=facts.pages, name_key=uuid.uuid4().hex)
        name = attachment.file.field.generate_filename(attachment, filename)
        stored.append(name)  # before the copy: a copy cut half-way is deleted too
        store_upload(default_storage, name, inspected)
        attachment.file.name = name
        attachments.append(attachment)
    TaskAttachment.objects.bulk_create(attachments)
    data = {"report": report.pk, "kind": prepared.kind, "text_chars": len(prepared.text),
            "attachments": [{"id": a.pk, "filename": a.filename, "sha256": a.sha256, "size": a.size,
                             "pages": a.pages} for a in attachments]}
    if prepared.kind == TaskReport.Kind.DONE:
        # the transition of followup.services: its history step (the text as its note) and one audit
        # entry, task.reported, naming the report and its files
        report.task = services.report_done_transition(actor=actor, task=task, note=prepared.text, audit_extra=data)
        return report
    from_state = task.state
    if from_state in (S.ASSIGNED, S.RETURNED):  # reporting progress is starting the work
        task.state = S.IN_PROGRESS
        task.save(update_fields=["state"])
        TaskChange.objects.create(task=task, kind=TaskChange.Kind.STARTED, actor=actor, at=now,
                                  from_state=from_state, to_state=task.state)
    audit.record(actor, "task.report_progress", task, meeting_id=task.meeting_id,
                 data={**data, "from": from_state, "to": task.state})
    return report


def task_report_progress(*, actor, task: Task | int, text: str, files: Iterable = (),
                         prepared: PreparedReport | None = None) -> TaskReport:
    """The lead ministry reports progress, with files. Inspects the files first: never call this
    inside a transaction unless ``prepared`` is given (the API's ``prepare`` step passes it)."""
    if prepared is None:
        prepared = report_prepare(actor=actor, task=task, kind=TaskReport.Kind.PROGRESS, text=text, files=files)
    return report_record(actor=actor, prepared=prepared)


def task_report_done(*, actor, task: Task | int, text: str = "", files: Iterable = (),
                     prepared: PreparedReport | None = None) -> TaskReport:
    """The lead ministry reports the task done (→ reported_done), with a text and files; the
    secretariat then accepts or returns it. Same two steps as ``task_report_progress``."""
    if prepared is None:
        prepared = report_prepare(actor=actor, task=task, kind=TaskReport.Kind.DONE, text=text, files=files)
    return report_record(actor=actor, prepared=prepared)


@transaction.atomic
def task_attachment_open(*, actor, task_id: int, attachment_id: int) -> TaskAttachment:
    """An attachment for someone who may see its task (404 otherwise: ``task_attachment``), with an
    audit entry of who took a copy (as for session documents)."""
    attachment = task_attachment(actor, task_id, attachment_id)
    task = attachment.report.task
    audit.record(actor, "task.attachment_downloaded", task, meeting_id=task.meeting_id,
                 data={"attachment": attachment.pk, "report": attachment.report_id, "sha256": attachment.sha256})
    return attachment
