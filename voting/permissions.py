"""Who may see and do what in voting — written opinion ballots — the one place that answers it.
Views and services ask the named questions here (``can_create_ballot``, ``can_manage_ballots``,
``ballot_access(...).can_edit``, ...) and never look at ``is_secretariat`` themselves.

Rules (issue #4 §6, DESIGN.md §2):

* The secretariat (``is_secretariat``) sees every ballot in every state and is the only one that
  prepares, issues and closes them.
* A recipient sees a ballot from the moment it is issued (never its draft) and answers it while it
  is open.
* A ballot is *closed* when its status says so or when its deadline has passed: it closes by itself
  at the deadline, whether or not the scheduler (``ballot_reminders``) has recorded it yet. The
  caller passes the clock reading (``now``), so this module has no clock of its own.
* Archivists read closed ballots (the drafts, the answers, the summary) and nothing else.
* The administrator (``is_superuser``) has no access by virtue of that flag; like everyone else they
  see a ballot only as one of its recipients. This module therefore never calls ``user.has_perm()``.
* Recipients see the summary (everyone's answers) only once the ballot is closed, so that no member
  answers under the influence of the others' answers; the secretariat sees it all along.
* Whoever may not see a ballot gets the same ``NotFound`` as for one that does not exist.
* The session of a ballot (issue 18): the secretariat links a draft to a session only if it manages
  that session too (``can_link_ballot_to``). The link is shown only to those who may see both the
  ballot and the session (``linked_meeting_visible``); a session page lists only the linked ballots
  its reader may open (``ballots_of_meeting``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet

from ecabinet.errors import Forbidden, NotFound
from meetings.models import Participant

from .models import Ballot, BallotRecipient

__all__ = ["COUNTED_ROLES", "VOTER_ROLES", "BallotAccess", "ballot_access", "ballot_managers", "ballots_of_meeting",
           "ballots_visible_to", "can_create_ballot", "can_link_ballot_to", "can_manage_ballots", "closed_filter",
           "is_closed", "linkable_meetings", "linked_meeting_visible", "may_vote_in"]

B = Ballot.Status

# Who votes on a session's motions: the chair, the members and their substitutes (not the secretariat,
# not invited guests). Attendance, the chair's approval of a substitute and the motion's own rules are
# checked when the vote is cast (``voting.services.eligibility``).
VOTER_ROLES = frozenset({Participant.Role.CHAIR, Participant.Role.MEMBER, Participant.Role.SUBSTITUTE})

# Who counts toward the session's membership, its quorum and the "present members" of a vote: the
# chair and the members (a substitute's vote is counted for the member they replace). The tally, the
# record, the minutes and the tablet (``voting_rules.counted_roles`` in the snapshot) all read this.
COUNTED_ROLES = frozenset({Participant.Role.CHAIR, Participant.Role.MEMBER})


def may_vote_in(access) -> bool:
    """Whether the caller's role in the session (a ``meetings.permissions.MeetingAccess``) votes."""
    return access.role in VOTER_ROLES


def is_closed(ballot: Ballot, now: datetime) -> bool:
    """Closed for answers: recorded as closed, or open with its deadline passed."""
    return ballot.status == B.CLOSED or (ballot.status == B.OPEN and ballot.deadline <= now)


def closed_filter(now: datetime) -> Q:
    """``is_closed`` as a filter on ``Ballot``."""
    return Q(status=B.CLOSED) | Q(status=B.OPEN, deadline__lte=now)


def _active(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_manage_ballots(user) -> bool:
    """Sees every ballot in every state; prepares, issues and closes them: the secretariat."""
    return bool(_active(user) and user.is_secretariat)


def can_create_ballot(user) -> bool:
    """May prepare a new (draft) ballot."""
    return can_manage_ballots(user)


def ballot_managers() -> QuerySet:
    """The accounts ``can_manage_ballots`` answers yes for, as a query (who hears a ballot's notices
    to the secretariat)."""
    return get_user_model().objects.filter(is_secretariat=True, is_active=True)


def ballots_visible_to(user, now: datetime) -> QuerySet[Ballot]:
    """Ballots the user may open, as one query."""
    if not _active(user):
        return Ballot.objects.none()
    if can_manage_ballots(user):
        return Ballot.objects.all()
    mine = Exists(BallotRecipient.objects.filter(ballot=OuterRef("pk"), user=user))
    visible = mine & ~Q(status=B.DRAFT)
    if user.is_archivist:
        visible |= closed_filter(now)
    return Ballot.objects.filter(visible)


def ballots_of_meeting(user, meeting, now: datetime) -> QuerySet[Ballot]:
    """The ballots linked to ``meeting`` that ``user`` may open (the caller has already checked that
    ``user`` sees the session: the session page is shown only to them)."""
    return ballots_visible_to(user, now).filter(meeting=meeting)


def can_link_ballot_to(user, meeting_access) -> bool:
    """Whether ``user`` may link a ballot to (or unlink it from) the session of ``meeting_access``
    (a ``meetings.permissions.MeetingAccess``): only who manages ballots *and* that session — the
    ballot becomes part of the session's record and archive package."""
    return can_manage_ballots(user) and bool(meeting_access.can_manage)


def linkable_meetings(user) -> QuerySet:
    """The sessions ``user`` may link a ballot to, as one query (``can_link_ballot_to`` for each)."""
    # Imported here: meetings.permissions imports this module (may_vote_in) at its top.
    from meetings.permissions import meetings_managed_by

    if not can_manage_ballots(user):
        return meetings_managed_by(user).none()
    return meetings_managed_by(user)


def linked_meeting_visible(user, ballot: Ballot) -> bool:
    """Whether the caller, who sees ``ballot``, is shown the session it is linked to: only if they
    may see that session too (a recipient who is not invited to it is not told of it)."""
    if ballot.meeting_id is None:
        return False
    # Imported here: meetings.permissions imports this module (may_vote_in) at its top.
    from meetings.permissions import meetings_visible_to

    return meetings_visible_to(user).filter(pk=ballot.meeting_id).exists()


@dataclass(frozen=True)
class BallotAccess:
    """What one user may do with one ballot, worked out once per request."""

    user: object
    ballot: Ballot
    is_recipient: bool
    now: datetime

    @property
    def is_closed(self) -> bool:
        return is_closed(self.ballot, self.now)

    @property
    def can_manage(self) -> bool:
        return can_manage_ballots(self.user)

    @property
    def can_view(self) -> bool:
        if self.can_manage:
            return True
        if self.is_recipient and self.ballot.status != B.DRAFT:
            return True
        return bool(self.user.is_archivist and self.is_closed)

    @property
    def can_answer(self) -> bool:
        """Recipients answer while the ballot is open and its deadline is ahead."""
        return self.is_recipient and self.ballot.status == B.OPEN and not self.is_closed

    @property
    def can_edit(self) -> bool:
        """Questions, drafts, recipients and details change only before the ballot is issued."""
        return self.can_manage and self.ballot.status == B.DRAFT

    @property
    def sees_summary(self) -> bool:
        return self.can_manage or (self.is_closed and self.can_view)

    def require(self, allowed: bool) -> None:
        if not allowed:
            raise Forbidden()


def ballot_access(user, ballot: Ballot | int, now: datetime) -> BallotAccess:
    """The caller's access to a ballot, or ``NotFound`` if they may not see it at all."""
    if not _active(user):
        raise NotFound()
    if not isinstance(ballot, Ballot):
        ballot = Ballot.objects.filter(pk=ballot).first()
        if ballot is None:
            raise NotFound()
    is_recipient = BallotRecipient.objects.filter(ballot=ballot, user=user).exists()
    access = BallotAccess(user=user, ballot=ballot, is_recipient=is_recipient, now=now)
    if not access.can_view:
        raise NotFound()
    return access
