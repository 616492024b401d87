"""Synchronous database work behind the room socket (called through ``database_sync_to_async``)
and the presence bookkeeping. Reads only, except presence, which goes through the services.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections

from ecabinet.errors import NotFound

from . import events, permissions, services
from .models import Event
from .snapshot import snapshot

REPLAY_LIMIT = 5000  # beyond this many events behind, a snapshot is sent instead


def dumps(message: dict) -> str:
    return json.dumps(message, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _access(user, meeting_id: int):
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return permissions.meeting_access(user, meeting_id)
    except NotFound:
        return None


def _fresh_access(user, meeting_id: int):
    """The caller's access now, their account re-read (deactivated meanwhile?), or None."""
    close_old_connections()
    if user is not None and getattr(user, "pk", None):
        user.refresh_from_db(fields=["is_active", "is_archivist"])
    return _access(user, meeting_id)


def audience_tokens(user, meeting_id: int) -> frozenset[str] | None:
    """The caller's audience tokens, or None when they may not be in the room (now)."""
    access = _fresh_access(user, meeting_id)
    if access is None:
        return None
    return events.tokens_for(user_id=user.pk, role=access.role, archivist=access.is_archivist_reader)


def heartbeat(user, meeting_id: int, channel_name: str) -> int | None:
    """A socket's ping, in one trip to the database thread: re-check access (None: it is gone),
    keep the presence fresh, and return the session's head ``seq``."""
    access = _fresh_access(user, meeting_id)
    if access is None:
        return None
    services.presence_touch(channel_name=channel_name)
    return access.meeting.event_seq


def snapshot_for(user, meeting_id: int) -> dict | None:
    access = _access(user, meeting_id)
    return None if access is None else snapshot(access)


def replay_for(user, meeting_id: int, after: int, tokens: frozenset[str]) -> tuple[list, int] | None:
    """Visible events with ``seq > after``, serialised, and the head ``seq`` they were read up to;
    None when a snapshot is due (too far behind, or ``after`` is ahead of the log)."""
    access = _access(user, meeting_id)
    if access is None:
        return None
    head = access.meeting.event_seq
    if after > head or head - after > REPLAY_LIMIT:
        return None
    rows = Event.objects.filter(meeting_id=meeting_id, seq__gt=after, seq__lte=head).order_by("seq")
    return [(e.seq, events.serialise(e)) for e in rows if set(e.audience) & tokens], head


def presence_connected(user, meeting_id: int, channel_name: str) -> None:
    services.presence_connect(user=user, meeting_id=meeting_id, channel_name=channel_name)


def presence_disconnected(user, meeting_id: int, channel_name: str) -> None:
    services.presence_disconnect(user=user, meeting_id=meeting_id, channel_name=channel_name)
