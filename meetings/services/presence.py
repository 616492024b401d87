"""Presence: who has the session open right now, across processes, with crash recovery."""

from __future__ import annotations

from django.db import transaction

from .. import events
from ..models import Meeting, Presence
from ..snapshot import PRESENCE_TTL
from ._common import current_time


def _fresh(meeting_id: int, user_id: int):
    return Presence.objects.filter(meeting_id=meeting_id, user_id=user_id, seen_at__gte=current_time() - PRESENCE_TTL)


def _emit_presence(meeting_id: int, username: str, online: bool) -> None:
    events.emit(meeting_id, "presence.changed", {"username": username, "online": online}, [events.SECRETARIAT])


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
    _sweep(meeting_id)
    was_online = _fresh(meeting_id, user.pk).exists()
    now = current_time()
    Presence.objects.update_or_create(channel_name=channel_name, defaults={
        "meeting_id": meeting_id, "user": user, "connected_at": now, "seen_at": now})
    if not was_online:
        _emit_presence(meeting_id, user.username, True)


@transaction.atomic
def presence_disconnect(*, user, meeting_id: int, channel_name: str) -> None:
    deleted, _ = Presence.objects.filter(channel_name=channel_name).delete()
    if deleted and not _fresh(meeting_id, user.pk).exists() and not _closed(meeting_id):
        _emit_presence(meeting_id, user.username, False)


def presence_touch(*, channel_name: str) -> None:
    presence_touch_many(channel_names=[channel_name])


def presence_touch_many(*, channel_names: list[str]) -> None:
    """These connections are alive (their heartbeats): one statement for all of them."""
    if channel_names:
        Presence.objects.filter(channel_name__in=channel_names).update(seen_at=current_time())
