"""In-session motions and votes (issue #4): put, open, vote, close; and the session's voting rules.

Same rules as ``meetings.services``: keyword-only arguments, one transaction, the permission and
state checks, then the change with its audit entry and its event-log entry.

Rules applied here (the counting rules themselves are in ``voting.tally`` and
``voting.motion_state``):

* Who votes: the chair and the members whose attendance is recorded present or remote (remote
  members vote from their tablets like those in the room). An approved substitute votes only when
  the motion allows it (``substitutes_may_vote``, frozen from the session's rules when the motion
  opens), only while the member they replace is not attending, and the vote is that member's
  (``Vote.on_behalf_of``): the database lets one vote stand for each member. Observers, the
  secretariat, archivists never vote.
* Exactly once: a second vote answers 409 ``already_voted`` — also when it repeats the same
  choice (a retry of the *same request* carries the same ``Idempotency-Key`` and is answered with
  the first response instead). Only when the motion allows changes (``votes_may_change``) does a
  named vote with a *different* choice replace the earlier one, which is kept as a
  ``VoteRevision``, and the voter gets a new receipt. A secret vote never changes: nothing stored
  links it to its voter, so there would be nothing to change.
* Closing freezes the result in the same transaction as the status; closing a closed motion
  returns the frozen result and changes nothing; no function writes ``Motion.result`` again.
* Lock order, everywhere in this module: the motion row, then the audit head, then the session
  row (see ``voting.locks``).
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecabinet import audit, realtime
from ecabinet.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from meetings import events, permissions
from meetings.models import Meeting, Participant
from meetings.services._common import PREPARABLE, S, current_time, lock_meeting, require_state

from .. import locks, receipts
from ..models import Motion, SecretChoice, Vote, VoteRevision
from ..motion_state import (
    ATTENDING,
    VOTING_ROLES,
    frozen_result,
    motion_dict,
    my_vote_dict,
    public_result,
    tally_of,
    voting_rules,
)
from ..tally import PRESETS

__all__ = ["AlreadyVoted", "MotionNotClosed", "MotionNotOpen", "NotEligible", "meeting_set_voting_rules",
           "motion_access", "motion_close", "motion_create", "motion_open", "vote_cast"]

M = Motion.Status
MAX_TITLE = 500


class AlreadyVoted(Conflict):
    code = "already_voted"
    default_message = gettext_lazy("You have already voted on this motion.")


class MotionNotOpen(Conflict):
    code = "motion_not_open"
    default_message = gettext_lazy("This motion is not open for voting.")


class MotionNotClosed(Conflict):
    code = "motion_not_closed"
    default_message = gettext_lazy("The result is published when the vote closes.")


class NotEligible(Forbidden):
    code = "not_eligible"


def motion_access(actor, motion_id: int) -> tuple[permissions.MeetingAccess, Motion]:
    """The caller's access to the motion's session and the motion, or ``NotFound`` (the same for a
    motion that does not exist and one in a session the caller may not see)."""
    motion = Motion.objects.select_related("agenda_item__meeting").filter(pk=motion_id).first()
    if motion is None:
        raise NotFound()
    return permissions.meeting_access(actor, motion.agenda_item.meeting), motion


def _require_runner(access: permissions.MeetingAccess) -> None:
    if not access.can_run:
        raise Forbidden(_("Only the chair or the secretariat runs the votes."))


def _valid_rule(rule: str) -> str:
    if rule not in PRESETS:
        raise ValidationFailed(_("Unknown voting rule “%(rule)s”; the rules are: %(rules)s.")
                               % {"rule": rule, "rules": ", ".join(PRESETS)}, code="invalid_rule")
    return rule


def _emit_motion(meeting: Meeting, kind: str, motion: Motion, **extra) -> None:
    events.emit(meeting, kind, {"motion": motion_dict(motion, tally_of(motion)), **extra})


# --- motions --------------------------------------------------------------------------------------

@transaction.atomic
def motion_create(*, actor, item_id: int, title: str, text: str = "", method: str = Motion.Method.NAMED,
                  rule: str | None = None) -> Motion:
    """Put a draft motion on an agenda item: the chair or the secretariat, once the session is
    published and while it is in progress. ``rule`` defaults to the session's voting rule."""
    access, item = permissions.item_access(actor, item_id)
    if not access.can_run:
        raise Forbidden(_("Only the chair or the secretariat puts motions to the vote."))
    require_state(access.meeting, (S.PUBLISHED, S.IN_PROGRESS))
    title = (title or "").strip()
    if not title:
        raise ValidationFailed(_("The motion needs a title."), code="title_required")
    if len(title) > MAX_TITLE:
        raise ValidationFailed(_("The title is too long (at most %(n)s characters).") % {"n": MAX_TITLE},
                               code="title_too_long")
    if method not in Motion.Method.values:
        raise ValidationFailed(_("The method is named or secret."), code="invalid_method")
    rule = _valid_rule(rule or access.meeting.vote_rule)
    motion = Motion.objects.create(agenda_item=item, title=title, text=(text or "").strip(), method=method,
                                   rule=rule, created_by=actor)
    audit.record(actor, "motion.created", motion, meeting_id=access.meeting.pk,
                 data={"item": item.pk, "title": title, "method": method, "rule": rule})
    _emit_motion(access.meeting, "motion.created", motion)
    return motion


@transaction.atomic
def motion_open(*, actor, motion_id: int) -> Motion:
    """draft → open, by the chair or the secretariat, while the session is in progress. The
    session's rules on substitutes and on changing votes are copied onto the motion now, so a later
    change of the session's rules cannot alter a vote under way."""
    access, motion = motion_access(actor, motion_id)
    _require_runner(access)
    require_state(access.meeting, (S.IN_PROGRESS,))
    # The motion row first (lock order); then the rules, read after any change of them committed.
    Motion.objects.select_for_update().filter(pk=motion.pk).first()
    rules = Meeting.objects.values("substitutes_may_vote", "votes_may_change").get(pk=access.meeting.pk)
    updated = Motion.objects.filter(pk=motion.pk, status=M.DRAFT).update(status=M.OPEN, opened_at=current_time(),
                                                                        **rules)
    if not updated:
        motion.refresh_from_db(fields=["status"])
        raise InvalidState(_("This motion is “%(status)s”; only a draft can be opened.")
                           % {"status": motion.get_status_display()}, code="motion_not_draft")
    motion.refresh_from_db()
    audit.record(actor, "motion.opened", motion, meeting_id=access.meeting.pk, data={"motion": motion.pk, **rules})
    _emit_motion(access.meeting, "motion.opened", motion)
    return motion


@transaction.atomic
def motion_close(*, actor, motion_id: int) -> Motion:
    """open → closed, by the chair or the secretariat: count the votes, apply the motion's rule and
    freeze the result (``Motion.result``) with the status, in one statement. Closing a closed
    motion is not an error: it returns the motion with the result frozen by the first close, so
    every one of many racing closes answers the same result.

    Every vote that got in before the close is waited for and counted; every later one is refused
    (``voting.locks``)."""
    access, motion = motion_access(actor, motion_id)
    _require_runner(access)
    motion = locks.lock_for_close(motion.pk)
    if motion.status == M.CLOSED:
        return motion
    if motion.status == M.DRAFT:
        raise MotionNotOpen(_("This motion has not been opened."))
    if access.meeting.status == S.CLOSED:
        raise InvalidState(_("The session is closed; its records can no longer change."))
    now = current_time()
    result = frozen_result(motion, closed_at=now.isoformat())
    updated = Motion.objects.filter(pk=motion.pk, status=M.OPEN).update(status=M.CLOSED, closed_at=now,
                                                                       closed_by=actor, result=result)
    motion.refresh_from_db()
    if not updated:  # closed by another transaction after all (not reachable with the locks above)
        return motion
    summary = {k: result[k] for k in ("yes", "no", "abstain", "eligible", "present", "outcome", "adopted", "rule")}
    audit.record(actor, "motion.closed", motion, meeting_id=access.meeting.pk, data={"motion": motion.pk, **summary})
    _emit_motion(access.meeting, "motion.closed", motion, result=public_result(result))
    return motion


# --- votes ----------------------------------------------------------------------------------------

def _check_role(access: permissions.MeetingAccess) -> Participant:
    role = access.role
    if role in VOTING_ROLES or role == Participant.Role.SUBSTITUTE:
        return access.participant
    if role == Participant.Role.OBSERVER:
        raise NotEligible(_("Invited guests take part in the debate but do not vote."))
    if role == Participant.Role.SECRETARY:
        raise NotEligible(_("The secretariat records the vote but does not vote."))
    raise NotEligible(_("Only the members of the session vote."))


def _represented(participant: Participant, motion: Motion) -> int | None:
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


def _already_voted(motion: Motion, actor, member_id: int) -> AlreadyVoted:
    """Say which vote is in the way: the caller's own, or the other vote that stands for the member."""
    if Vote.objects.filter(motion=motion, voter=actor).exists():
        return AlreadyVoted()
    other = (Vote.objects.filter(Q(voter_id=member_id, on_behalf_of=None) | Q(on_behalf_of_id=member_id),
                                 motion=motion).select_related("voter").first())
    name = other.voter.full_name if other else "—"
    if other is not None and other.voter_id == member_id:
        return AlreadyVoted(_("%(name)s, whom you stand in for, has already voted in person.") % {"name": name})
    return AlreadyVoted(_("%(name)s has already voted on your behalf.") % {"name": name})


def _file_secret_choice(motion: Motion, choice: str, digest: str) -> None:
    """Store a secret choice at a uniformly random place among the motion's choices.

    ``SecretChoice`` has a random key and no voter or time, but tables keep an order of their own
    (SQLite's ``rowid``, PostgreSQL's heap order) that follows the order of insertion — the order of
    the ``Vote`` rows, which name the voters. So the new choice swaps places with a random earlier
    one (the "inside-out" Fisher–Yates shuffle: the n-th choice lands on each of the n places with
    equal probability), and the physical order says nothing about who voted how. The swap is a
    conditional update: if a concurrent vote moved that row first, the choice is simply appended.
    """
    filed = SecretChoice.objects.filter(motion=motion)
    count = filed.count()
    slot = secrets.randbelow(count + 1)
    if slot < count:
        pk, old_choice, old_digest = filed.order_by("pk").values_list("pk", "choice", "receipt_hash")[slot]
        if filed.filter(pk=pk, receipt_hash=old_digest).update(choice=choice, receipt_hash=digest):
            choice, digest = old_choice, old_digest
    SecretChoice.objects.create(motion=motion, choice=choice, receipt_hash=digest)


def _change_vote(*, actor, access, motion: Motion, vote: Vote, choice: str) -> tuple[Vote, str]:
    if motion.method == Motion.Method.SECRET:
        raise AlreadyVoted(_("You have already voted, and a secret vote cannot be changed."))
    if not motion.votes_may_change:
        raise AlreadyVoted(_("You have already voted; the session's rules do not allow changing a vote."))
    if vote.choice == choice:
        raise AlreadyVoted(_("You have already voted “%(choice)s”.") % {"choice": Motion.Choice(choice).label})
    token, now, previous = receipts.new_token(), current_time(), vote.choice
    changed = Vote.objects.filter(pk=vote.pk, choice=previous).update(
        choice=choice, receipt_hash=receipts.receipt_hash(motion.pk, token), changed_at=now)
    if not changed:
        raise AlreadyVoted(_("Your vote was changed by another request at the same moment; reload and check it."))
    VoteRevision.objects.create(vote=vote, choice=previous, replaced_at=now)
    vote.refresh_from_db()
    audit.record(actor, "vote.changed", vote, meeting_id=access.meeting.pk,
                 data={"motion": motion.pk, "from": previous, "to": choice})
    return vote, token


@transaction.atomic
def vote_cast(*, actor, motion_id: int, choice: str) -> tuple[Vote, str]:
    """Cast the caller's vote on an open motion; returns the vote and the receipt token, which is
    shown to the voter once and stored only as its hash (``voting.receipts``).

    Refusals, in this order: ``NotFound`` (cannot see the session), ``ValidationFailed`` (choice
    not yes/no/abstain), ``NotEligible`` 403 (observer, secretariat…), ``MotionNotOpen`` 409,
    ``InvalidState`` 409 (session not in progress), ``NotEligible`` 403 (not present — code
    ``not_present`` —, substitutes not allowed, the member replaced is attending),
    ``AlreadyVoted`` 409."""
    access, motion = motion_access(actor, motion_id)
    if choice not in Motion.Choice.values:
        raise ValidationFailed(_("The choice is yes, no or abstain."), code="invalid_choice")
    participant = _check_role(access)
    if not locks.hold_open_motion(motion.pk):
        raise MotionNotOpen()
    motion.refresh_from_db()  # the settings frozen when it opened
    require_state(access.meeting, (S.IN_PROGRESS,))
    member_id = _represented(participant, motion)
    on_behalf = participant.substitute_for.username if member_id else None
    secret = motion.method == Motion.Method.SECRET
    existing = Vote.objects.filter(motion=motion, voter=actor).first()
    if existing is not None:
        vote, token = _change_vote(actor=actor, access=access, motion=motion, vote=existing, choice=choice)
    else:
        token = receipts.new_token()
        digest = receipts.receipt_hash(motion.pk, token)
        try:
            with transaction.atomic():
                vote = Vote.objects.create(motion=motion, voter=actor, on_behalf_of_id=member_id,
                                           choice="" if secret else choice, receipt_hash="" if secret else digest,
                                           cast_at=current_time())
        except IntegrityError as exc:
            raise _already_voted(motion, actor, member_id or actor.pk) from exc
        if secret:
            _file_secret_choice(motion, choice, digest)
        audit.record(actor, "vote.cast", vote, meeting_id=access.meeting.pk,
                     data={"motion": motion.pk, "on_behalf_of": on_behalf, **({} if secret else {"choice": choice})})
    # The tally is counted under the session's row lock, so each vote.tally event counts every vote
    # committed before it: the last one always matches the database (PostgreSQL would otherwise let
    # two concurrent votes each publish a count that misses the other).
    lock_meeting(access.meeting.pk)
    events.emit(access.meeting, "vote.tally", {"motion": motion.pk, **tally_of(motion)})
    events.emit(access.meeting, "vote.mine", {"motion": motion.pk, "my_vote": my_vote_dict(vote, on_behalf)},
                [realtime.user_token(actor.pk)])
    return vote, token


# --- the session's voting rules -------------------------------------------------------------------

@transaction.atomic
def meeting_set_voting_rules(*, actor, meeting: Meeting | int, rule: str, substitutes_may_vote: bool,
                             votes_may_change: bool) -> Meeting:
    """The chair sets the session's voting rule and whether substitutes vote and votes may change;
    not while a motion is open. Each motion keeps the rules it opened with anyway: on PostgreSQL a
    change committed in the very instant a motion opens may pass the check, and the motion then
    states (and applies) the rules it read when it opened."""
    access = permissions.meeting_access(actor, meeting if isinstance(meeting, int) else meeting.pk)
    if not access.can_chair:
        raise Forbidden(_("Only the chair sets the session's voting rules."))
    require_state(access.meeting, PREPARABLE)
    rules = {"vote_rule": _valid_rule(rule), "substitutes_may_vote": bool(substitutes_may_vote),
             "votes_may_change": bool(votes_may_change)}
    # The audit entry first: its head lock comes before the session row's (lock order), and a
    # refusal below rolls the entry back with everything else.
    audit.record(actor, "meeting.voting_rules", access.meeting, meeting_id=access.meeting.pk, data=rules)
    open_motions = Motion.objects.filter(agenda_item__meeting=OuterRef("pk"), status=M.OPEN)
    if not Meeting.objects.filter(~Exists(open_motions), pk=access.meeting.pk).update(**rules):
        raise Conflict(_("A motion is open; change the voting rules after it closes."), code="motion_open")
    access.meeting.refresh_from_db()
    events.emit(access.meeting, "meeting.voting_rules", {"voting_rules": voting_rules(access.meeting)})
    return access.meeting

