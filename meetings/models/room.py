"""The live session room: event log, comments, speaking queue, positions, presence."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .documents import Document
from .sessions import AgendaItem, Meeting


class Event(models.Model):
    """One entry of a session's ordered event log (DESIGN.md §3 principle 2).

    ``audience`` lists who may receive it, as tokens: ``all`` (every participant), ``internal``
    (those who read internal papers: not observers), ``secretariat``, ``chair`` and ``u<user id>``.
    The payload is serialised once, when the event is written.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    audience = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "seq"]
        constraints = [models.UniqueConstraint(fields=["meeting", "seq"], name="event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.meeting_id}#{self.seq} {self.kind}"


class Comment(models.Model):
    """A comment on an agenda item or one of its documents (optionally a page).

    Never deleted: an edit keeps the previous text in ``CommentRevision``; a deletion leaves a
    tombstone (``deleted_at``) whose text is no longer shown.
    """

    class Visibility(models.TextChoices):
        SHARED = "shared", _("Shared with the session")
        SECRETARIAT = "secretariat", _("To the secretariat")
        PRIVATE = "private", _("Private note")

    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="comments")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.CASCADE, related_name="comments")
    page = models.PositiveIntegerField(null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    visibility = models.CharField(max_length=20, choices=Visibility.choices, default=Visibility.SHARED)
    text = models.TextField()
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(visibility__in=["shared", "secretariat", "private"]),
                                   name="comment_visibility_valid"),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} by {self.author_id}"


class CommentRevision(models.Model):
    """A previous text of an edited comment."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="revisions")
    text = models.TextField()
    replaced_at = models.DateTimeField()

    class Meta:
        ordering = ["comment", "replaced_at", "id"]

    def __str__(self) -> str:
        return f"revision of comment {self.comment_id}"


class SpeakRequest(models.Model):
    """A request to speak on an agenda item (đăng ký phát biểu) and what became of it."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SPEAKING = "speaking", _("Speaking")
        DONE = "done", _("Spoke")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="speak_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    requested_at = models.DateTimeField()
    floor_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agenda_item", "requested_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["waiting", "speaking", "done", "withdrawn"]),
                                   name="speak_status_valid"),
            models.UniqueConstraint(fields=["agenda_item", "user"], condition=Q(status__in=["waiting", "speaking"]),
                                    name="speak_one_open_request"),
            models.UniqueConstraint(fields=["agenda_item"], condition=Q(status="speaking"),
                                    name="speak_one_speaker"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.agenda_item_id}: {self.status}"


class Position(models.Model):
    """A member's position on an agenda item before the session (as in Estonia's e-Cabinet)."""

    class Value(models.TextChoices):
        NO_OBJECTION = "no_objection", _("No objection")
        WISH_TO_SPEAK = "wish_to_speak", _("Wish to speak")
        OBJECT = "object", _("Object")

    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="positions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    value = models.CharField(max_length=20, choices=Value.choices)
    note = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agenda_item", "user"], name="position_once_per_member"),
            models.CheckConstraint(condition=Q(value__in=["no_objection", "wish_to_speak", "object"]),
                                   name="position_value_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.agenda_item_id}: {self.value}"


class Presence(models.Model):
    """One open WebSocket connection of a participant (several processes share this table)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["meeting", "user"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.meeting_id}"
