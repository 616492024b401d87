"""Annotations on a document version: highlights, drawings (ink) and notes (issue 17).

One row per annotation per version: when a version is added, the live annotations of the previous
one are copied onto it (``carried_from``), so each version's annotations stay where they were drawn.
Never deleted: a deletion leaves a tombstone (``deleted_at``). Who sees one is its visibility's rule
(``meetings.permissions.annotation_audience``); what it may hold is bounded by
``meetings.services.annotations`` (docs/limits.md § Annotations).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .documents import Document, DocumentVersion
from .sessions import Meeting


class Annotation(models.Model):
    class Kind(models.TextChoices):
        HIGHLIGHT = "highlight", _("Highlight")
        INK = "ink", _("Drawing")
        NOTE = "note", _("Note")

    class Visibility(models.TextChoices):
        PRIVATE = "private", _("Private note")
        SHARED = "shared", _("Shared with the session")
        SECRETARIAT = "secretariat", _("To the secretariat")

    class Color(models.TextChoices):
        YELLOW = "yellow", _("Yellow")
        GREEN = "green", _("Green")
        BLUE = "blue", _("Blue")
        PINK = "pink", _("Pink")

    class Placement(models.TextChoices):
        PLACED = "placed", _("Placed")
        UNPLACED = "unplaced", _("Not found in this version")

    version = models.ForeignKey(DocumentVersion, on_delete=models.CASCADE, related_name="annotations")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="annotations")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    page = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    visibility = models.CharField(max_length=20, choices=Visibility.choices, default=Visibility.PRIVATE)
    color = models.CharField(max_length=20, choices=Color.choices, default=Color.YELLOW)
    rects = models.JSONField(default=list, blank=True)  # highlight: [[x, y, w, h], ...], fractions of the page
    ink = models.JSONField(default=list, blank=True)  # drawing: [[[x, y], ...], ...], one list per stroke
    point = models.JSONField(null=True, blank=True)  # note: [x, y]
    quote = models.TextField(blank=True)  # the text it is anchored to, whitespace collapsed
    text = models.TextField(blank=True)
    # What it weighs in the author's budget on its version (ANNOTATION_MAX_WEIGHT_PER_USER_VERSION):
    # its coordinates (2 per point, 4 per rectangle) plus the characters of its text and quote.
    weight = models.PositiveIntegerField(default=0)
    placement = models.CharField(max_length=20, choices=Placement.choices, default=Placement.PLACED)
    carried_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["version", "page", "id"]
        indexes = [models.Index(fields=["version", "author"]), models.Index(fields=["meeting", "visibility"])]
        constraints = [
            models.CheckConstraint(condition=Q(visibility__in=["private", "shared", "secretariat"]),
                                   name="annotation_visibility_valid"),
            models.CheckConstraint(condition=Q(kind__in=["highlight", "ink", "note"]), name="annotation_kind_valid"),
            models.CheckConstraint(condition=Q(color__in=["yellow", "green", "blue", "pink"]),
                                   name="annotation_color_valid"),
            models.CheckConstraint(condition=Q(placement__in=["placed", "unplaced"]),
                                   name="annotation_placement_valid"),
            models.CheckConstraint(condition=Q(page__gte=1), name="annotation_page_positive"),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk} by {self.author_id}"
