"""Writes of the live session room: comments, the speaking queue, positions, and the chair's
control of the agenda. Same rules as ``meetings.services``: keyword-only, one transaction,
permission and state checks, an audit entry and an event-log entry with the change.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ecabinet import audit, bulk
from ecabinet.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed

from .. import events, permissions
from ..models import AgendaItem, Comment, CommentRevision, Meeting, Position, SpeakRequest
from ..snapshot import (
    comment_dict,
    position_dict,
    speaker_queue,
)
from .guards import S, current_time, require_state

# Characters in a comment (settings.COMMENT_MAX_CHARS; docs/limits.md): with the snapshot's window of
# comments per item, this bounds what the room sends (meetings.framesize).
MAX_COMMENT_LENGTH = settings.COMMENT_MAX_CHARS
# C0 controls other than tab and line breaks, and lone surrogates: nothing a person types, and each
# control character costs six bytes in JSON (\u0001); a lone surrogate cannot be encoded at all.
_UNTYPABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
COMMENTING_STATES = (S.PUBLISHED, S.IN_PROGRESS, S.ADJOURNED)



def _clean_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_("The comment is empty."), code="text_required")
    limit = settings.COMMENT_MAX_CHARS
    if len(text) > limit:
        raise ValidationFailed(_("The comment is too long (at most %(n)s characters).") % {"n": limit},
                               code="text_too_long")
    if _UNTYPABLE.search(text):
        raise ValidationFailed(_("The comment contains control characters."), code="invalid_characters")
    return text


def _audience(comment: Comment) -> list[str]:
    recipients = permissions.document_recipient_ids(comment.document) if comment.document_id else ()
    return permissions.comment_audience(comment, recipients)

# --- comments -------------------------------------------------------------------------------------

_COMMENT_COLUMNS = ("agenda_item_id", "document_id", "page", "author_id", "visibility", "text", "created_at",
                    "edited_at", "deleted_at")

@transaction.atomic(savepoint=False)
def comment_post(*, actor, item_id: int, text: str, visibility: str = Comment.Visibility.SHARED,
                 document_id: int | None = None, page: int | None = None) -> Comment:
    """Comment on an agenda item or one of its documents. Observers may keep private notes only.

    No savepoint inside the caller's transaction (the API's, ``ecabinet.api.idempotency``): a refusal
    or a failure here rolls the caller's whole transaction back, so nothing of it is stored either way
    (issue 19: the savepoint was two statements of every comment's fifteen)."""
    access, item = permissions.item_access(actor, item_id)
    require_state(access.meeting, COMMENTING_STATES)
    if access.participant is None:
        raise Forbidden(_("Only participants comment."))
    if visibility not in Comment.Visibility.values:
        raise ValidationFailed(_("Visibility must be shared, secretariat or private."), code="invalid_visibility")
    if visibility not in permissions.comment_visibilities(access):
        raise Forbidden(_("Observers may keep private notes only."))
    text = _clean_text(text)
    document = None
    if document_id is not None:
        _doc_access, document = permissions.document_access(actor, document_id)
        if document.agenda_item_id != item.pk:
            raise NotFound()
        pages = document.current_version.pages if document.current_version else 0
        if page is not None and not 1 <= page <= pages:
            raise ValidationFailed(_("The document has pages 1 to %(n)s.") % {"n": pages}, code="invalid_page")
    elif page is not None:
        raise ValidationFailed(_("A page number needs a document."), code="page_without_document")
    comment = Comment(agenda_item=item, document=document, page=page, author=actor, visibility=visibility, text=text,
                      created_at=current_time())
    bulk.save_new(comment, _COMMENT_COLUMNS)  # Comment.objects.create, in one prepared statement
    audit.record(actor, "comment.posted", comment, meeting_id=access.meeting.pk,
                 data={"item": item.pk, "visibility": visibility, "document": document_id, "page": page})
    events.emit(access.meeting, "comment.posted", {"comment": comment_dict(comment)}, _audience(comment))
    return comment


def _own_comment(actor, comment_id: int) -> tuple[permissions.MeetingAccess, Comment]:
    comment = Comment.objects.select_related("agenda_item__meeting", "author").filter(pk=comment_id).first()
    if comment is None:
        raise NotFound()
    access = permissions.meeting_access(actor, comment.agenda_item.meeting)
    if comment.author_id != actor.pk:
        if not permissions.hears(access, _audience(comment)):
            raise NotFound()
        raise Forbidden(_("Only the author may change a comment."))
    require_state(access.meeting, COMMENTING_STATES)
    if comment.deleted_at is not None:
        raise Conflict(_("This comment was deleted."), code="comment_deleted")
    return access, comment


def _withdraw_from_replay(meeting: Meeting, comment: Comment) -> None:
    """The earlier events of a comment its author rewrote or deleted carry what it says now (the new
    text, or the tombstone): a replay (``/events/?after_seq=``) no longer hands out the replaced
    words. Same seq and audience, so a tablet's resume and the comment counts do not change; the
    earlier texts stay in ``CommentRevision`` for the record (docs/protocol.md)."""
    events.withdraw_earlier(meeting.pk, ("comment.posted", "comment.edited", "comment.deleted"), "comment",
                            comment.pk, {"comment": comment_dict(comment)})


@transaction.atomic
def comment_edit(*, actor, comment_id: int, text: str) -> Comment:
    """Replace the text; the previous text is kept as a revision."""
    access, comment = _own_comment(actor, comment_id)
    text = _clean_text(text)
    if text == comment.text:
        return comment
    now = current_time()
    CommentRevision.objects.create(comment=comment, text=comment.text, replaced_at=now)
    comment.text, comment.edited_at = text, now
    comment.save(update_fields=["text", "edited_at"])
    audit.record(actor, "comment.edited", comment, meeting_id=access.meeting.pk)
    _withdraw_from_replay(access.meeting, comment)
    events.emit(access.meeting, "comment.edited", {"comment": comment_dict(comment)}, _audience(comment))
    return comment


@transaction.atomic
def comment_delete(*, actor, comment_id: int) -> Comment:
    """Leave a tombstone: the comment stays (with its revisions) but is shown as deleted."""
    access, comment = _own_comment(actor, comment_id)
    now = current_time()
    CommentRevision.objects.create(comment=comment, text=comment.text, replaced_at=now)
    comment.deleted_at = now
    comment.save(update_fields=["deleted_at"])
    audit.record(actor, "comment.deleted", comment, meeting_id=access.meeting.pk)
    _withdraw_from_replay(access.meeting, comment)
    events.emit(access.meeting, "comment.deleted", {"comment": comment_dict(comment)}, _audience(comment))
    return comment


# --- speaking queue -------------------------------------------------------------------------------

def _emit_queue(meeting: Meeting, item: AgendaItem) -> None:
    events.emit(meeting, "speaker.queue", {"item": item.pk, **speaker_queue(item.pk)})


@transaction.atomic
def speak_request(*, actor, item_id: int) -> SpeakRequest:
    access, item = permissions.item_access(actor, item_id)
    if access.role not in permissions.SPEAKERS:
        raise Forbidden(_("Only members, substitutes and invited guests ask to speak."))
    require_state(access.meeting, (S.PUBLISHED, S.IN_PROGRESS))
    limit = settings.SPEAK_MAX_TURNS_PER_ITEM
    turns = SpeakRequest.objects.filter(agenda_item=item, user=actor).exclude(status=SpeakRequest.Status.WITHDRAWN)
    if turns.count() >= limit:
        raise Conflict(_("You may take the floor at most %(n)s times on one item.") % {"n": limit},
                       code="too_many_turns")
    try:
        with transaction.atomic():
            request = SpeakRequest.objects.create(agenda_item=item, user=actor, requested_at=current_time())
    except IntegrityError as exc:
        raise Conflict(_("You are already on the list of speakers for this item."), code="already_queued") from exc
    audit.record(actor, "speaker.requested", request, meeting_id=access.meeting.pk, data={"item": item.pk})
    _emit_queue(access.meeting, item)
    return request


@transaction.atomic
def speak_withdraw(*, actor, item_id: int) -> None:
    access, item = permissions.item_access(actor, item_id)
    require_state(access.meeting, (S.PUBLISHED, S.IN_PROGRESS))
    updated = SpeakRequest.objects.filter(agenda_item=item, user=actor, status=SpeakRequest.Status.WAITING).update(
        status=SpeakRequest.Status.WITHDRAWN, ended_at=current_time())
    if not updated:
        raise Conflict(_("You are not waiting to speak on this item."), code="not_queued")
    audit.record(actor, "speaker.withdrew", item, meeting_id=access.meeting.pk)
    _emit_queue(access.meeting, item)


def _end_floor(item: AgendaItem, now: datetime) -> int:
    return SpeakRequest.objects.filter(agenda_item=item, status=SpeakRequest.Status.SPEAKING).update(
        status=SpeakRequest.Status.DONE, ended_at=now)


@transaction.atomic
def floor_give(*, actor, item_id: int, username: str | None = None) -> SpeakRequest:
    """Give the floor to the next waiting speaker (or the one named); ends the current turn."""
    access, item = permissions.item_access(actor, item_id)
    access.require(access.can_run)
    require_state(access.meeting, (S.IN_PROGRESS,))
    waiting = SpeakRequest.objects.filter(agenda_item=item, status=SpeakRequest.Status.WAITING).select_related("user")
    if username:
        waiting = waiting.filter(user__username=username)
    request = waiting.order_by("requested_at", "id").first()
    if request is None:
        raise Conflict(_("Nobody is waiting to speak on this item."), code="queue_empty")
    now = current_time()
    _end_floor(item, now)
    SpeakRequest.objects.filter(pk=request.pk, status=SpeakRequest.Status.WAITING).update(
        status=SpeakRequest.Status.SPEAKING, floor_at=now)
    request.refresh_from_db()
    audit.record(actor, "speaker.floor_given", request, meeting_id=access.meeting.pk,
                 data={"item": item.pk, "user": request.user.username})
    _emit_queue(access.meeting, item)
    return request


@transaction.atomic
def floor_end(*, actor, item_id: int) -> None:
    access, item = permissions.item_access(actor, item_id)
    access.require(access.can_run)
    require_state(access.meeting, (S.IN_PROGRESS,))
    if not _end_floor(item, current_time()):
        raise Conflict(_("Nobody has the floor."), code="nobody_speaking")
    audit.record(actor, "speaker.floor_ended", item, meeting_id=access.meeting.pk)
    _emit_queue(access.meeting, item)


# --- positions ------------------------------------------------------------------------------------

@transaction.atomic
def position_set(*, actor, item_id: int, value: str, note: str = "") -> Position:
    access, item = permissions.item_access(actor, item_id)
    if access.role not in permissions.POSITION_HOLDERS:
        raise Forbidden(_("Only Government members mark positions."))
    require_state(access.meeting, (S.PUBLISHED, S.IN_PROGRESS))
    if item.status not in (AgendaItem.Status.PENDING, AgendaItem.Status.DISCUSSING):
        raise InvalidState(_("This item is already settled."), code="item_settled")
    if value not in Position.Value.values:
        raise ValidationFailed(_("Position must be no_objection, wish_to_speak or object."), code="invalid_position")
    position, _created = Position.objects.update_or_create(
        agenda_item=item, user=actor, defaults={"value": value, "note": (note or "").strip()[:500],
                                                "updated_at": current_time()})
    audit.record(actor, "position.changed", position, meeting_id=access.meeting.pk,
                 data={"item": item.pk, "value": value})
    events.emit(access.meeting, "position.changed",
                {"item": item.pk, "username": actor.username, "position": position_dict(position)},
                permissions.position_audience(actor.pk))
    return position


def consent_candidates(meeting: Meeting) -> list[AgendaItem]:
    """Pending items nobody objects to, nobody wishes to speak on, and nobody waits to speak on."""
    blocked = set(Position.objects.filter(agenda_item__meeting=meeting).exclude(value=Position.Value.NO_OBJECTION)
                  .values_list("agenda_item_id", flat=True))
    blocked |= set(SpeakRequest.objects.filter(agenda_item__meeting=meeting,
                                               status__in=[SpeakRequest.Status.WAITING, SpeakRequest.Status.SPEAKING])
                   .values_list("agenda_item_id", flat=True))
    return [i for i in meeting.agenda_items.filter(status=AgendaItem.Status.PENDING).order_by("position")
            if i.pk not in blocked]


@transaction.atomic
def consent_block_decide(*, actor, meeting_id: int, item_ids: list[int]) -> list[AgendaItem]:
    """The chair takes several uncontested items together and marks them decided."""
    access = permissions.meeting_access(actor, meeting_id)
    if not access.can_chair:
        raise Forbidden(_("Only the chair takes items as a consent block."))
    require_state(access.meeting, (S.IN_PROGRESS,))
    candidates = {i.pk: i for i in consent_candidates(access.meeting)}
    chosen = list(dict.fromkeys(item_ids))
    if not chosen:
        raise ValidationFailed(_("Choose at least one item."), code="items_required")
    contested = [i for i in chosen if i not in candidates]
    if contested:
        raise Conflict(_("Some items are contested or not pending and cannot be taken as a block."),
                       code="items_contested")
    decided = []
    for item_id in chosen:
        item = candidates[item_id]
        _set_item_status(actor, access.meeting, item, AgendaItem.Status.DECIDED)
        decided.append(item)
    audit.record(actor, "agenda.consent_block", access.meeting, meeting_id=access.meeting.pk,
                 data={"items": chosen})
    return decided


# --- chair's control of the agenda ----------------------------------------------------------------

def _set_item_status(actor, meeting: Meeting, item: AgendaItem, status: str) -> None:
    previous = item.status
    item.status = status
    item.save(update_fields=["status"])
    audit.record(actor, "agenda_item.status", item, meeting_id=meeting.pk, data={"from": previous, "to": status})
    events.emit(meeting, "agenda_item.status", {"item": item.pk, "status": status})


@transaction.atomic
def agenda_set_current(*, actor, meeting_id: int, item_id: int | None) -> Meeting:
    """Move "now discussing" to an item (or to none); every tablet follows."""
    access = permissions.meeting_access(actor, meeting_id)
    access.require(access.can_run)
    meeting = access.meeting
    require_state(meeting, (S.IN_PROGRESS,))
    item = None
    if item_id is not None:
        item = meeting.agenda_items.filter(pk=item_id).first()
        if item is None:
            raise NotFound()
    # The audit entry before the session row: like every other write of the room (comments, the
    # queue, positions) this takes the audit head first and the session row (the event counter)
    # second. In the other order, the chair moving the item while a member commented deadlocked on
    # PostgreSQL (tests/room/test_lock_order.py).
    audit.record(actor, "agenda.current", meeting, meeting_id=meeting.pk, data={"item": item_id})
    Meeting.objects.filter(pk=meeting.pk).update(current_item=item)
    meeting.current_item = item
    events.emit(meeting, "agenda.current", {"item": item_id})
    if item is not None and item.status == AgendaItem.Status.PENDING:
        _set_item_status(actor, meeting, item, AgendaItem.Status.DISCUSSING)
    return meeting


@transaction.atomic
def agenda_item_set_status(*, actor, item_id: int, status: str) -> AgendaItem:
    access, item = permissions.item_access(actor, item_id)
    access.require(access.can_run)
    require_state(access.meeting, (S.PUBLISHED, S.IN_PROGRESS))
    if status not in AgendaItem.Status.values:
        raise ValidationFailed(_("Unknown agenda item status."), code="invalid_status")
    if status != item.status:
        _set_item_status(actor, access.meeting, item, status)
    return item
