"""What the session screens share: the session (or agenda item) the caller may see, or 404.

The error translation every screen uses (``domain_errors``, ``report_error``, ``safe_next``) is
``ecabinet.screens``.
"""

from __future__ import annotations

from django.http import Http404

from ecabinet.errors import NotFound
from meetings import permissions
from meetings.models import AgendaItem


def access_or_404(user, meeting_id: int) -> permissions.MeetingAccess:
    try:
        return permissions.meeting_access(user, meeting_id)
    except NotFound as exc:
        raise Http404 from exc


def item_or_404(user, item_id: int) -> tuple[permissions.MeetingAccess, AgendaItem]:
    item = AgendaItem.objects.select_related("meeting").filter(pk=item_id).first()
    if item is None:
        raise Http404
    return access_or_404(user, item.meeting), item


def manager_or_404(user, meeting_id: int) -> permissions.MeetingAccess:
    """Secretariat-only screens do not exist for anyone else."""
    access = access_or_404(user, meeting_id)
    if not access.can_manage:
        raise Http404
    return access
