"""The state of a session as one participant sees it: the WebSocket snapshot.

``snapshot(access)`` and the events in ``meetings.events`` describe the same state: applying the
events emitted after a snapshot (with ``static/room/state.js``) yields the next snapshot. The
test ``tests/test_room_events_converge.py`` checks exactly that for every kind, in the manner of
Zulip's ``verify_action``.

Comments are paged (issue 14): the snapshot carries the newest ``ROOM_SNAPSHOT_COMMENTS_PER_ITEM``
comments the caller may see on each agenda item (``comments``, ascending ``id``), and for each item
with any, ``comment_counts[item] = {"total": visible, "omitted": total - carried}``; older ones come
over HTTP (``comment_page``). How the events keep this window (docs/protocol.md §4): a new comment
joins its item's window, whose oldest then leaves beyond the limit (``omitted`` + 1); an edit or a
deletion (a tombstone, still counted) changes a comment only if it is in the window; gaining or losing
a document replaces that item's window and counts wholesale.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from ecabinet import clock
from voting.motion_state import motions_state, voting_rules

from .models import Comment, Document, Participant, Position, Presence, SpeakRequest
from .permissions import (
    MeetingAccess,
    audience_tokens,
    capabilities,
    comment_audience_of,
    documents_visible_to,
    offline_refusal,
    recipients_by_document,
    sees_all_positions,
    sees_presence,
)
from .selectors import agenda

PRESENCE_TTL = timedelta(seconds=75)


def document_dict(doc) -> dict:
    version = doc.current_version
    return {"id": doc.pk, "title": doc.title, "classification": doc.classification,
            "version": version.number if version else None, "sha256": version.sha256 if version else None,
            "pages": version.pages if version else None}


def item_dict(item, documents=()) -> dict:
    return {"id": item.pk, "position": item.position, "title": item.title, "status": item.status,
            "presenter_ministry": item.presenter_ministry.name if item.presenter_ministry_id else None,
            "planned_minutes": item.planned_minutes, "documents": [document_dict(d) for d in documents]}


def participant_dict(p) -> dict:
    return {"id": p.pk, "username": p.user.username, "full_name": p.user.full_name,
            "ministry": p.user.ministry.name if p.user.ministry_id else None, "role": p.role,
            "attendance": p.attendance, "absence_reason": p.absence_reason,
            "substitute_for": p.substitute_for.username if p.substitute_for_id else None,
            "approved": p.is_approved}


PARTICIPANT_VALUES = ("pk", "user__username", "user__full_name", "user__ministry__name", "role", "attendance",
                      "absence_reason", "substitute_for__username", "substitute_approved_at")


def participant_dicts(meeting) -> list[dict]:
    """``participant_dict`` of every participant of ``meeting``, in ``id`` order, read as plain values
    in one query: built from model instances (three per participant), the list took two thirds of
    a snapshot of a 1,000-member session, and every tablet of a reconnect storm builds one (issue
    19). ``tests/room/test_snapshot_participants.py`` holds the two equal."""
    rows = Participant.objects.filter(meeting=meeting).order_by("id").values_list(*PARTICIPANT_VALUES)
    return [{"id": pk, "username": username, "full_name": full_name, "ministry": ministry, "role": role,
             "attendance": attendance, "absence_reason": reason, "substitute_for": substitute,
             "approved": role != Participant.Role.SUBSTITUTE or approved_at is not None}
            for pk, username, full_name, ministry, role, attendance, reason, substitute, approved_at in rows]


def comment_dict(c: Comment) -> dict:
    deleted = c.deleted_at is not None
    return {"id": c.pk, "agenda_item": c.agenda_item_id, "document": c.document_id, "page": c.page,
            "author": c.author.username, "author_name": c.author.full_name, "visibility": c.visibility,
            "text": "" if deleted else c.text, "created_at": c.created_at, "edited_at": c.edited_at,
            "deleted": deleted}


def speaker_dict(r: SpeakRequest) -> dict:
    return {"id": r.pk, "username": r.user.username, "full_name": r.user.full_name, "status": r.status,
            "requested_at": r.requested_at, "floor_at": r.floor_at, "ended_at": r.ended_at}


def shown_turns(requests) -> tuple[list[dict], int]:
    """The queue of one item as tablets are sent it, from its turns in request order: every waiting
    and speaking turn, the latest ``SPEAK_QUEUE_DONE_SHOWN`` finished ones; and how many turns are
    finished in all (the tablets' "N have spoken"). Bounded by the participants, not the debate."""
    done = [r for r in requests if r.status == SpeakRequest.Status.DONE]
    shown_done = {r.pk for r in done[max(0, len(done) - settings.SPEAK_QUEUE_DONE_SHOWN):]}
    queue = [speaker_dict(r) for r in requests if r.status != SpeakRequest.Status.DONE or r.pk in shown_done]
    return queue, len(done)


def _turns():
    return (SpeakRequest.objects.exclude(status=SpeakRequest.Status.WITHDRAWN).select_related("user")
            .order_by("requested_at", "id"))


def speaker_queue(item_id: int) -> dict:
    """The data of a ``speaker.queue`` event: ``{"queue": [...], "spoken": n}`` (see ``shown_turns``)."""
    queue, spoken = shown_turns(list(_turns().filter(agenda_item_id=item_id)))
    return {"queue": queue, "spoken": spoken}


def position_dict(p: Position) -> dict:
    return {"value": p.value, "note": p.note, "updated_at": p.updated_at}


def online_usernames(meeting_id: int) -> list[str]:
    since = clock.moment() - PRESENCE_TTL
    return sorted(set(Presence.objects.filter(meeting_id=meeting_id, seen_at__gte=since)
                      .values_list("user__username", flat=True)))


def visible_comment_keys(access: MeetingAccess, item_id: int | None = None) -> list[tuple[int, int]]:
    """``(comment id, agenda item id)`` of every comment the caller may see in the session (or on one
    item), ascending. The rule is ``permissions.comment_audience``'s, applied to a few columns of each comment —
    not its text — so a session with thousands of long comments costs little to page."""
    rows = Comment.objects.filter(agenda_item__meeting=access.meeting)
    if item_id is not None:
        rows = rows.filter(agenda_item_id=item_id)
    tokens = audience_tokens(access)
    recipients = recipients_by_document(access.meeting)
    readable = set(Document.objects.filter(documents_visible_to(access), agenda_item__meeting=access.meeting)
                   .values_list("pk", flat=True))
    return [(pk, item) for pk, item, visibility, author_id, document_id, classification in rows.order_by("id")
            .values_list("pk", "agenda_item_id", "visibility", "author_id", "document_id", "document__classification")
            if (document_id is None or document_id in readable)
            and set(comment_audience_of(visibility, author_id, document_id, classification,
                                      recipients.get(document_id, ()))) & tokens]


def _comments(ids) -> list[Comment]:
    return list(Comment.objects.filter(pk__in=list(ids)).select_related("author").order_by("id"))


def visible_comments(access: MeetingAccess) -> list[Comment]:
    """Every comment the caller may see in the session, ascending (unpaged: tests and exports)."""
    return _comments(pk for pk, _item in visible_comment_keys(access))


def comments_per_item() -> int:
    return max(1, settings.ROOM_SNAPSHOT_COMMENTS_PER_ITEM)


def comment_window(access: MeetingAccess, item_id: int | None = None) -> tuple[list[dict], dict[str, dict]]:
    """The newest ``comments_per_item()`` visible comments of each item (or of one), and the counts
    ``{"<item>": {"total", "omitted"}}`` of the items that have any."""
    limit = comments_per_item()
    by_item: dict[int, list[int]] = {}
    for pk, item in visible_comment_keys(access, item_id):
        by_item.setdefault(item, []).append(pk)
    counts = {str(item): {"total": len(ids), "omitted": max(0, len(ids) - limit)} for item, ids in by_item.items()}
    return [comment_dict(c) for c in _comments(pk for ids in by_item.values() for pk in ids[-limit:])], counts


def item_comment_window(access: MeetingAccess, item_id: int) -> dict:
    """One item's window and counts, as events that replace it carry them (``document.published``
    to a new reader, ``document.withdrawn``)."""
    comments, counts = comment_window(access, item_id)
    return {"comments": comments, "comment_count": counts.get(str(item_id), {"total": 0, "omitted": 0})}


def comment_page(access: MeetingAccess, item_id: int, *, before: int | None, limit: int) -> dict:
    """A page of an item's visible comments, for ``GET agenda-items/{id}/comments/``: the newest
    ``limit`` with an ``id`` below ``before`` (all, without it), ascending, and how many visible ones
    are older still (``earlier``)."""
    every = [pk for pk, _item in visible_comment_keys(access, item_id)]
    ids = [pk for pk in every if before is None or pk < before]
    page = ids[-limit:] if limit else []
    return {"results": [comment_dict(c) for c in _comments(page)], "earlier": len(ids) - len(page),
            "total": len(every)}


def snapshot(access: MeetingAccess, *, fresh: bool = False) -> dict:
    """The caller's snapshot. ``fresh``: ``access.meeting`` was read just now (the room socket reads
    the access and builds the snapshot in one call), so it is not read again."""
    meeting = access.meeting
    if not fresh:
        meeting.refresh_from_db()
    items = agenda(access)
    positions: dict[str, dict] = {}
    position_rows = Position.objects.filter(agenda_item__meeting=meeting).select_related("user")
    if not sees_all_positions(access):
        position_rows = position_rows.filter(user=access.user)
    for p in position_rows:
        positions.setdefault(str(p.agenda_item_id), {})[p.user.username] = position_dict(p)
    by_item: dict[str, list] = {}
    for r in _turns().filter(agenda_item__meeting=meeting):
        by_item.setdefault(str(r.agenda_item_id), []).append(r)
    speakers: dict[str, list] = {}
    speakers_spoken: dict[str, int] = {}
    for key, turns in by_item.items():
        speakers[key], spoken = shown_turns(turns)
        if spoken:
            speakers_spoken[key] = spoken
    comments, comment_counts = comment_window(access)
    state = {
        "id": meeting.pk, "title": meeting.title, "kind": meeting.kind, "status": meeting.status,
        "starts_at": meeting.starts_at, "location": meeting.location, "current_item": meeting.current_item_id,
        "me": {"username": access.user.username, "role": access.role, "can": capabilities(access),
               # May this tablet keep the session offline now (issue 17)? If not, it deletes its copy.
               "offline": {"allowed": offline_refusal(access, clock.moment()) is None}},
        "agenda": [item_dict(i, i.visible_documents) for i in items],
        "participants": participant_dicts(meeting),
        "comments": comments,
        "comment_counts": comment_counts,
        "comments_per_item": comments_per_item(),
        "speakers": speakers,
        "speakers_spoken": speakers_spoken,
        "positions": positions,
        "voting_rules": voting_rules(meeting),
        "motions": motions_state(access, [m for i in items for m in i.motion_list]),
    }
    if sees_presence(access):
        state["presence"] = online_usernames(meeting.pk)
    return {"type": "snapshot", "seq": meeting.event_seq, "meeting": state}
