"""In-session motions and votes (issue #4): put, open, vote, close; and the session's voting rules.

Same rules as ``meetings.services``: keyword-only arguments, one transaction, the permission and
state checks, then the change with its audit entry and its event-log entry.

Rules applied here (the counting rules themselves are in ``voting.tally`` and
``voting.motion_state``):

* Votes themselves are cast in ``voting.services.votes`` (one at a time or many in one
  transaction); ``vote_cast`` and the vote refusals are also importable from here.
* Closing freezes the result in the same transaction as the status; closing a closed motion
  returns the frozen result and changes nothing; no function writes ``Motion.result`` again.
* Lock order, everywhere in this module: the motion row, then the audit head, then the session
  row (see ``voting.locks``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecabinet import audit
from ecabinet.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from ecabinet.textlimits import bounded_description
from meetings import events, permissions
from meetings.models import Meeting
from meetings.services.guards import PREPARABLE, S, current_time, require_state

from .. import legal, locks
from ..models import Motion
from ..motion_state import frozen_result, motion_dict, public_result, tally_of, voting_rules
from ..tally import PRESETS
from .votes import AlreadyVoted, MotionNotOpen, NotEligible, vote_cast

__all__ = ["AlreadyVoted", "MotionNotClosed", "MotionNotOpen", "NotEligible", "meeting_set_voting_rules",
           "motion_access", "motion_close", "motion_create", "motion_open", "vote_cast"]

M = Motion.Status
MAX_TITLE = 500


class MotionNotClosed(Conflict):
    code = "motion_not_closed"
    default_message = gettext_lazy("The result is published when the vote closes.")


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


def _require_rule_in_force(meeting: Meeting, rule: str) -> None:
    """A motion is decided under the version of its rule in force on the session's date
    (``voting.legal``); a session dated before the first version the system knows cannot vote under it."""
    day = legal.session_day(meeting.starts_at)
    try:
        legal.preset_version(rule, day)
    except legal.NoVersionInForce:
        raise InvalidState(_("The voting rule “%(rule)s” has no legal basis in force on the session's date "
                             "(%(day)s).") % {"rule": rule, "day": day.isoformat()},
                           code="rule_not_in_force") from None


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
    text = bounded_description(text, field="text")
    if method not in Motion.Method.values:
        raise ValidationFailed(_("The method is named or secret."), code="invalid_method")
    rule = _valid_rule(rule or access.meeting.vote_rule)
    _require_rule_in_force(access.meeting, rule)
    motion = Motion.objects.create(agenda_item=item, title=title, text=text, method=method,
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
    _require_rule_in_force(access.meeting, motion.rule)
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

