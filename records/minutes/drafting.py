"""Minutes of a session, before they are frozen: reading, the draft, its edits and comments (issue 5).

Lifecycle of the minutes: ``generate`` (the secretariat, once the session is adjourned) → ``update``
and participants' ``comment`` while ``draft`` → ``finalize`` (rendered to PDF/A-3b, frozen) →
``sign`` by the session's secretary → ``sign`` by the chair, which seals. This module holds the draft
and the reading of everything the session produced; ``records.minutes.sealing`` finalises and signs
(the minutes, the resolution, corrections), ``records.minutes.keys`` unlocks a signer's key.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from ecabinet import audit, limits, notify
from ecabinet.errors import Conflict, InvalidState, NotFound, ValidationFailed
from meetings import permissions
from meetings.models import Meeting, Minutes, MinutesComment, Participant, SealedDocument, SignatureStep
from meetings.services.guards import current_time
from records import permissions as records_permissions

from ..record import session_record
from . import records
from .sanitize import MAX_LENGTH, clean_html

S = Meeting.Status
AFTER_SESSION = (S.ADJOURNED, S.CLOSED)
MAX_DECISIONS = 200
MAX_DECISION_LENGTH = 4000
MAX_COMMENT_LENGTH = 4000
MAX_NUMBER_LENGTH = 60
COMMENTERS = records_permissions.MINUTES_COMMENTERS


# --- reading -----------------------------------------------------------------------------------


def _access(actor, meeting_id: int) -> permissions.MeetingAccess:
    return permissions.meeting_access(actor, meeting_id)


def _minutes(meeting: Meeting) -> Minutes:
    minutes = Minutes.objects.filter(meeting=meeting).select_related("document").first()
    if minutes is None:
        raise NotFound(_("The minutes of this session have not been drafted yet."), code="no_minutes")
    return minutes


def minutes_for(*, actor, meeting_id: int) -> tuple[permissions.MeetingAccess, Minutes]:
    """The minutes of a session the actor may see (participants, and archivists once closed)."""
    access = _access(actor, meeting_id)
    return access, _minutes(access.meeting)


def sealed_for(*, actor, meeting_id: int, kind: str, document_id: int | None = None) -> SealedDocument:
    """A rendered document of the session, for reading or verification."""
    access = _access(actor, meeting_id)
    documents = SealedDocument.objects.filter(meeting=access.meeting, kind=kind)
    if document_id is not None:
        documents = documents.filter(pk=document_id)
    document = documents.order_by("-created_at", "-id").first()
    if document is None:
        messages = {"minutes": _("The minutes have not been finalised yet."),
                    "resolution": _("The session resolution has not been signed yet."),
                    "correction": _("There is no such correction.")}
        raise NotFound(messages[kind], code=f"no_{kind}")
    return document


def minutes_view(*, actor, meeting_id: int) -> tuple[permissions.MeetingAccess, Minutes]:
    """``minutes_for``, with the reading written to the audit chain (``minutes.viewed``)."""
    access, minutes = minutes_for(actor=actor, meeting_id=meeting_id)
    audit.record(actor, "minutes.viewed", minutes, meeting_id=meeting_id)
    return access, minutes


def sealed_download(*, actor, meeting_id: int, kind: str, document_id: int | None = None) -> SealedDocument:
    """``sealed_for``, with the download written to the audit chain (``minutes.downloaded``,
    ``resolution.downloaded``, ``correction.downloaded``, with the file's SHA-256)."""
    document = sealed_for(actor=actor, meeting_id=meeting_id, kind=kind, document_id=document_id)
    audit.record(actor, f"{kind}.downloaded", document, meeting_id=meeting_id, data={"sha256": document.sha256})
    return document


def read_bytes(document: SealedDocument | SignatureStep) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


# --- helpers -----------------------------------------------------------------------------------


def _require_after_session(meeting: Meeting) -> None:
    if meeting.status not in AFTER_SESSION:
        raise InvalidState(_("The minutes can be drawn up only after the session has been adjourned."),
                           code="session_not_adjourned")


def _chair(meeting: Meeting):
    participant = (Participant.objects.filter(meeting=meeting, role=Participant.Role.CHAIR)
                   .select_related("user").first())
    return participant.user if participant else None


def _secretary(meeting: Meeting, preferred=None):
    """The session's secretary who signs: ``preferred`` if they are one, else the first invited."""
    secretaries = list(Participant.objects.filter(meeting=meeting, role=Participant.Role.SECRETARY)
                       .select_related("user").order_by("id"))
    for participant in secretaries:
        if preferred is not None and participant.user_id == preferred.pk:
            return participant.user
    return secretaries[0].user if secretaries else None


def _text(value, *, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(_("“%(field)s” must be text.") % {"field": field}, code="invalid_text")
    if len(value) > limit:
        raise ValidationFailed(_("“%(field)s” is too long (at most %(limit)s characters).")
                               % {"field": field, "limit": limit}, code="text_too_long")
    return value


# --- the draft ---------------------------------------------------------------------------------


def minutes_generate(*, actor, meeting_id: int) -> tuple[Minutes, bool]:
    """Draft the minutes from the session record (the secretariat, after adjournment).

    The first call creates the draft (``created`` True). While it is a draft, a later call takes the
    record again (attendance, speakers, votes) and keeps the secretary's text; after finalisation it
    is refused."""
    access = _access(actor, meeting_id)
    access.require(access.can_manage)
    meeting = access.meeting
    _require_after_session(meeting)
    record = session_record(meeting)
    now = current_time()
    with transaction.atomic():
        audit.lock_head()
        minutes = Minutes.objects.select_for_update().filter(meeting=meeting).first()
        if minutes is None:
            minutes = Minutes.objects.create(
                meeting=meeting, number=f"{meeting.pk}/{_symbol('minutes')}",
                place=_default_place(), record=record, narratives=records.default_narratives(record),
                decisions=records.default_decisions(record), recorded_comments=records.shared_comment_ids(record),
                generated_by=actor, generated_at=now, updated_at=now)
            created = True
        else:
            if minutes.status != Minutes.Status.DRAFT:
                raise InvalidState(_("The minutes have been finalised; they can no longer be regenerated."),
                                   code="minutes_final")
            known = set(records.shared_comment_ids(record))
            narratives = {**records.default_narratives(record), **minutes.narratives}
            minutes.record = record
            minutes.narratives = {k: v for k, v in narratives.items() if k in {str(i["id"]) for i in record["agenda"]}}
            minutes.recorded_comments = [c for c in minutes.recorded_comments if c in known]
            minutes.revision += 1
            minutes.updated_at = now
            minutes.save()
            created = False
        audit.record(actor, "minutes.generated" if created else "minutes.regenerated", minutes,
                     meeting_id=meeting.pk, data={"revision": minutes.revision})
        if created:
            readers = [u for u in records_permissions.minutes_readers(meeting, commenters=True) if u.pk != actor.pk]
            notify.notify(readers, kind="minutes.draft",
                          title=_("Draft minutes of “%(title)s” are ready for your comments")
                          % {"title": meeting.title},
                          url=f"/meetings/{meeting.pk}/minutes/", email=False)
    return minutes, created


def _symbol(kind: str) -> str:
    from django.conf import settings

    return settings.MINUTES_SYMBOL if kind == "minutes" else settings.RESOLUTION_SYMBOL


def _default_place() -> str:
    from django.conf import settings

    return settings.MINUTES_PLACE


def _locked_draft(meeting: Meeting, when_final: str) -> Minutes:
    """The session's draft minutes, locked for this transaction (the audit head first)."""
    audit.lock_head()
    minutes = Minutes.objects.select_for_update().filter(meeting=meeting).first()
    if minutes is None:
        raise NotFound(_("The minutes of this session have not been drafted yet."), code="no_minutes")
    if minutes.status != Minutes.Status.DRAFT:
        raise InvalidState(when_final, code="minutes_final")
    return minutes


def minutes_update(*, actor, meeting_id: int, revision: int, changes: dict) -> Minutes:
    """Edit the draft: ``opening``, ``narratives`` ({item id: text}), ``decisions`` (list of text),
    ``recorded_comments`` (ids of shared comments), ``number``, ``place``. ``revision`` must be the
    revision the editor started from, so that two editors never overwrite each other silently."""
    access = _access(actor, meeting_id)
    access.require(access.can_manage)
    clean = _clean_changes(changes)
    with transaction.atomic():
        minutes = _locked_draft(access.meeting, _("The minutes have been finalised and can no longer be edited."))
        if revision != minutes.revision:
            raise Conflict(_("Someone else changed the minutes meanwhile (revision %(now)s, you edited %(yours)s). "
                             "Reload them and make your change again.") % {"now": minutes.revision, "yours": revision},
                           code="stale_revision")
        items = {str(item["id"]) for item in minutes.record["agenda"]}
        if "narratives" in clean:
            unknown = set(clean["narratives"]) - items
            if unknown:
                raise ValidationFailed(_("These agenda items are not part of this session: %(ids)s.")
                                       % {"ids": ", ".join(sorted(unknown))}, code="unknown_item")
            clean["narratives"] = {**minutes.narratives, **clean["narratives"]}
        if "recorded_comments" in clean:
            unknown = set(clean["recorded_comments"]) - set(records.shared_comment_ids(minutes.record))
            if unknown:
                raise ValidationFailed(_("Only comments shared with the session can go on the record."),
                                       code="unknown_comment")
        for field, value in clean.items():
            setattr(minutes, field, value)
        minutes.revision += 1
        minutes.updated_at = current_time()
        minutes.save()
        audit.record(actor, "minutes.edited", minutes, meeting_id=minutes.meeting_id,
                     data={"revision": minutes.revision, "fields": sorted(clean)})
    return minutes


def _clean_changes(changes: dict) -> dict:
    allowed = {"opening", "narratives", "decisions", "recorded_comments", "number", "place"}
    if not isinstance(changes, dict) or not changes:
        raise ValidationFailed(_("Say what to change in the minutes."), code="nothing_to_change")
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(_("These fields cannot be edited: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
                               code="unknown_field")
    clean: dict = {}
    if "opening" in changes:
        clean["opening"] = clean_html(_text(changes["opening"], field="opening", limit=MAX_LENGTH))
    if "narratives" in changes:
        narratives = changes["narratives"]
        if not isinstance(narratives, dict):
            raise ValidationFailed(_("“narratives” maps agenda item ids to text."), code="invalid_narratives")
        clean["narratives"] = {str(k): clean_html(_text(v, field="narratives", limit=MAX_LENGTH))
                               for k, v in narratives.items()}
    if "decisions" in changes:
        decisions = changes["decisions"]
        if not isinstance(decisions, list) or len(decisions) > MAX_DECISIONS:
            raise ValidationFailed(_("“decisions” is a list of at most %(n)s texts.") % {"n": MAX_DECISIONS},
                                   code="invalid_decisions")
        lines = [" ".join(_text(d, field="decisions", limit=MAX_DECISION_LENGTH).split()) for d in decisions]
        clean["decisions"] = [line for line in lines if line]
    if "recorded_comments" in changes:
        ids = changes["recorded_comments"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValidationFailed(_("“recorded_comments” is a list of comment ids."), code="invalid_comments")
        clean["recorded_comments"] = sorted(set(ids))
    for field in ("number", "place"):
        if field in changes:
            value = " ".join(_text(changes[field], field=field, limit=MAX_NUMBER_LENGTH).split())
            if not value:
                raise ValidationFailed(_("“%(field)s” cannot be empty.") % {"field": field}, code="invalid_text")
            clean[field] = value
    return clean


def minutes_comment(*, actor, meeting_id: int, text: str, item_id: int | None = None) -> MinutesComment:
    """A participant's remark on the draft (chair, members, substitutes, secretaries)."""
    access = _access(actor, meeting_id)
    access.require(access.role in COMMENTERS)
    text = _text(text, field="text", limit=MAX_COMMENT_LENGTH).strip()
    if not text:
        raise ValidationFailed(_("Write your comment first."), code="comment_empty")
    # The room's comment limits (ecabinet.limits: comments, and their characters), here so that the
    # API and the screen both count (issue 14: 250 comments of 4,000 characters in 3.4 s).
    limits.check("comments", actor, also=(("comment_chars", len(text)),))
    with transaction.atomic():
        minutes = _locked_draft(access.meeting, _("The minutes have been finalised; comments are closed."))
        if item_id is not None and str(item_id) not in {str(i["id"]) for i in minutes.record["agenda"]}:
            raise ValidationFailed(_("This agenda item is not part of this session."), code="unknown_item")
        comment = MinutesComment.objects.create(minutes=minutes, item_id=item_id, author=actor, text=text,
                                                created_at=current_time())
        audit.record(actor, "minutes.commented", comment, meeting_id=minutes.meeting_id,
                     data={"item": item_id, "length": len(text)})
    return comment
