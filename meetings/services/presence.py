"""Presence: who has the session open right now, across processes, with crash recovery."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from ecabinet import realtime

from .. import events, permissions
from ..models import Meeting, Presence
from ..snapshot import PRESENCE_TTL
from .guards import current_time


def _fresh(meeting_id: int, user_id: int):
    return Presence.objects.filter(meeting_id=meeting_id, user_id=user_id, seen_at__gte=current_time() - PRESENCE_TTL)


def _emit_presence(meeting_id: int, username: str, online: bool) -> None:
    events.emit(meeting_id, "presence.changed", {"username": username, "online": online},
                list(permissions.PRESENCE_AUDIENCE))


def _closed(meeting_id: int) -> bool:
    """A closed session is immutable (DESIGN.md §3 principle 7): reading it (the archivist, a member
    looking back) must not append presence events to its log, and nobody runs it any more."""
    return Meeting.objects.filter(pk=meeting_id, status=Meeting.Status.CLOSED).exists()


def _sweep(meeting_id: int, *, announce: bool = True) -> None:
    """Forget connections of crashed processes (no heartbeat within the TTL)."""
    stale = (Presence.objects.filter(meeting_id=meeting_id, seen_at__lt=current_time() - PRESENCE_TTL)
             .select_related("user"))
    users = {p.user_id: p.user.username for p in stale}
    if not users:
        return
    stale.delete()
    if not announce:
        return
    for user_id, username in users.items():
        if not _fresh(meeting_id, user_id).exists():
            _emit_presence(meeting_id, username, False)


@transaction.atomic
def presence_connect(*, user, meeting_id: int, channel_name: str) -> None:
    if _closed(meeting_id):
        _sweep(meeting_id, announce=False)
        return
    now = current_time()
    since = now - PRESENCE_TTL
    # The sweep (``_sweep``) and "was this person online already?" in one read: the session's stale
    # rows and the caller's own (issue 19: a query fewer on every connect of a reconnect storm).
    rows = list(Presence.objects.filter(Q(seen_at__lt=since) | Q(user_id=user.pk), meeting_id=meeting_id)
                .values_list("pk", "user_id", "user__username", "seen_at"))
    stale = {pk: (user_id, username) for pk, user_id, username, seen_at in rows if seen_at < since}
    was_online = any(user_id == user.pk and seen_at >= since for _pk, user_id, _u, seen_at in rows)
    if stale:
        Presence.objects.filter(pk__in=list(stale)).delete()
        for user_id, username in dict(stale.values()).items():
            if not _fresh(meeting_id, user_id).exists():
                _emit_presence(meeting_id, username, False)
    # One INSERT: a socket's channel name is new (``hotpath.hub.Inbox``) and it connects once; an
    # update_or_create cost a SELECT and two savepoints more on every connect of a reconnect storm.
    Presence.objects.create(channel_name=channel_name, meeting_id=meeting_id, user=user, connected_at=now, seen_at=now)
    if not was_online:
        _emit_presence(meeting_id, user.username, True)


@transaction.atomic
def presence_disconnect(*, user, meeting_id: int, channel_name: str) -> None:
    deleted, _ = Presence.objects.filter(channel_name=channel_name).delete()
    if deleted and not _fresh(meeting_id, user.pk).exists() and not _closed(meeting_id):
        _emit_presence(meeting_id, user.username, False)


@transaction.atomic
def presence_evict_beyond(*, user, keep: int) -> list[tuple[int, str]]:
    """Close ``user``'s oldest live room sockets beyond the newest ``keep``, in every session and
    process (``WS_MAX_SOCKETS_PER_ACCOUNT``): their presence is forgotten now, and after the commit
    each is told to close (``room.evict``). Returns the (session, channel) pairs closed.

    Live means a heartbeat within ``PRESENCE_TTL``: a socket left half-open by a tablet that lost its
    Wi-Fi stops counting by itself. The oldest goes, not the newest: a tablet reconnecting over a
    flaky network leaves dead sockets behind, and its new one must win over them."""
    if keep <= 0:
        return []
    live = (Presence.objects.filter(user=user, seen_at__gte=current_time() - PRESENCE_TTL)
            .order_by("-connected_at", "-pk").values_list("meeting_id", "channel_name"))
    beyond = list(live[keep:])
    for meeting_id, channel_name in beyond:
        presence_disconnect(user=user, meeting_id=meeting_id, channel_name=channel_name)
    if beyond:
        realtime.sockets_close_on_commit(user_id=user.pk, sockets=beyond)
    return beyond


def presence_touch(*, channel_name: str) -> None:
    presence_touch_many(channel_names=[channel_name])


def presence_touch_many(*, channel_names: list[str]) -> None:
    """These connections are alive (their heartbeats): one statement for all of them."""
    if channel_names:
        Presence.objects.filter(channel_name__in=channel_names).update(seen_at=current_time())
