"""Documents with versions, read receipts, the register of copies, and per-object grants."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from .sessions import AgendaItem, Meeting


class Document(models.Model):
    class Classification(models.TextChoices):
        PUBLIC = "public", _("Public")
        INTERNAL = "internal", _("Internal")
        RESTRICTED = "restricted", _("Restricted")

    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=500)
    classification = models.CharField(_("classification"), max_length=20, choices=Classification.choices,
                                      default=Classification.INTERNAL)
    current_version = models.ForeignKey(
        "DocumentVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        default_permissions = ()
        permissions = [("view_document", "Is a named recipient of the restricted document")]
        constraints = [
            models.CheckConstraint(condition=Q(classification__in=["public", "internal", "restricted"]),
                                   name="document_classification_valid"),
        ]

    def __str__(self) -> str:
        return self.title


def version_path(sha256: str) -> str:
    """Content-addressed storage: a stored file is never overwritten, and a file left behind by a
    rolled-back upload is harmless and reused by the next upload of the same bytes."""
    return f"documents/{sha256[:2]}/{sha256}.pdf"


def version_upload_to(instance: "DocumentVersion", filename: str) -> str:
    return version_path(instance.sha256)


class DocumentVersion(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    file = models.FileField(upload_to=version_upload_to, max_length=200)
    original_filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    pages = models.PositiveIntegerField()
    text = models.TextField(blank=True, help_text="Extracted text, for comparing versions.")
    note = models.CharField(_("what changed"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="version_number_unique")]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"


class ReadReceipt(models.Model):
    """Who opened which version, first and last time."""

    version = models.ForeignKey(DocumentVersion, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_opened_at = models.DateTimeField()
    last_opened_at = models.DateTimeField()
    open_count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="receipt_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.version_id}"


class DocumentCopy(models.Model):
    """The register of watermarked copies handed out: copy number N of a version went to this user."""

    version = models.ForeignKey(DocumentVersion, on_delete=models.CASCADE, related_name="copies")
    number = models.PositiveIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "number"], name="copy_number_unique")]

    def __str__(self) -> str:
        return f"copy {self.number} of {self.version_id}"


def reader_copy_path(version_id: int, user_id: int, copy_number: int) -> str:
    return f"reader/{version_id}/{user_id}-copy{copy_number}.pdf"


class ReaderCopy(models.Model):
    """The in-app reader's own watermarked copy of a version for one user (issue 17, contract C2).

    Issued once per (user, version): the first read takes a numbered copy in the register
    (``copy``), watermarks it outside any transaction and keeps the file; every later read (and
    every byte range PDF.js asks for) serves that same file. The row exists before the file does:
    it is the claim that stops two concurrent first reads from issuing two copies; ``claimed_at``
    lets a later read take over a claim whose request died (``READER_COPY_CLAIM_SECONDS``)."""

    version = models.ForeignKey(DocumentVersion, on_delete=models.CASCADE, related_name="reader_copies")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    copy = models.OneToOneField(DocumentCopy, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="reader_copy")
    file = models.FileField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    claimed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="reader_copy_once_per_user")]

    def __str__(self) -> str:
        return f"reader copy of {self.version_id} for {self.user_id}"


class MeetingUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key permission table (guardian): indexable, unlike the generic one."""

    content_object = models.ForeignKey(Meeting, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "content_object"])]


class DocumentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "content_object"])]
