"""Casting votes: one (``vote_cast``), or many in one transaction (``votes_cast``, a group commit).

``votes_cast`` is the one home of the write. A Government votes all at once: 27 members, or the 500
of an assembly, press the button within the same second. Each vote alone is a transaction of some
thirty statements and, on SQLite, a turn of the single writer lock; together, one after the other,
they took tens of seconds to acknowledge. So the votes that arrive together are checked and
written together: the motions, the access of every voter, the votes already cast are read once;
the votes, their audit entries and their events are written in one statement each; the running
tally is counted and sent once. Each ballot still gets its own answer, the one it would get alone
(``vote_cast`` is ``votes_cast`` of one ballot), and a refused ballot writes nothing.

Rules (issue #4; the counting rules themselves are in ``voting.tally`` and ``voting.motion_state``):

* Who votes: the chair and the members whose attendance is recorded present or remote (remote
  members vote from their tablets like those in the room). An approved substitute votes only when
  the motion allows it (``substitutes_may_vote``, frozen from the session's rules when the motion
  opens), only while the member they replace is not attending, and the vote is that member's
  (``Vote.on_behalf_of``): the database lets one vote stand for each member. Observers, the
  secretariat, archivists never vote.
* Refusals, in this order, for each ballot: ``NotFound`` (cannot see the session), ``ValidationFailed``
  (choice not yes/no/abstain), ``NotEligible`` 403 (observer, secretariat…), ``MotionNotOpen`` 409,
  ``InvalidState`` 409 (session not in progress), ``NotEligible`` 403 (not present — code
  ``not_present`` —, substitutes not allowed, the member replaced is attending), ``AlreadyVoted`` 409.
* Exactly once: a second vote answers 409 ``already_voted`` — also when it repeats the same
  choice (a retry of the *same request* carries the same ``Idempotency-Key`` and is answered with
  the first response instead). Only when the motion allows changes (``votes_may_change``) does a
  named vote with a *different* choice replace the earlier one, which is kept as a
  ``VoteRevision``, and the voter gets a new receipt. A secret vote never changes: nothing stored
  links it to its voter, so there would be nothing to change.
* Two ballots of one call that stand for the same member (the same voter twice, or a member and
  their substitute) are taken one after the other: the later one meets the earlier one's vote, as
  two requests in a row would.
* Lock order (``voting.locks``): the motion rows, then the audit head, then the session row.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ecabinet import audit, bulk
from ecabinet.errors import DomainError, NotFound, ValidationFailed
from meetings import events, permissions
from meetings.models import Participant
from meetings.services.guards import S, current_time, lock_meeting, require_state

from .. import locks, receipts
from ..models import Motion, SecretChoice, Vote, VoteRevision
from ..motion_state import my_vote_dict, tally_of
from . import eligibility
from .eligibility import AlreadyVoted, MotionNotOpen, NotEligible

__all__ = ["AlreadyVoted", "Ballot", "Cast", "MotionNotOpen", "NotEligible", "vote_cast", "votes_cast"]


@dataclass(frozen=True)
class Ballot:
    """One vote to cast: who, on which motion, which choice."""

    actor: object
    motion_id: int
    choice: str


@dataclass(frozen=True)
class Cast:
    """A ballot that was counted: the vote, the receipt token (shown once, stored only as its hash)
    and the username of the member it stands for (a substitute's vote), if any."""

    vote: Vote
    token: str
    on_behalf_of: str | None


@transaction.atomic
def vote_cast(*, actor, motion_id: int, choice: str) -> tuple[Vote, str]:
    """Cast the caller's vote on an open motion; returns the vote and the receipt token. Raises
    the refusal (see the module docstring)."""
    outcome = votes_cast([Ballot(actor, motion_id, choice)])[0]
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome.vote, outcome.token


@dataclass
class _Pending:
    index: int
    ballot: Ballot
    motion: Motion
    access: permissions.MeetingAccess
    participant: Participant
    member_id: int | None = None  # the member a substitute's vote stands for
    on_behalf: str | None = None


@transaction.atomic
def votes_cast(ballots: list[Ballot]) -> list[Cast | DomainError]:
    """Cast ``ballots`` in one transaction; returns, in the same order, each one's ``Cast`` or the
    ``DomainError`` that refused it (nothing is written for a refused ballot)."""
    outcomes: list[Cast | DomainError | None] = [None] * len(ballots)
    pending = _admitted(ballots, outcomes)
    while pending:
        this_round, pending = _one_per_member(pending)
        _cast(this_round, outcomes)
    return outcomes


def _admitted(ballots: list[Ballot], outcomes: list) -> list[_Pending]:
    """The ballots that pass every check that does not depend on the votes already cast; the
    others get their refusal in ``outcomes``."""
    motions = {m.pk: m for m in Motion.objects.select_related("agenda_item__meeting")
               .filter(pk__in={b.motion_id for b in ballots})}
    by_meeting: dict[int, list[int]] = {}
    for index, ballot in enumerate(ballots):
        motion = motions.get(ballot.motion_id)
        if motion is None:
            outcomes[index] = NotFound()
        else:
            by_meeting.setdefault(motion.agenda_item.meeting_id, []).append(index)
    pending = []
    for indexes in by_meeting.values():
        meeting = motions[ballots[indexes[0]].motion_id].agenda_item.meeting
        accesses = permissions.meeting_accesses([ballots[i].actor for i in indexes], meeting)
        for index in indexes:
            ballot = ballots[index]
            access = accesses.get(getattr(ballot.actor, "pk", None))
            try:
                if access is None:
                    raise NotFound()
                if ballot.choice not in Motion.Choice.values:
                    raise ValidationFailed(_("The choice is yes, no or abstain."), code="invalid_choice")
                participant = eligibility.check_role(access)
            except DomainError as refusal:
                outcomes[index] = refusal
                continue
            pending.append(_Pending(index, ballot, motions[ballot.motion_id], access, participant))
    # The motions still open, each held open until this transaction ends (voting.locks), in one
    # order so that two batches never wait for each other's locks.
    still_open = set()
    for motion_id in sorted({p.motion.pk for p in pending}):
        if locks.hold_open_motion(motion_id):
            still_open.add(motion_id)
            # The settings frozen when it opened.
            motions[motion_id].refresh_from_db(fields=["status", "method", "rule", "substitutes_may_vote",
                                                       "votes_may_change"])
    admitted = []
    for item in pending:
        try:
            if item.motion.pk not in still_open:
                raise MotionNotOpen()
            require_state(item.access.meeting, (S.IN_PROGRESS,))
            item.member_id = eligibility.represented(item.participant, item.motion)
        except DomainError as refusal:
            outcomes[item.index] = refusal
            continue
        if item.member_id:
            item.on_behalf = item.participant.substitute_for.username
        admitted.append(item)
    return admitted


def _one_per_member(pending: list[_Pending]) -> tuple[list[_Pending], list[_Pending]]:
    """This round: at most one ballot per motion and voter, and per motion and member stood for;
    the others wait for the next round, in their order."""
    now, later, taken = [], [], set()
    for item in pending:
        keys = {(item.motion.pk, "voter", item.ballot.actor.pk), (item.motion.pk, "member",
                                                                 item.member_id or item.ballot.actor.pk)}
        if keys & taken:
            later.append(item)
        else:
            taken |= keys
            now.append(item)
    return now, later


def _cast(pending: list[_Pending], outcomes: list) -> None:
    """One round: refuse or change against the votes already cast, insert the new ones, and write
    their audit entries and events."""
    votes = _votes_in_the_way(pending)
    new, changed = [], []
    for item in pending:
        motion, actor = item.motion, item.ballot.actor
        own = votes.get((motion.pk, "voter", actor.pk))
        try:
            if own is not None:
                vote, token = _change_vote(actor=actor, access=item.access, motion=motion, vote=own,
                                           choice=item.ballot.choice)
                changed.append(item)
                outcomes[item.index] = Cast(vote, token, item.on_behalf)
            elif (motion.pk, "member", item.member_id or actor.pk) in votes:
                raise eligibility.already_voted(motion, actor, item.member_id or actor.pk)
            else:
                new.append(item)
        except DomainError as refusal:
            outcomes[item.index] = refusal
    inserted = _insert(new, outcomes)
    audit.record_many([
        audit.Entry(item.ballot.actor, "vote.cast", outcomes[item.index].vote, meeting_id=item.access.meeting.pk,
                    data={"motion": item.motion.pk, "on_behalf_of": item.on_behalf,
                          **({} if item.motion.method == Motion.Method.SECRET else {"choice": item.ballot.choice})})
        for item in inserted])
    _announce([*changed, *inserted], outcomes)


def _votes_in_the_way(pending: list[_Pending]) -> dict[tuple, Vote]:
    """The votes already cast by these voters, or for the members they stand for, keyed
    ``(motion, "voter", voter)`` and ``(motion, "member", member)``; one query."""
    if not pending:
        return {}
    members = {item.member_id or item.ballot.actor.pk for item in pending}
    voters = {item.ballot.actor.pk for item in pending}
    rows = Vote.objects.filter(Q(voter_id__in=voters) | Q(on_behalf_of_id__in=members)
                               | Q(voter_id__in=members, on_behalf_of=None),
                               motion_id__in={item.motion.pk for item in pending})
    found: dict[tuple, Vote] = {}
    for vote in rows:
        found[(vote.motion_id, "voter", vote.voter_id)] = vote
        found[(vote.motion_id, "member", vote.on_behalf_of_id or vote.voter_id)] = vote
    return found


def _insert(new: list[_Pending], outcomes: list) -> list[_Pending]:
    """Insert the new votes (one statement; one at a time if another transaction got in the way)
    and file the secret choices; returns the ballots whose vote is in."""
    if not new:
        return []
    now = current_time()
    rows, tokens = [], []
    for item in new:
        token = receipts.new_token()
        digest = receipts.receipt_hash(item.motion.pk, token)
        secret = item.motion.method == Motion.Method.SECRET
        rows.append(Vote(motion=item.motion, voter=item.ballot.actor, on_behalf_of_id=item.member_id,
                         choice="" if secret else item.ballot.choice, receipt_hash="" if secret else digest,
                         cast_at=now))
        tokens.append((token, digest))
    try:
        with transaction.atomic():
            bulk.insert_objects(rows, ("motion_id", "voter_id", "on_behalf_of_id", "choice", "receipt_hash", "cast_at"))
        ids = {(motion, voter): pk for motion, voter, pk in Vote.objects.filter(
            motion_id__in={r.motion_id for r in rows}, voter_id__in={r.voter_id for r in rows}).values_list(
            "motion_id", "voter_id", "pk")}
        for row in rows:
            row.pk = ids[(row.motion_id, row.voter_id)]
            row._state.adding = False
        inserted = list(zip(new, rows, tokens, strict=True))
    except IntegrityError:
        # A vote for one of these members committed meanwhile (another process, PostgreSQL): each on
        # its own, so that only the ballots in the way are refused.
        inserted = []
        for item, row, token in zip(new, rows, tokens, strict=True):
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                row.pk = None
                outcomes[item.index] = eligibility.already_voted(item.motion, item.ballot.actor,
                                                      item.member_id or item.ballot.actor.pk)
                continue
            inserted.append((item, row, token))
    secret: dict[int, list[tuple[str, str]]] = {}
    for item, row, (token, digest) in inserted:
        outcomes[item.index] = Cast(row, token, item.on_behalf)
        if item.motion.method == Motion.Method.SECRET:
            secret.setdefault(item.motion.pk, []).append((item.ballot.choice, digest))
    for motion_id, choices in secret.items():
        _file_secret_choices(motion_id, choices)
    return [item for item, _row, _token in inserted]


def _announce(done: list[_Pending], outcomes: list) -> None:
    """Each voter's ``vote.mine``, then one ``vote.tally`` per motion, counted under the session's
    row lock so that it counts every vote committed before it: the last one always matches the
    database (PostgreSQL would otherwise let two concurrent batches each publish a count that
    misses the other's votes)."""
    by_meeting: dict[int, list[_Pending]] = {}
    for item in done:
        by_meeting.setdefault(item.access.meeting.pk, []).append(item)
    for meeting_id, items in sorted(by_meeting.items()):
        lock_meeting(meeting_id)
        writes = [("vote.mine", {"motion": item.motion.pk,
                                 "my_vote": my_vote_dict(outcomes[item.index].vote, item.on_behalf)},
                   [permissions.person(item.ballot.actor.pk)]) for item in items]
        motions = {item.motion.pk: item.motion for item in items}
        writes += [("vote.tally", {"motion": motion.pk, **tally_of(motion)}, [events.ALL])
                   for _pk, motion in sorted(motions.items())]
        events.emit_many(meeting_id, writes)


# --- writes -----------------------------------------------------------------------------------------

def _file_secret_choices(motion_id: int, choices: list[tuple[str, str]]) -> None:
    """Store secret ``(choice, receipt hash)`` pairs, each at a uniformly random place among the
    motion's choices.

    ``SecretChoice`` has a random key and no voter or time, but tables keep an order of their own
    (SQLite's ``rowid``, PostgreSQL's heap order) that follows the order of insertion — the order of
    the ``Vote`` rows, which name the voters. So each new choice swaps places with a random earlier
    one (the "inside-out" Fisher–Yates shuffle: the n-th choice lands on each of the n places with
    equal probability), and the physical order says nothing about who voted how. The motion's
    choices are locked first (PostgreSQL; SQLite's writer lock already serialises), so concurrent
    filings cannot move a row between the read and the swap.
    """
    filed = list(SecretChoice.objects.select_for_update().filter(motion_id=motion_id).order_by("pk"))
    before = {row.pk: (row.choice, row.receipt_hash) for row in filed}
    slots = [[row.choice, row.receipt_hash] for row in filed]
    for choice, digest in choices:
        incoming = [choice, digest]
        slot = secrets.randbelow(len(slots) + 1)
        if slot < len(slots):
            slots[slot], incoming = incoming, slots[slot]
        slots.append(incoming)
    moved = []
    for row, (choice, digest) in zip(filed, slots, strict=False):
        if (choice, digest) != before[row.pk]:
            row.choice, row.receipt_hash = choice, digest
            moved.append(row)
    # An existing place only ever receives a new choice (the one it swapped with goes to a new
    # place), so no update repeats a hash still stored: the unique hash per motion holds throughout.
    SecretChoice.objects.bulk_update(moved, ["choice", "receipt_hash"])
    bulk.insert(SecretChoice, ("id", "motion", "choice", "receipt_hash"),
                [(uuid.uuid4(), motion_id, choice, digest) for choice, digest in slots[len(filed):]])


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
