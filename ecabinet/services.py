"""Writes to the core models that belong to no session (sessions' writes live in ``meetings.services``)."""

from __future__ import annotations

from django.utils import timezone

from .models import Notification

__all__ = ["notifications_mark_read"]


def notifications_mark_read(*, user, up_to_id: int | None = None) -> int:
    """Mark the unread notifications of ``user`` as read now; returns how many were marked.

    With ``up_to_id``, only those up to that id: the screen passes the newest one it showed, so a
    notice that arrives while the page renders stays unread. One conditional UPDATE. Reading one's
    own notices is not session content, so no audit entry is written.
    """
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if up_to_id is not None:
        unread = unread.filter(id__lte=up_to_id)
    return unread.update(read_at=timezone.now())
