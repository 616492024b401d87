"""Minutes (biên bản), session resolutions (nghị quyết phiên họp) and corrections (issue 5).

* ``Minutes`` is the editable draft of one session's minutes: a snapshot of the session record, the
  secretary's narrative per agenda item, the decisions, and which shared comments go "on the record".
  It is generated after the session is adjourned, edited while ``draft``, and frozen by ``finalize``.
* ``SealedDocument`` is a rendered PDF/A-3b that is signed: the minutes (secretary, then chair), the
  resolution (chair alone) or a correction (secretary, then chair) that references the document it
  corrects. Its bytes after every signature are kept (``SignatureStep``); once ``sealed`` nothing about
  it changes again. The PDF bytes are stored content-addressed, like document versions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .sessions import AgendaItem, Meeting


def sealed_path(sha256: str) -> str:
    return f"sealed/{sha256[:2]}/{sha256}.pdf"


class Minutes(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Being drafted")
        FINAL = "final", _("Final — awaiting signatures")
        SEALED = "sealed", _("Signed and sealed")

    meeting = models.OneToOneField(Meeting, on_delete=models.PROTECT, related_name="minutes")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(_("number and symbol"), max_length=60)
    place = models.CharField(_("place of issue"), max_length=100)
    record = models.JSONField(help_text="The session record (meetings.record) when the draft was (re)generated.")
    opening = models.TextField(_("opening"), blank=True, help_text="Sanitised HTML.")
    narratives = models.JSONField(default=dict, help_text="Agenda item id → sanitised HTML.")
    decisions = models.JSONField(default=list, help_text="The decisions, one plain-text entry each.")
    recorded_comments = models.JSONField(default=list, help_text="Ids of the shared comments on the record.")
    revision = models.PositiveIntegerField(default=1, help_text="Raised by every edit (optimistic locking).")
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finalized_at = models.DateTimeField(null=True, blank=True)
    document = models.OneToOneField("SealedDocument", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")

    def __str__(self) -> str:
        return f"{self.number} ({self.meeting_id})"


class MinutesComment(models.Model):
    """A participant's remark on the draft minutes, for the secretary."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="comments")
    item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author_id}: {self.text[:40]}"


class SealedDocument(models.Model):
    class Kind(models.TextChoices):
        MINUTES = "minutes", _("Minutes")
        RESOLUTION = "resolution", _("Session resolution")
        CORRECTION = "correction", _("Correction")

    class Status(models.TextChoices):
        UNSIGNED = "unsigned", _("Awaiting signatures")
        PARTIAL = "partial", _("Signed by the secretary")
        SEALED = "sealed", _("Sealed")

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="sealed_documents")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNSIGNED)
    number = models.CharField(max_length=60)
    title = models.CharField(max_length=300)
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="corrections")
    body = models.TextField(blank=True, help_text="A correction's text (sanitised HTML).")
    file = models.FileField(max_length=200, help_text="The current bytes: unsigned, then after each signature.")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    record_sha256 = models.CharField(max_length=64, help_text="sha256 of the embedded JSON record.")
    audit_seq = models.PositiveBigIntegerField(help_text="Audit chain head (seq) printed in the document.")
    audit_hash = models.CharField(max_length=64, help_text="Audit chain head (hash) printed in the document.")
    signature_boxes = models.JSONField(default=dict, blank=True,
                                       help_text="Role → [page, [x1, y1, x2, y2]]: where each signature stamp goes.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    sealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "kind"], condition=models.Q(kind="minutes"),
                                    name="one_minutes_per_meeting"),
            models.UniqueConstraint(fields=["meeting", "kind"], condition=models.Q(kind="resolution"),
                                    name="one_resolution_per_meeting"),
            models.CheckConstraint(condition=models.Q(kind="correction") | models.Q(corrects__isnull=True),
                                   name="only_corrections_correct"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class SignatureStep(models.Model):
    """One signature added to a sealed document, with the bytes it produced."""

    class Role(models.TextChoices):
        SECRETARY = "secretary", _("Secretary")
        CHAIR = "chair", _("Chair")

    document = models.ForeignKey(SealedDocument, on_delete=models.PROTECT, related_name="signatures")
    role = models.CharField(max_length=10, choices=Role.choices)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    field_name = models.CharField(max_length=60)
    certificate_subject = models.CharField(max_length=300)
    certificate_sha256 = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64, help_text="sha256 of the file after this signature.")
    file = models.FileField(max_length=200)

    class Meta:
        ordering = ["document", "signed_at", "id"]
        constraints = [models.UniqueConstraint(fields=["document", "role"], name="one_signature_per_role")]

    def __str__(self) -> str:
        return f"{self.document} — {self.role}"
