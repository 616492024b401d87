"""Writing the per-session event log.

``emit`` must be called inside the service's transaction: it takes the next ``seq`` with a
conditional ``UPDATE meeting SET event_seq = event_seq + 1`` (a row lock on PostgreSQL, the writer
lock on SQLite), writes the event row, and asks ``ecabinet.realtime`` to broadcast it after commit.
A rolled-back transaction rolls back the counter too, so ``seq`` stays gapless.

Some kinds replace a piece of state wholesale (``LATEST_WINS``): every one of them is stored, but
a socket may skip one when a newer event of the same key follows within a short window, so that a
storm of votes does not send every tablet one tally per vote (``hotpath.sequencer.Sequencer``).
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from ecabinet import bulk, clock, realtime

from .models import Event, Meeting

__all__ = ["ALL", "CHAIR", "INTERNAL", "LATEST_WINS", "SECRETARIAT", "coalescing_key", "emit", "emit_many", "head",
           "serialise", "withdraw_earlier"]

# The audience tokens of ``ecabinet.realtime``; who holds which, and which events are addressed to
# whom, is decided in ``meetings.permissions`` (``audience_tokens``, ``document_audience``, ...).
ALL = realtime.ALL  # everyone who sees the session: realtime sends these to one group of all sockets
INTERNAL, SECRETARIAT, CHAIR = "internal", "secretariat", "chair"

# Kinds whose event replaces a piece of state wholesale, and the data field that names the piece:
# applying only the last of a run gives the same state as applying them all (docs/protocol.md §4).
LATEST_WINS = {"vote.tally": "motion"}


def _clean(data: dict) -> dict:
    """The data as the log stores it: dates and times as the JSON strings tablets are sent."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False))


def serialise(event: Event) -> str:
    return json.dumps({"type": "event", "seq": event.seq, "kind": event.kind, "data": event.data},
                      cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def coalescing_key(kind: str, data: dict) -> str | None:
    """``vote.tally:12`` for a tally of motion 12; None for kinds where every event matters."""
    field = LATEST_WINS.get(kind)
    return None if field is None else f"{kind}:{data[field]}"


def head(meeting_id: int) -> int:
    """The session's last ``seq`` (0 when the session does not exist)."""
    return Meeting.objects.filter(pk=meeting_id).values_list("event_seq", flat=True).first() or 0


def emit(meeting: Meeting | int, kind: str, data: dict, audience: list[str] | tuple[str, ...] = (ALL,)) -> Event:
    return emit_many(meeting, [(kind, data, audience)])[0]


# Meeting's table and columns (``tests/room/test_event_log.py`` would fail if they were renamed).
_TAKE_SEQS = 'UPDATE "meetings_meeting" SET "event_seq" = "event_seq" + %s WHERE "id" = %s RETURNING "event_seq"'


def _take_seqs(meeting_id: int, count: int) -> int:
    """Advance the session's counter by ``count`` and return its new value, in one statement
    (``UPDATE … RETURNING``, PostgreSQL and SQLite ≥ 3.35): every event and every room-socket connect's
    presence event took an UPDATE and a SELECT (issue 19)."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SEQS, [count, meeting_id])
        row = cursor.fetchone()
    if row is None:
        raise Meeting.DoesNotExist(f"No session {meeting_id}.")
    return row[0]


def emit_many(meeting: Meeting | int, items: list[tuple[str, dict, list[str] | tuple[str, ...]]]) -> list[Event]:
    """Append ``(kind, data, audience)`` events in this order, with consecutive ``seq`` taken in one
    statement, and broadcast them together after commit (one marker for all of them)."""
    meeting_id = meeting if isinstance(meeting, int) else meeting.pk
    if not items:
        return []
    last = _take_seqs(meeting_id, len(items))
    rows, now = [], clock.moment()
    for offset, (kind, data, audience) in enumerate(items):
        rows.append(Event(meeting_id=meeting_id, seq=last - len(items) + 1 + offset, kind=kind, data=_clean(data),
                          audience=sorted(set(audience)), created_at=now))
    bulk.insert_objects(rows, ("meeting_id", "seq", "kind", "data", "audience", "created_at"))
    if not isinstance(meeting, int):
        meeting.event_seq = last
    realtime.broadcast_on_commit(meeting_id=meeting_id, events=[
        realtime.Outgoing(seq=e.seq, audience=e.audience, text=serialise(e), coalesce=coalescing_key(e.kind, e.data))
        for e in rows])
    return rows


def withdraw_earlier(meeting_id: int, kinds: tuple[str, ...], key: str, object_id: int, data: dict) -> int:
    """Replace the payload of the log's earlier events of ``kinds`` about one object (``data[key]["id"]``
    equal to ``object_id``) with ``data``: what its author withdrew (narrowed, deleted) is no longer
    handed out by a replay (``meetings.room.replay_for``) to those who heard it then. The live delivery
    is done; the events keep their seq and audience, so no tablet's resume changes. Returns the count."""
    rows = Event.objects.filter(meeting_id=meeting_id, kind__in=kinds, **{f"data__{key}__id": object_id})
    return rows.update(data=_clean(data))
