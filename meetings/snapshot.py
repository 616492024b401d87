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

Two builders of the same bytes (issue 19, a reconnect storm of 1,000 tablets): ``snapshot(access)``,
the reference (the HTTP API's, and the one the convergence test applies events to), and
``snapshot_text(access)``, the room socket's, which reads the session once per ``seq`` for every
socket of the process (``Shared``) and adds per socket only what differs between readers.
``tests/room/test_snapshot_shared.py`` holds the two byte for byte equal for every kind of reader.
Longer than 400 lines because both builders of one message belong together: the shared one calls
the reference's pieces (``item_dict``, ``comment_dict``, ``shown_turns``...), and a second module
would make a second home of the snapshot's shape.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from ecabinet import clock
from voting.motion_state import motions_state, my_vote_dict, voting_rules

from . import events
from .models import AgendaItem, Comment, Document, Event, Meeting, Participant, Position, Presence, SpeakRequest
from .permissions import (
    MeetingAccess,
    audience_tokens,
    capabilities,
    comment_audience_of,
    documents_visible_to,
    may_read,
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


# ``comment_dict``'s keys in its order: a comment taken from the event log (``_with_posted``) comes
# back from PostgreSQL's jsonb with its keys reordered, and the snapshot must be the same bytes.
COMMENT_KEYS = ("id", "agenda_item", "document", "page", "author", "author_name", "visibility", "text", "created_at",
                "edited_at", "deleted")


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


def speakers_of(meeting: Meeting) -> tuple[dict[str, list], dict[str, int]]:
    """Each item's shown speaking turns (``shown_turns``) and, where some were spoken, how many."""
    by_item: dict[str, list] = {}
    for r in _turns().filter(agenda_item__meeting=meeting):
        by_item.setdefault(str(r.agenda_item_id), []).append(r)
    speakers: dict[str, list] = {}
    speakers_spoken: dict[str, int] = {}
    for key, turns in by_item.items():
        speakers[key], spoken = shown_turns(turns)
        if spoken:
            speakers_spoken[key] = spoken
    return speakers, speakers_spoken


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
    speakers, speakers_spoken = speakers_of(meeting)
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


# --- the room socket's snapshot, shared between readers (issue 19) -------------------------------------
#
# A reconnect storm sends a full snapshot to each of a thousand tablets within seconds, and nearly
# all of it is the same for all of them: the session read once per ``seq`` (``Shared``, per process)
# serves every socket; what differs between readers is worked out per socket from it, by the rules
# of ``meetings.permissions`` (``may_read``, ``audience_tokens``, ``sees_all_positions``,
# ``sees_presence``, ``capabilities``): the documents they may read, the comments they hear of, their
# own positions and votes, ``me``, and who is online (the secretariat's, read per socket: it follows
# the clock, not the events). The texts of the parts that depend only on what a reader sees (the
# agenda for one set of readable documents, the comment windows for one set of visible comments)
# are kept with the ``Shared`` they come from, keyed by that set: readers who see the same get the
# same bytes, readers who see differently never share a text.
#
# Consistent with its ``seq``: every write that changes what a snapshot shows emits its event in the
# same transaction (``meetings.events.emit``), which moves the session's ``event_seq``; ``_read`` is
# taken again when ``event_seq`` moved while it read (then under the session's lock), so it is the
# state at exactly that ``seq``. A ``Shared`` serves a newer ``seq`` only when the events in between
# change nothing it holds (``PER_SOCKET_KINDS``) or only add comments (``comment.posted``: the event
# carries the comment's dict and its audience, which ``_with_posted`` adds; a reconnect storm during a
# debate otherwise read the whole session again after every comment, on the thread the handshakes
# share). Writes without an event (an account renamed, a fixture in a test) clear every ``Shared`` of
# the process (``_forget``) — but for comments, whose every write emits its event; one made by
# another process is seen after at most ``SHARE_SECONDS``.

SHARE_SECONDS = 2.0
PER_SOCKET_KINDS = frozenset({"presence.changed"})  # what changes only ``presence``, read per socket
POSTED = "comment.posted"  # adds a comment, carried whole in the event (``_with_posted``)
_MEMO_LIMIT = 256  # texts kept per Shared and part (distinct readable sets / visible comment sets)
_KEEP_MEETINGS = 64
_NOBODY = SimpleNamespace(user=SimpleNamespace(pk=None))  # casts no vote: motions without ``my_vote``


def dumps(message) -> str:
    """JSON as the room sends it (``room.dumps``)."""
    return json.dumps(message, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _object(pairs) -> str:
    """``dumps`` of a dict whose values are already JSON texts (keys are plain identifiers)."""
    return "{" + ",".join(f'"{key}":{text}' for key, text in pairs) + "}"


@dataclass
class Shared:
    """The session at one ``seq`` as every reader's snapshot is cut from it (see above)."""

    seq: int
    built_at: float
    meeting: Meeting
    header: str  # "id" to "current_item", as JSON members
    items: list  # AgendaItem, by position
    documents: dict  # item id -> every Document of the item, by id (current_version read)
    recipients: dict  # document id -> named recipients' user ids
    comments: list  # (id, item id, document id, audience tokens), ascending id
    comment_dicts: dict  # id -> comment_dict
    participants: str
    speakers: str
    speakers_spoken: str
    voting_rules: str
    positions: list  # (item key, user id, username, position_dict), in the reference's order
    motions: list  # (motion id, its JSON without the closing brace and my_vote)
    my_votes: dict  # voter id -> {motion id: my_vote}
    memo: dict = field(default_factory=dict)

    def text(self, part: str, key, make) -> str:
        texts = self.memo.setdefault(part, {})
        found = texts.get(key)
        if found is None:
            found = make()
            if len(texts) < _MEMO_LIMIT:
                texts[key] = found
        return found


_lock = threading.Lock()
_shared: dict[int, Shared] = {}


def _read(meeting: Meeting) -> Shared:
    """Everything of the session that ``snapshot_text`` cuts per reader, as of ``meeting.event_seq``
    (the caller checks that nothing was emitted meanwhile)."""
    items = list(AgendaItem.objects.filter(meeting=meeting).select_related("presenter_ministry")
                 .order_by("position"))
    documents: dict[int, list] = {item.pk: [] for item in items}
    for doc in (Document.objects.filter(agenda_item__meeting=meeting).select_related("current_version")
                .order_by("id")):
        documents.setdefault(doc.agenda_item_id, []).append(doc)
    recipients = recipients_by_document(meeting)
    comments, comment_dicts = [], {}
    for c in Comment.objects.filter(agenda_item__meeting=meeting).select_related("author", "document").order_by("id"):
        classification = c.document.classification if c.document_id else None
        audience = frozenset(comment_audience_of(c.visibility, c.author_id, c.document_id, classification,
                                                 recipients.get(c.document_id, ())))
        comments.append((c.pk, c.agenda_item_id, c.document_id, audience))
        comment_dicts[c.pk] = comment_dict(c)
    speakers, speakers_spoken = speakers_of(meeting)
    positions = [(str(p.agenda_item_id), p.user_id, p.user.username, position_dict(p))
                 for p in Position.objects.filter(agenda_item__meeting=meeting).select_related("user")]
    motion_rows = list(AgendaItem._meta.get_field("motions").related_model.objects  # voting.Motion, read-only
                       .filter(agenda_item__meeting=meeting).order_by("id"))
    motions = []
    for row in motions_state(_NOBODY, motion_rows):
        row.pop("my_vote")
        motions.append((row["id"], dumps(row)[:-1]))
    my_votes: dict[int, dict] = {}
    if motion_rows:
        votes = type(motion_rows[0])._meta.get_field("votes").related_model.objects  # voting.Vote, read-only
        # The reference's own query (``motions_state``), so that the caller's vote is the same row.
        for motion_id, choice, voter_id, _username, on_behalf_of in votes.filter(
                motion__in=[m.pk for m in motion_rows]).values_list(
                "motion_id", "choice", "voter_id", "voter__username", "on_behalf_of__username"):
            my_votes.setdefault(voter_id, {})[motion_id] = my_vote_dict(SimpleNamespace(choice=choice), on_behalf_of)
    header = _object((key, dumps(value)) for key, value in (
        ("id", meeting.pk), ("title", meeting.title), ("kind", meeting.kind), ("status", meeting.status),
        ("starts_at", meeting.starts_at), ("location", meeting.location), ("current_item", meeting.current_item_id),
    ))[1:-1]
    return Shared(seq=meeting.event_seq, built_at=time.monotonic(), meeting=meeting, header=header, items=items,
                  documents=documents, recipients=recipients, comments=comments, comment_dicts=comment_dicts,
                  participants=dumps(participant_dicts(meeting)), speakers=dumps(speakers),
                  speakers_spoken=dumps(speakers_spoken), voting_rules=dumps(voting_rules(meeting)),
                  positions=positions, motions=motions, my_votes=my_votes)


def _build(meeting_id: int) -> Shared | None:
    """``_read`` at one ``seq``: read again if an event was emitted meanwhile; after a few tries,
    under the session's lock (writers wait for it to emit)."""
    for _attempt in range(3):
        meeting = Meeting.objects.filter(pk=meeting_id).first()
        if meeting is None:
            return None
        shared = _read(meeting)
        if events.head(meeting_id) == shared.seq:
            return shared
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().filter(pk=meeting_id).first()
        return None if meeting is None else _read(meeting)


def shared_state(meeting_id: int, head: int) -> Shared | None:
    """The session's ``Shared`` at ``head`` (the ``event_seq`` the caller's access was read with) or
    later: the socket joined its groups before, so the events after it reach the socket."""
    with _lock:
        shared = _shared.get(meeting_id)
    if shared is not None and time.monotonic() - shared.built_at < SHARE_SECONDS:
        if shared.seq >= head:
            return shared
        rows = list(Event.objects.filter(meeting_id=meeting_id, seq__gt=shared.seq, seq__lte=head)
                    .order_by("seq").values_list("kind", "data", "audience"))
        if len(rows) == head - shared.seq and (PER_SOCKET_KINDS | {POSTED}).issuperset(k for k, _d, _a in rows):
            shared = _with_posted(shared, head, [(data, audience) for kind, data, audience in rows if kind == POSTED])
            _keep(meeting_id, shared)
            return shared
    shared = _build(meeting_id)
    if shared is not None:
        _keep(meeting_id, shared)
    return shared


def _with_posted(shared: Shared, head: int, posted: list) -> Shared:
    """``shared`` at ``head``, with the comments of the ``comment.posted`` events in between (their
    data and audience, as the log keeps them: the same dict and tokens ``_read`` makes)."""
    if not posted:
        return dataclasses.replace(shared, seq=head)  # the same texts (``memo``) at a later seq
    comments, comment_dicts = list(shared.comments), dict(shared.comment_dicts)
    for data, audience in posted:
        comment = data["comment"]
        comments.append((comment["id"], comment["agenda_item"], comment["document"], frozenset(audience)))
        comment_dicts[comment["id"]] = {key: comment[key] for key in COMMENT_KEYS}
    comments.sort(key=lambda row: row[0])
    memo = {part: texts for part, texts in shared.memo.items() if part != "comments"}
    return dataclasses.replace(shared, seq=head, comments=comments, comment_dicts=comment_dicts, memo=memo)


def _keep(meeting_id: int, shared: Shared) -> None:
    with _lock:
        current = _shared.get(meeting_id)
        if current is None or current.seq <= shared.seq or current.built_at < shared.built_at:
            _shared[meeting_id] = shared
        while len(_shared) > _KEEP_MEETINGS:
            _shared.pop(next(iter(_shared)))


def _forget(sender=None, **_kwargs) -> None:
    """A write made without an event, or a setting changed: no ``Shared`` of this process is kept."""
    if sender is None or _changes_snapshots(sender):
        with _lock:
            _shared.clear()


def _changes_snapshots(model) -> bool:
    meta = getattr(model, "_meta", None)
    if meta is None:
        return True
    if meta.app_label in ("meetings", "voting"):
        return meta.model_name not in ("presence", "event", "readreceipt", "comment")
    return meta.label in (settings.AUTH_USER_MODEL, "ecabinet.Ministry")


post_save.connect(_forget, dispatch_uid="meetings.snapshot.forget.save")
post_delete.connect(_forget, dispatch_uid="meetings.snapshot.forget.delete")
m2m_changed.connect(_forget, dispatch_uid="meetings.snapshot.forget.m2m")
setting_changed.connect(lambda **_kwargs: _forget(), dispatch_uid="meetings.snapshot.forget.settings", weak=False)


def snapshot_text(access: MeetingAccess) -> tuple[int, str] | None:
    """``dumps(snapshot(access, fresh=True))`` and its ``seq``, cut from the session's ``Shared``
    (None: the session is gone). Per socket: the caller's readable documents and visible comments
    (texts shared by everyone who sees the same), their positions, votes, ``me`` and presence."""
    shared = shared_state(access.meeting.pk, access.meeting.event_seq)
    if shared is None:
        return None
    access = dataclasses.replace(access, meeting=shared.meeting)  # the session as of the shared seq
    user_id = access.user.pk
    readable = tuple(doc.pk for item in shared.items for doc in shared.documents[item.pk]
                     if may_read(access, doc.classification, user_id in shared.recipients.get(doc.pk, ())))
    agenda_text = shared.text("agenda", readable, lambda: _agenda_text(shared, frozenset(readable)))
    tokens = audience_tokens(access)
    readable_set = frozenset(readable)
    visible = tuple((pk, item) for pk, item, document_id, audience in shared.comments
                    if (document_id is None or document_id in readable_set) and not audience.isdisjoint(tokens))
    limit = comments_per_item()
    comments_text, counts_text = shared.text("comments", (limit, visible),
                                             lambda: _comments_text(shared, visible, limit))
    if sees_all_positions(access):
        positions_text = shared.text("positions", None, lambda: _positions_text(shared.positions))
    else:
        positions_text = _positions_text([row for row in shared.positions if row[1] == user_id])
    mine = shared.my_votes.get(user_id, {})
    motions_text = "[" + ",".join(f'{text},"my_vote":{dumps(mine.get(pk))}}}' for pk, text in shared.motions) + "]"
    me = {"username": access.user.username, "role": access.role, "can": capabilities(access),
          "offline": {"allowed": offline_refusal(access, clock.moment()) is None}}
    members = [
        ("me", dumps(me)), ("agenda", agenda_text), ("participants", shared.participants),
        ("comments", comments_text), ("comment_counts", counts_text), ("comments_per_item", dumps(limit)),
        ("speakers", shared.speakers), ("speakers_spoken", shared.speakers_spoken), ("positions", positions_text),
        ("voting_rules", shared.voting_rules), ("motions", motions_text),
    ]
    if sees_presence(access):
        members.append(("presence", dumps(online_usernames(shared.meeting.pk))))
    state = "{" + shared.header + "," + _object(members)[1:]
    return shared.seq, f'{{"type":"snapshot","seq":{shared.seq},"meeting":{state}}}'


def _agenda_text(shared: Shared, readable: frozenset[int]) -> str:
    return dumps([item_dict(item, [doc for doc in shared.documents[item.pk] if doc.pk in readable])
                  for item in shared.items])


def _comments_text(shared: Shared, visible, limit: int) -> tuple[str, str]:
    """``comment_window``'s two parts for the caller's visible comments (``(id, item)``, ascending)."""
    by_item: dict[int, list[int]] = {}
    for pk, item in visible:
        by_item.setdefault(item, []).append(pk)
    counts = {str(item): {"total": len(ids), "omitted": max(0, len(ids) - limit)} for item, ids in by_item.items()}
    window = sorted(pk for ids in by_item.values() for pk in ids[-limit:])
    return dumps([shared.comment_dicts[pk] for pk in window]), dumps(counts)


def _positions_text(rows) -> str:
    positions: dict[str, dict] = {}
    for item, _user_id, username, value in rows:
        positions.setdefault(item, {})[username] = value
    return dumps(positions)
