"""Annotations on document versions (issue 17): create, change, delete (a tombstone), and carry
forward onto a new version. Same rules as ``meetings.services``: keyword-only, one transaction,
permission and state checks, an audit entry and an event-log entry.

Who may annotate: whoever may read the document (``permissions.document_access``); the visibilities
they may use are ``permissions.annotation_visibilities`` (private always; shared and to the
secretariat as for comments, while the session is published, in progress or adjourned). Only the
author changes or deletes an annotation; someone else's gets ``NotFound`` if they may not see it,
``Forbidden`` if they may.

Every input is checked against docs/limits.md § Annotations before anything is written, each refusal
with one message and one code; a refused call leaves the stored data as it was.

Audit: ``annotation.created|updated|deleted`` with the annotation's id, document, version, kind and
visibility (and the names of the fields changed) — never its text, quote or shape: a private
annotation is a person's reading note, and the session's audit entries go whole into its archive
package. Carrying forward onto a new version: ``annotation_carry``.
"""

from __future__ import annotations

import math
import re

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from ecabinet import audit
from ecabinet.errors import Conflict, Forbidden, NotFound, ValidationFailed

from .. import events, permissions
from ..models import Annotation, Document, DocumentVersion
from .guards import current_time, version_of

__all__ = ["annotation_create", "annotation_delete", "annotation_dict", "annotation_update", "normalise_quote",
           "own_annotation"]

K, V = Annotation.Kind, Annotation.Visibility
# Coordinates are kept to a millionth of the page (a thousandth of a point on A4).
DIGITS = 6
# Characters nobody types (as in comments): refused in a note's text, replaced by a space in a quote
# (a PDF's text layer may hold them, and the quote is only what the reader selected).
_UNTYPABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
EDITABLE = ("text", "color", "visibility", "rects", "ink", "point")


def normalise_quote(text: str) -> str:
    """A quote as it is stored and searched: untypable characters out, whitespace collapsed."""
    return _SPACES.sub(" ", _UNTYPABLE.sub(" ", text or "")).strip()


def annotation_dict(a: Annotation, me_id: int | None = None) -> dict:
    """An annotation as the API returns it (C4). ``mine`` only when the reader is known: the events
    are serialised once for all their readers and leave it out (the reader compares ``author.id``)."""
    data = {"id": a.pk, "document": a.document_id, "version": a.version.number, "page": a.page, "kind": a.kind,
            "visibility": a.visibility, "color": a.color, "rects": a.rects, "ink": a.ink, "point": a.point,
            "quote": a.quote, "text": a.text, "author": {"id": a.author_id, "name": a.author.full_name},
            "created_at": a.created_at, "updated_at": a.updated_at, "placement": a.placement,
            "carried_from": a.carried_from_id}
    if me_id is not None:
        data["mine"] = a.author_id == me_id
    return data


# --- checking the input -----------------------------------------------------------------------------

def _invalid(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code)


def _fraction(value) -> float | None:
    """A coordinate: a finite number from 0 to 1 (booleans are not numbers here), rounded."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        return None
    return round(value, DIGITS)


def _bad_coordinates() -> ValidationFailed:
    return _invalid(_("Positions on the page must be numbers from 0 to 1."), "invalid_coordinates")


def _pair(value) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise _bad_coordinates()
    pair = [_fraction(v) for v in value]
    if None in pair:
        raise _bad_coordinates()
    return pair


def _clean_rects(rects) -> list[list[float]]:
    if not isinstance(rects, list):
        raise _invalid(_("A highlight's rectangles must be a list of [x, y, width, height]."), "invalid_rects")
    limit = settings.ANNOTATION_MAX_RECTS
    if len(rects) > limit:
        raise _invalid(_("A highlight has at most %(n)s rectangles.") % {"n": limit}, "too_many_rects")
    out = []
    for rect in rects:
        if not isinstance(rect, list) or len(rect) != 4:
            raise _invalid(_("A highlight's rectangles must be a list of [x, y, width, height]."), "invalid_rects")
        x, y, w, h = (_fraction(v) for v in rect)
        if None in (x, y, w, h) or x + w > 1 + 1e-6 or y + h > 1 + 1e-6:
            raise _bad_coordinates()
        out.append([x, y, w, h])
    return out


def _clean_ink(ink) -> list[list[list[float]]]:
    if not isinstance(ink, list) or any(not isinstance(stroke, list) for stroke in ink):
        raise _invalid(_("A drawing must be a list of strokes, each a list of [x, y] points."), "invalid_ink")
    strokes, points = settings.ANNOTATION_MAX_STROKES, settings.ANNOTATION_MAX_POINTS
    if len(ink) > strokes:
        raise _invalid(_("A drawing has at most %(n)s strokes.") % {"n": strokes}, "too_many_strokes")
    if sum(len(stroke) for stroke in ink) > points:
        raise _invalid(_("A drawing has at most %(n)s points in all.") % {"n": points}, "too_many_points")
    if any(not stroke for stroke in ink):
        raise _invalid(_("A drawing must be a list of strokes, each a list of [x, y] points."), "invalid_ink")
    return [[_pair(p) for p in stroke] for stroke in ink]


def _clean_point(point) -> list[float]:
    return _pair(point)


def _clean_text(text) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise _invalid(_("The note must be text."), "invalid_text")
    text = text.strip()
    limit = settings.COMMENT_MAX_CHARS
    if len(text) > limit:
        raise _invalid(_("The note is too long (at most %(n)s characters).") % {"n": limit}, "text_too_long")
    if _UNTYPABLE.search(text):
        raise _invalid(_("The note contains control characters."), "invalid_characters")
    return text


def _clean_quote(quote) -> str:
    if quote is None:
        return ""
    if not isinstance(quote, str):
        raise _invalid(_("The quoted text must be text."), "invalid_quote")
    limit = settings.ANNOTATION_MAX_QUOTE_CHARS
    if len(quote) > limit:  # before any work on it
        raise _invalid(_("The quoted text is too long (at most %(n)s characters).") % {"n": limit},
                       "quote_too_long")
    return normalise_quote(quote)


def _clean_choice(value, choices, code: str, message: str) -> str:
    if value not in choices.values:
        raise _invalid(message, code)
    return value


def _clean_visibility(value) -> str:
    return _clean_choice(value, V, "invalid_visibility",
                         _("Visibility must be private, shared or secretariat."))


def _clean_color(value) -> str:
    return _clean_choice(value, Annotation.Color, "invalid_color", _("Colour must be yellow, green, blue or pink."))


SHAPE_OF = {K.HIGHLIGHT: "rects", K.INK: "ink", K.NOTE: "point"}


def _clean_shape(kind: str, rects, ink, point, *, required: bool) -> dict:
    """The shape fields of an annotation of ``kind``: the one it has, checked (and required on
    creation, as not empty), the others empty. Returns only the fields given (not None)."""
    given = {"rects": rects, "ink": ink, "point": point}
    own = SHAPE_OF[kind]
    for name, value in given.items():
        if name != own and value not in (None, [], ()):
            messages = {K.HIGHLIGHT: _("A highlight has rectangles only (no strokes, no point)."),
                        K.INK: _("A drawing has strokes only (no rectangles, no point)."),
                        K.NOTE: _("A note has a point only (no rectangles, no strokes).")}
            raise _invalid(messages[kind], "shape_not_for_kind")
    value = given[own]
    if value is None or value == []:
        if kind == K.HIGHLIGHT and value == [] and not required:
            return {"rects": []}  # the reader recomputes a carried highlight's rectangles from its quote
        if required or value == []:
            messages = {"rects": (_("A highlight needs the rectangles it covers."), "rects_required"),
                        "ink": (_("A drawing needs at least one stroke."), "ink_required"),
                        "point": (_("A note needs its place on the page."), "point_required")}
            message, code = messages[own]
            raise _invalid(message, code)
        return {}
    cleaner = {"rects": _clean_rects, "ink": _clean_ink, "point": _clean_point}[own]
    return {own: cleaner(value)}


def _clean_page(page, version: DocumentVersion) -> int:
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= version.pages:
        raise _invalid(_("The document has pages 1 to %(n)s.") % {"n": version.pages}, "invalid_page")
    return page


def _require_visibility(access: permissions.MeetingAccess, visibility: str, *, existing: bool = False) -> None:
    if visibility not in permissions.annotation_visibilities(access):
        if existing:
            message = _("This annotation is shared with others, and in this state of the session it can no "
                        "longer be changed.")
        elif access.meeting.status not in permissions.ANNOTATION_SHARING_STATES:
            message = _("In this state of the session annotations are private notes only.")
        else:
            message = _("You may keep private annotations only.")
        raise Forbidden(message, code="visibility_not_allowed")


# --- writes -----------------------------------------------------------------------------------------

def _audience(a: Annotation) -> list[str]:
    recipients = permissions.document_recipient_ids(a.document) \
        if a.document.classification == Document.Classification.RESTRICTED else ()
    return permissions.annotation_audience(a, recipients)


def _audit(actor, action: str, a: Annotation, **extra) -> None:
    audit.record(actor, action, a, meeting_id=a.meeting_id,
                 data={"document": a.document_id, "version": a.version.number, "kind": a.kind,
                       "visibility": a.visibility, **extra})


def _version_of(document: Document, number) -> DocumentVersion:
    if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
        raise _invalid(_("The version must be a whole number."), "invalid_version")
    version = version_of(document, number)
    version.document = document
    return version


def weight_of(*, rects=(), ink=(), point=None, text: str = "", quote: str = "") -> int:
    """What an annotation weighs in its author's budget on a version: its coordinates (2 per point, 4
    per rectangle) and the characters of its text and quote (``ANNOTATION_MAX_WEIGHT_PER_USER_VERSION``)."""
    return (4 * len(rects or ()) + 2 * sum(len(stroke) for stroke in ink or ()) + (2 if point else 0)
            + len(text or "") + len(quote or ""))


def _require_room(actor, version: DocumentVersion, *, adding: int, weight: int, besides: int | None = None) -> None:
    """The author's live annotations on ``version`` stay within the count and weight bounds once this
    one is added (``adding=1``) or changed (``besides``: its own row, not counted twice). Called with
    the audit chain's head locked: exact under concurrent writes of one person."""
    rows = Annotation.objects.filter(version=version, author=actor, deleted_at__isnull=True)
    if besides is not None:
        rows = rows.exclude(pk=besides)
    held = rows.aggregate(n=Count("id"), w=Sum("weight"))
    limit = settings.ANNOTATION_MAX_PER_USER_VERSION
    if adding and held["n"] + adding > limit:
        raise Conflict(_("You may keep at most %(n)s annotations on one version of a document.") % {"n": limit},
                       code="too_many_annotations")
    if (held["w"] or 0) + weight > settings.ANNOTATION_MAX_WEIGHT_PER_USER_VERSION:
        raise Conflict(_("Your annotations on this version of the document are too large in all (drawings and "
                         "notes). Delete some you no longer need, or draw with fewer strokes."),
                       code="annotations_too_large")


@transaction.atomic
def annotation_create(*, actor, document_id: int, kind: str, page, version_number: int | None = None,
                      visibility: str = V.PRIVATE, color: str = Annotation.Color.YELLOW, rects=None, ink=None,
                      point=None, quote: str = "", text: str = "") -> Annotation:
    """Annotate a page of a version (the current one by default) of a document the caller reads."""
    access, document = permissions.document_access(actor, document_id)
    version = _version_of(document, version_number)
    kind = _clean_choice(kind, K, "invalid_kind", _("Kind must be highlight, ink or note."))
    visibility = _clean_visibility(visibility)
    color = _clean_color(color)
    page = _clean_page(page, version)
    shape = _clean_shape(kind, rects, ink, point, required=True)
    quote, text = _clean_quote(quote), _clean_text(text)
    _require_visibility(access, visibility)
    weight = weight_of(**shape, text=text, quote=quote)
    audit.lock_head()  # every write takes it first anyway: the budget below is then exact under concurrency
    _require_room(actor, version, adding=1, weight=weight)
    now = current_time()
    a = Annotation.objects.create(version=version, document=document, meeting=access.meeting, author=actor,
                                  page=page, kind=kind, visibility=visibility, color=color, quote=quote, text=text,
                                  weight=weight, created_at=now, updated_at=now, **shape)
    a.version, a.document, a.author = version, document, actor
    _audit(actor, "annotation.created", a)
    events.emit(access.meeting, "annotation.created", {"annotation": annotation_dict(a)}, _audience(a))
    return a


def own_annotation(actor, annotation_id: int) -> tuple[permissions.MeetingAccess, Annotation]:
    """The caller's own live annotation; ``NotFound`` for one they may not see (or whose document
    they no longer read), ``Forbidden`` for someone else's they see."""
    a = (Annotation.objects.select_related("document", "version", "author").filter(pk=annotation_id).first())
    if a is None:
        raise NotFound()
    access, _document = permissions.document_access(actor, a.document_id)
    if a.author_id != actor.pk:
        if a.deleted_at is not None or not permissions.hears(access, _audience(a)):
            raise NotFound()
        raise Forbidden(_("Only the author may change an annotation."), code="not_author")
    if a.deleted_at is not None:
        raise Conflict(_("This annotation was deleted."), code="annotation_deleted")
    return access, a


@transaction.atomic
def annotation_update(*, actor, annotation_id: int, **changes) -> Annotation:
    """Change the text, colour, visibility or shape of one's own annotation (the fields given)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise _invalid(_("Only text, color, visibility, rects, ink and point can be changed."), "not_editable")
    access, a = own_annotation(actor, annotation_id)
    new: dict = {}
    if "visibility" in changes:
        new["visibility"] = _clean_visibility(changes["visibility"])
    if "color" in changes:
        new["color"] = _clean_color(changes["color"])
    if "text" in changes:
        new["text"] = _clean_text(changes["text"])
    new.update(_clean_shape(a.kind, changes.get("rects"), changes.get("ink"), changes.get("point"), required=False))
    before = a.visibility
    _require_visibility(access, before, existing=True)  # a shared one stays as it is once the session closes
    _require_visibility(access, new.get("visibility", before))
    changed = sorted(name for name, value in new.items() if getattr(a, name) != value)
    if not changed:
        return a
    weight = weight_of(rects=new.get("rects", a.rects), ink=new.get("ink", a.ink), point=new.get("point", a.point),
                       text=new.get("text", a.text), quote=a.quote)
    if weight > a.weight:
        audit.lock_head()
        _require_room(actor, a.version, adding=0, weight=weight, besides=a.pk)
    old_audience = _audience(a)
    for name in changed:
        setattr(a, name, new[name])
    a.weight = weight
    a.updated_at = current_time()
    a.save(update_fields=[*changed, "weight", "updated_at"])
    _audit(actor, "annotation.updated", a, changed=changed, **({"from": before} if before != a.visibility else {}))
    items = [("annotation.updated", {"annotation": annotation_dict(a)}, _audience(a))]
    lost = sorted(set(old_audience) - set(_audience(a)))
    if lost or "text" in changed:  # what was said before is not handed out again by a replay
        _withdraw_from_replay(a)
    if lost:  # narrowed (shared → private): those who no longer see it drop it
        items.insert(0, ("annotation.deleted", {"annotation": {"id": a.pk, "document": a.document_id,
                                                               "version": a.version.number}}, lost))
    events.emit_many(access.meeting, items)
    return a


def _withdraw_from_replay(a: Annotation) -> None:
    """The earlier events of an annotation narrowed, rewritten or deleted by its author no longer carry
    its text or shape: a replay (``/events/?after_seq=``) gives only that it was withdrawn."""
    events.withdraw_earlier(a.meeting_id, ("annotation.created", "annotation.updated"), "annotation", a.pk,
                            {"annotation": {"id": a.pk, "document": a.document_id, "version": a.version.number,
                                            "withdrawn": True}})


@transaction.atomic
def annotation_delete(*, actor, annotation_id: int) -> Annotation:
    """Delete one's own annotation: the row stays as a tombstone (``deleted_at``)."""
    access, a = own_annotation(actor, annotation_id)
    _require_visibility(access, a.visibility, existing=True)
    a.deleted_at = current_time()
    a.save(update_fields=["deleted_at"])
    _audit(actor, "annotation.deleted", a)
    _withdraw_from_replay(a)
    events.emit(access.meeting, "annotation.deleted",
                {"annotation": {"id": a.pk, "document": a.document_id, "version": a.version.number}}, _audience(a))
    return a
