"""Who may vote now, and why not: the refusals of a vote that do not depend on the other ballots
of its batch (``voting.services.votes`` applies them, in the order its docstring gives)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecabinet.errors import Conflict, Forbidden
from meetings import permissions
from meetings.models import Participant

from ..models import Motion, Vote
from ..motion_state import ATTENDING
from ..permissions import may_vote_in

__all__ = ["AlreadyVoted", "MotionNotOpen", "NotEligible", "already_voted", "check_role", "represented"]


class AlreadyVoted(Conflict):
    code = "already_voted"
    default_message = gettext_lazy("You have already voted on this motion.")


class MotionNotOpen(Conflict):
    code = "motion_not_open"
    default_message = gettext_lazy("This motion is not open for voting.")


class NotEligible(Forbidden):
    code = "not_eligible"



def check_role(access: permissions.MeetingAccess) -> Participant:
    role = access.role
    if may_vote_in(access):
        return access.participant
    if role == Participant.Role.OBSERVER:
        raise NotEligible(_("Invited guests take part in the debate but do not vote."))
    if role == Participant.Role.SECRETARY:
        raise NotEligible(_("The secretariat records the vote but does not vote."))
    raise NotEligible(_("Only the members of the session vote."))


def represented(participant: Participant, motion: Motion) -> int | None:
    """The member a substitute's vote stands for (None: the caller votes as themselves), or
    ``NotEligible`` saying why the caller may not vote now."""
    substitute = participant.role == Participant.Role.SUBSTITUTE
    if substitute and not participant.is_approved:
        raise NotEligible(_("The chair has not approved your substitution."))
    if substitute and not motion.substitutes_may_vote:
        raise NotEligible(_("Substitutes do not vote on this motion: the session's rules, set by the chair, "
                            "do not allow it."))
    if participant.attendance not in ATTENDING:
        raise NotEligible(_("Your attendance has not been recorded as present; ask the secretariat."),
                          code="not_present")
    if not substitute:
        return None
    member = Participant.objects.select_related("user").filter(
        meeting_id=participant.meeting_id, user_id=participant.substitute_for_id).first()
    if member is not None and member.attendance in ATTENDING:
        raise NotEligible(_("%(name)s, whom you stand in for, is attending and votes in person.")
                          % {"name": member.user.full_name})
    return participant.substitute_for_id


def already_voted(motion: Motion, actor, member_id: int) -> AlreadyVoted:
    """Say which vote is in the way: the caller's own, or the other vote that stands for the member."""
    if Vote.objects.filter(motion=motion, voter=actor).exists():
        return AlreadyVoted()
    other = (Vote.objects.filter(Q(voter_id=member_id, on_behalf_of=None) | Q(on_behalf_of_id=member_id),
                                 motion=motion).select_related("voter").first())
    name = other.voter.full_name if other else "—"
    if other is not None and other.voter_id == member_id:
        return AlreadyVoted(_("%(name)s, whom you stand in for, has already voted in person.") % {"name": name})
    return AlreadyVoted(_("%(name)s has already voted on your behalf.") % {"name": name})
