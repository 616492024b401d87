"""Tasks (nhiệm vụ) assigned by a session's decisions, and the history of each.

A task comes from one decision, named by ``source_kind`` and exactly one link (a check constraint):

* ``agenda_item`` — the conclusion on an agenda item of the session (``agenda_item``);
* ``motion`` — a motion voted in the session (``motion``);
* ``resolution`` — the session's resolution as a whole (no link beyond the session);
* ``ballot`` — a closed written ballot (``ballot``). Its ``meeting`` is the session the ballot is
  linked to, or none (a ballot's link is frozen once it is issued, so it never changes under its
  tasks); every other task has a session.

"Extended" is not a state: an extension is an event (a ``TaskChange`` of kind ``extended``) that
moves the deadline and leaves the state as it was. A ``regular`` task (thường xuyên) has no
deadline and is never overdue. The transitions are in ``followup.services``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ecabinet.models import Ministry
from meetings.models import AgendaItem, Meeting
from voting.models import Ballot, Motion


class Task(models.Model):
    class Source(models.TextChoices):
        AGENDA_ITEM = "agenda_item", _("Agenda item")
        MOTION = "motion", _("Motion")
        RESOLUTION = "resolution", _("Resolution of the session")
        BALLOT = "ballot", _("Written ballot")

    class Priority(models.TextChoices):
        NORMAL = "normal", pgettext_lazy("task priority", "Normal")
        HIGH = "high", pgettext_lazy("task priority", "High")
        URGENT = "urgent", pgettext_lazy("task priority", "Urgent")

    class State(models.TextChoices):
        ASSIGNED = "assigned", pgettext_lazy("task", "Assigned")
        IN_PROGRESS = "in_progress", pgettext_lazy("task", "In progress")
        REPORTED_DONE = "reported_done", pgettext_lazy("task", "Reported done")
        ACCEPTED = "accepted", pgettext_lazy("task", "Accepted")
        RETURNED = "returned", pgettext_lazy("task", "Returned")
        CANCELLED = "cancelled", pgettext_lazy("task", "Cancelled")

    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks",
                                verbose_name=_("session"))
    source_kind = models.CharField(_("decided by"), max_length=20, choices=Source.choices)
    agenda_item = models.ForeignKey(AgendaItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    motion = models.ForeignKey(Motion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ballot = models.ForeignKey(Ballot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=500)
    description = models.TextField(_("description"), blank=True)
    lead_ministry = models.ForeignKey(Ministry, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("lead ministry"))
    co_ministries = models.ManyToManyField(Ministry, blank=True, related_name="+",
                                           verbose_name=_("co-operating ministries"))
    regular = models.BooleanField(_("regular task (no deadline)"), default=False)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.ASSIGNED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    # The latest report of completion, and when the task was accepted or cancelled (the on-time rate).
    reported_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deadline", "id"]
        indexes = [
            models.Index(fields=["lead_ministry", "state", "deadline"], name="task_ministry_state"),
            models.Index(fields=["meeting", "state"], name="task_meeting_state"),
            models.Index(fields=["state", "deadline"], name="task_state_deadline"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(source_kind__in=["agenda_item", "motion", "resolution", "ballot"]),
                                   name="task_source_kind_valid"),
            models.CheckConstraint(
                condition=(Q(source_kind="agenda_item", agenda_item__isnull=False, motion__isnull=True,
                             ballot__isnull=True, meeting__isnull=False)
                           | Q(source_kind="motion", agenda_item__isnull=True, motion__isnull=False,
                               ballot__isnull=True, meeting__isnull=False)
                           | Q(source_kind="resolution", agenda_item__isnull=True, motion__isnull=True,
                               ballot__isnull=True, meeting__isnull=False)
                           # the session of a ballot's task is the one the ballot is linked to, if any
                           | Q(source_kind="ballot", agenda_item__isnull=True, motion__isnull=True,
                               ballot__isnull=False)),
                name="task_source_exactly_one"),
            models.CheckConstraint(condition=Q(priority__in=["normal", "high", "urgent"]),
                                   name="task_priority_valid"),
            models.CheckConstraint(
                condition=Q(state__in=["assigned", "in_progress", "reported_done", "accepted", "returned",
                                       "cancelled"]),
                name="task_state_valid"),
            models.CheckConstraint(condition=Q(regular=True, deadline__isnull=True)
                                   | Q(regular=False, deadline__isnull=False),
                                   name="task_deadline_unless_regular"),
            models.CheckConstraint(condition=~Q(title=""), name="task_title_required"),
            models.CheckConstraint(condition=Q(state__in=["accepted", "cancelled"], closed_at__isnull=False)
                                   | (~Q(state__in=["accepted", "cancelled"]) & Q(closed_at__isnull=True)),
                                   name="task_closed_at_when_closed"),
        ]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state not in (self.State.ACCEPTED, self.State.CANCELLED)


class TaskChange(models.Model):
    """One step in a task's life: its creation, every transition, every extension. Written by
    ``followup.services`` in the transaction that makes the change, never changed afterwards."""

    class Kind(models.TextChoices):
        CREATED = "created", pgettext_lazy("task change", "Assigned")
        STARTED = "started", pgettext_lazy("task change", "Started")
        REPORTED = "reported", pgettext_lazy("task change", "Reported done")
        ACCEPTED = "accepted", pgettext_lazy("task change", "Accepted")
        RETURNED = "returned", pgettext_lazy("task change", "Returned")
        EXTENDED = "extended", pgettext_lazy("task change", "Deadline extended")
        CANCELLED = "cancelled", pgettext_lazy("task change", "Cancelled")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    reason = models.TextField(_("reason"), blank=True)
    old_deadline = models.DateField(null=True, blank=True)
    new_deadline = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["task", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["created", "started", "reported", "accepted", "returned", "extended",
                                      "cancelled"]),
                name="taskchange_kind_valid"),
            models.CheckConstraint(condition=~Q(kind__in=["returned", "extended", "cancelled"]) | ~Q(reason=""),
                                   name="taskchange_reason_required"),
            models.CheckConstraint(condition=~Q(kind="extended") | Q(new_deadline__isnull=False,
                                                                     old_deadline__isnull=False),
                                   name="taskchange_extension_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.kind}"


class TaskNotice(models.Model):
    """A reminder or overdue notice the scheduler (``followup.schedule``) has sent for one deadline of
    one task. The row is written before the notice, in the same transaction, and the unique
    constraint makes it the "sent once" guard: a second run, or a second scheduler racing the first,
    fails to insert it and sends nothing. The deadline is part of the key, so an extension to a new
    deadline re-arms every notice."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", pgettext_lazy("task notice", "Reminder before the deadline")
        OVERDUE = "overdue", pgettext_lazy("task notice", "Overdue notice")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    deadline = models.DateField()
    # For a reminder, the window it belongs to (``TASK_REMIND_DAYS_BEFORE``); 0 for an overdue notice.
    days_before = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["task", "deadline", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "kind", "deadline", "days_before"], name="tasknotice_once"),
            models.CheckConstraint(condition=Q(kind__in=["reminder", "overdue"]), name="tasknotice_kind_valid"),
            models.CheckConstraint(condition=Q(kind="reminder", days_before__gt=0) | Q(kind="overdue", days_before=0),
                                   name="tasknotice_days_before"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.kind} {self.deadline}"


def attachment_path(instance: "TaskAttachment", filename: str) -> str:
    """A name of its own for every attachment (not content-addressed): a refused or rolled-back
    report deletes exactly the files it stored, and no other report can be sharing them."""
    return f"tasks/{instance.report.task_id}/{instance.name_key}.pdf"


class TaskReport(models.Model):
    """What the lead ministry reports on a task: progress (``progress``), or that it is done
    (``done``, written with the ``reported`` step of the history). Written by ``followup.reports``,
    never changed afterwards; its attachments are PDFs admitted like session documents."""

    class Kind(models.TextChoices):
        PROGRESS = "progress", pgettext_lazy("task report", "Progress report")
        DONE = "done", pgettext_lazy("task report", "Report of completion")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    text = models.TextField(_("report"), blank=True)

    class Meta:
        ordering = ["task", "at", "id"]
        indexes = [models.Index(fields=["task", "at"], name="taskreport_task_at")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["progress", "done"]), name="taskreport_kind_valid"),
            models.CheckConstraint(condition=~Q(kind="progress") | ~Q(text=""), name="taskreport_progress_text"),
        ]
        verbose_name = _("task report")
        verbose_name_plural = _("task reports")

    def __str__(self) -> str:
        return f"{self.task_id}: {self.kind} {self.at:%Y-%m-%d}"


class TaskAttachment(models.Model):
    """One PDF of a report: its facts (``meetings.pdfcheck``) and its stored file."""

    report = models.ForeignKey(TaskReport, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(_("file name"), max_length=255)
    name_key = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=attachment_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    pages = models.PositiveIntegerField()

    class Meta:
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report", "position"], name="taskattachment_position"),
            models.UniqueConstraint(fields=["report", "sha256"], name="taskattachment_once_per_report"),
        ]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename
