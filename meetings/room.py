"""Synchronous database work behind the room socket (called through ``database_sync_to_async``)
and the presence bookkeeping. Reads only, except presence, which goes through the services.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections

from ecabinet.errors import NotFound

from . import events, permissions, services
from .models import Event, Meeting
from .snapshot import snapshot, snapshot_text

REPLAY_LIMIT = 5000  # beyond this many events behind, a snapshot is sent instead


def dumps(message: dict) -> str:
    return json.dumps(message, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _access(user, meeting_id: int):
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return permissions.meeting_access_by_id(user, meeting_id)
    except NotFound:
        return None


def _fresh_access(user, meeting_id: int):
    """The caller's access now, their account re-read (deactivated meanwhile?), or None."""
    close_old_connections()
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return None
    try:
        return permissions.meeting_access_by_id(user, meeting_id, reread_user=True)
    except NotFound:
        return None


def audience_tokens(user, meeting_id: int) -> frozenset[str] | None:
    """The caller's audience tokens, or None when they may not be in the room (now)."""
    access = _fresh_access(user, meeting_id)
    if access is None:
        return None
    return permissions.audience_tokens(access)


def heartbeat(user, meeting_id: int, channel_name: str) -> int | None:
    """A socket's ping: re-check access (None: it is gone), keep the presence fresh, and return the
    session's head ``seq``."""
    return heartbeats([(user, meeting_id, channel_name)])[0]


def heartbeats(pings: list[tuple[object, int, str]]) -> list[int | None]:
    """``heartbeat`` for many sockets' pings at once, in a handful of queries whatever their number:
    with 500 tablets pinging every 20 s, one trip each kept the sockets' database thread busy. Each
    ping's account is re-read (deactivated meanwhile?) into the socket's own user object."""
    close_old_connections()
    users: dict[int, list] = {}
    for user, _m, _c in pings:
        if getattr(user, "pk", None):
            users.setdefault(user.pk, []).append(user)
    fresh = {pk: (active, archivist) for pk, active, archivist in get_user_model()._default_manager.filter(
        pk__in=list(users)).values_list("pk", "is_active", "is_archivist")}
    for pk, same in users.items():
        active, archivist = fresh.get(pk, (False, False))  # a deleted account has no access either
        for user in same:
            user.is_active, user.is_archivist = active, archivist
    meetings = Meeting.objects.in_bulk({m for _u, m, _c in pings})
    allowed: dict[int, dict] = {}
    for meeting_id, meeting in meetings.items():
        people = [u for u, m, _c in pings if m == meeting_id and getattr(u, "is_authenticated", False)]
        allowed[meeting_id] = permissions.meeting_accesses(people, meeting)
    heads = [meetings[m].event_seq if getattr(u, "pk", None) in allowed.get(m, {}) else None for u, m, _c in pings]
    services.presence_touch_many(channel_names=[c for (_u, _m, c), head in zip(pings, heads, strict=True)
                                                if head is not None])
    return heads


def snapshot_for(user, meeting_id: int) -> dict | None:
    access = _access(user, meeting_id)
    return None if access is None else snapshot(access, fresh=True)


def snapshot_text_for(user, meeting_id: int) -> tuple[int, str] | None:
    """``dumps(snapshot_for(user, meeting_id))`` and its ``seq``, cut from what every socket of the
    session shares (``snapshot.snapshot_text``); None without access."""
    access = _access(user, meeting_id)
    return None if access is None else snapshot_text(access)


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


def presence_changes(changes: list[tuple[object, int, str, bool]]) -> list[None]:
    """Room sockets opened (``True``) and closed (``False``) — ``(user, session id, channel name,
    opened)`` — recorded together (``services.presence_apply``; the consumer batches them with
    ``hotpath.heartbeats.together``): each account that opened one keeps at most
    ``WS_MAX_SOCKETS_PER_ACCOUNT`` sockets, the oldest beyond are closed (4409)."""
    close_old_connections()
    services.presence_apply(changes=changes, keep=settings.WS_MAX_SOCKETS_PER_ACCOUNT)
    return [None] * len(changes)
