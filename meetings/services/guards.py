"""What the session services share, public to the apps above them (voting, records): the clock,
the session-state guards, account look-up, the session lock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from ecabinet import audit, clock
from ecabinet.errors import InvalidState, NotFound, ValidationFailed

from ..models import Document, DocumentVersion, Meeting

User = get_user_model()
S = Meeting.Status

# States in which the secretariat may still prepare the session (agenda, documents, invitations).
PREPARABLE = (S.DRAFT, S.PUBLISHED, S.IN_PROGRESS)


def current_time() -> datetime:
    """The services' clock (``ecabinet.clock``, the server's one clock); tests may replace this."""
    return clock.moment()


def require_state(meeting: Meeting, allowed: Iterable[str]) -> None:
    if meeting.status not in allowed:
        raise InvalidState(
            _("This cannot be done while the session is “%(status)s”.") % {"status": meeting.get_status_display()},
        )


def user_by_username(username: str):
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationFailed(_("There is no active account “%(username)s”.") % {"username": username},
                               code="unknown_user")
    return user


def lock_meeting(meeting_id: int) -> None:
    """Serialise changes that read-then-write one session's rows (agenda positions, version
    numbers). On PostgreSQL the second writer waits for this row lock; SQLite ignores FOR UPDATE but
    its IMMEDIATE transactions serialise writers anyway. The audit head is locked first: see
    ``ecabinet.audit.lock_head`` for why every transaction takes its locks in that order."""
    audit.lock_head()
    Meeting.objects.select_for_update().only("pk").get(pk=meeting_id)


def version_of(document: Document, number: int | None) -> DocumentVersion:
    """A version of a document by its number (the current one when ``number`` is None); NotFound (404)
    when there is no such version. The caller has checked that the actor may read the document."""
    version = document.current_version if number is None else document.versions.filter(number=number).first()
    if version is None:
        raise NotFound()
    return version
