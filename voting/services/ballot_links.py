"""The session of a written ballot (issue 18): checking a change of link and auditing it.

A ballot may be linked to one session — the one whose agenda item it decides or the one it is
reported to (docs/ballots.md, "The session of a ballot"). The services of ``ballots.py`` call
``check_link`` before they write anything (so a refused link leaves every row as it was) and
``record_link`` after, in the same transaction. Who may link is ``voting.permissions.can_link_ballot_to``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from ecabinet import audit
from ecabinet.errors import Forbidden, NotFound, ValidationFailed
from meetings.models import Meeting
from meetings.permissions import meeting_access

from ..models import Ballot
from ..permissions import can_link_ballot_to

__all__ = ["ID_MAX", "check_link", "record_link"]

ID_MAX = 10**18 - 1  # ids have at most 18 digits (ecabinet.converters)


def _meeting_id(value) -> int | None:
    """The id of the session a ballot is to be linked to (``None`` to unlink); 400 ``unknown_meeting``
    for anything that is not a plausible id."""
    if value is None or value == "":
        return None
    if isinstance(value, Meeting):
        return value.pk
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ID_MAX:
        raise ValidationFailed(_("There is no such session."), code="unknown_meeting")
    return value


def _linkable(actor, meeting_id: int | None) -> Meeting | None:
    """The session ``actor`` may link a ballot to or unlink it from (read-only: called before any
    write). A session the actor cannot see is answered like one that does not exist (400
    ``unknown_meeting``); one they see but do not manage is refused (403 ``meeting_not_managed``)."""
    if meeting_id is None:
        return None
    try:
        access = meeting_access(actor, meeting_id)
    except NotFound:
        raise ValidationFailed(_("There is no such session."), code="unknown_meeting") from None
    if not can_link_ballot_to(actor, access):
        raise Forbidden(_("Only the secretariat of a session can link a written ballot to it or remove it from "
                          "it."), code="meeting_not_managed")
    return access.meeting


def check_link(actor, current: int | None, wanted) -> tuple[bool, Meeting | None]:
    """Validate a change of session, reading only: ``(changes, the new session or None)``. Both the
    session left and the session joined must be managed by the actor."""
    wanted_id = _meeting_id(wanted)
    if wanted_id == current:
        return False, None
    if current is not None:
        _may_leave(actor, current)
    return True, _linkable(actor, wanted_id)


def _may_leave(actor, meeting_id: int) -> None:
    """Taking a ballot out of a session changes that session's record: only its secretariat may.
    The session is not named (the actor may not be allowed to see it)."""
    try:
        _linkable(actor, meeting_id)
    except (ValidationFailed, Forbidden):
        raise Forbidden(_("The ballot is linked to a session whose secretariat you are not; only that session's "
                          "secretariat can move it."), code="meeting_not_managed") from None


def record_link(actor, ballot: Ballot, previous: int | None) -> None:
    """Audit a change of session: one entry in the trail of each session concerned (ids only)."""
    if previous is not None:
        audit.record(actor, "ballot.meeting_unlinked", ballot, meeting_id=previous,
                     data={"ballot": ballot.pk, "meeting": previous})
    if ballot.meeting_id is not None:
        audit.record(actor, "ballot.meeting_linked", ballot, meeting_id=ballot.meeting_id,
                     data={"ballot": ballot.pk, "meeting": ballot.meeting_id, "previous": previous})
