"""What is shown of motions — in the room snapshot, in the events and through the API — and the
count that closing a motion freezes. Reads only; the writes are in ``voting.services.motions``.

The count (``frozen_result``) follows the definitions of ``voting.tally``:

* members: the session's chair and members (a member who voted and was later removed from the
  session still counts: a vote cast stays counted, and so does its member);
* present: those of them attending in the room or remotely, plus each member represented by a
  present, approved substitute when the motion lets substitutes vote, plus every member whose vote
  was cast (whoever cast a vote was eligible, hence present, at that moment) — never more than the
  members, since each is counted once;
* yes / no / abstain: the votes, from ``Vote.choice`` (named) or ``SecretChoice`` (secret);
* the chair's vote, for the tie rule: the choice of the vote that stands for the chair, in a named
  vote only — a secret vote does not reveal it, so the tie rule cannot apply there;
* the legal basis: the version of the rule in force on the session's date (``voting.legal.session_day``:
  the local day it was convened for), never the day the vote closes.
"""

from __future__ import annotations

from collections import Counter

from meetings.models import Meeting, Participant
from voting import legal
from voting import tally as rules

from .models import Motion, SecretChoice, Vote
from .permissions import COUNTED_ROLES

__all__ = ["frozen_result", "motion_dict", "motions_state", "my_vote_dict", "public_result", "tally_of", "voting_rules"]

CHOICES = ("yes", "no", "abstain")
ATTENDING = (Participant.Attendance.PRESENT, Participant.Attendance.REMOTE)


def voting_rules(meeting) -> dict:
    """The session's voting rules, set by the chair (``meeting_set_voting_rules``), and the roles that
    count toward its members and quorum (``voting.permissions.COUNTED_ROLES``: the tablet counts the
    present members from them instead of keeping its own list)."""
    return {"rule": meeting.vote_rule, "substitutes_may_vote": meeting.substitutes_may_vote,
            "votes_may_change": meeting.votes_may_change, "counted_roles": sorted(COUNTED_ROLES)}


def _tally(method: str, rows: list[tuple[str, str]]) -> dict:
    """``rows``: (choice, voter username) of one motion's votes."""
    if method == Motion.Method.SECRET:
        return {"voted": len(rows)}
    counts = Counter(choice for choice, _username in rows)
    return {**{c: counts.get(c, 0) for c in CHOICES}, "voted": len(rows),
            "voters": sorted(username for _choice, username in rows)}


def tally_of(motion: Motion) -> dict:
    """The live tally as everyone in the room sees it: counts and who for a named vote, only how
    many for a secret one."""
    rows = list(Vote.objects.filter(motion=motion).values_list("choice", "voter__username"))
    return _tally(motion.method, rows)


def public_result(result: dict | None) -> dict | None:
    """The frozen result without the receipt hashes (those are in the record)."""
    if result is None:
        return None
    public = {k: v for k, v in result.items() if k != "receipts"}
    if "roll_call" in public:
        public["roll_call"] = [{k: v for k, v in row.items() if k != "receipt_hash"} for row in public["roll_call"]]
    return public


def motion_dict(motion: Motion, tally: dict) -> dict:
    """A motion as every participant sees it (no ``my_vote``: that one differs per person)."""
    return {"id": motion.pk, "agenda_item": motion.agenda_item_id, "title": motion.title, "text": motion.text,
            "method": motion.method, "rule": motion.rule, "status": motion.status,
            "substitutes_may_vote": motion.substitutes_may_vote, "votes_may_change": motion.votes_may_change,
            "tally": tally, "result": public_result(motion.result)}


def my_vote_dict(vote: Vote | None, on_behalf_of: str | None = None) -> dict | None:
    """The caller's own vote: its choice in a named vote, only that it was cast in a secret one."""
    if vote is None:
        return None
    return {"voted": True, "choice": vote.choice or None, "on_behalf_of": on_behalf_of}


def motions_state(access, motions: list[Motion]) -> list[dict]:
    """The snapshot's ``motions``: every motion of the session, with the caller's own vote. Two
    queries whatever the number of motions and votes."""
    if not motions:
        return []
    by_motion: dict[int, list[tuple[str, str]]] = {m.pk: [] for m in motions}
    mine: dict[int, dict] = {}
    rows = (Vote.objects.filter(motion__in=list(by_motion)).values_list(
        "motion_id", "choice", "voter_id", "voter__username", "on_behalf_of__username"))
    for motion_id, choice, voter_id, username, on_behalf_of in rows:
        by_motion[motion_id].append((choice, username))
        if voter_id == access.user.pk:
            mine[motion_id] = {"voted": True, "choice": choice or None, "on_behalf_of": on_behalf_of}
    return [{**motion_dict(m, _tally(m.method, by_motion[m.pk])), "my_vote": mine.get(m.pk)}
            for m in sorted(motions, key=lambda m: m.pk)]


def frozen_result(motion: Motion, *, closed_at: str) -> dict:
    """Count the votes of ``motion`` and apply its rule: the result to freeze at close, with the roll
    call (named) or the participation and the receipt hashes (secret)."""
    people = list(Participant.objects.filter(meeting_id=motion.agenda_item.meeting_id).values(
        "user_id", "role", "attendance", "substitute_for_id", "substitute_approved_at"))
    members = {p["user_id"] for p in people if p["role"] in COUNTED_ROLES}
    attending = {p["user_id"] for p in people if p["role"] in COUNTED_ROLES and p["attendance"] in ATTENDING}
    if motion.substitutes_may_vote:
        attending |= {p["substitute_for_id"] for p in people if p["role"] == Participant.Role.SUBSTITUTE
                      and p["substitute_approved_at"] and p["attendance"] in ATTENDING}
    votes = list(Vote.objects.filter(motion=motion).select_related("voter", "on_behalf_of").order_by("id"))
    represented = {v.on_behalf_of_id or v.voter_id for v in votes}
    members |= represented
    present = len((attending | represented) & members)
    chair_id = next((p["user_id"] for p in people if p["role"] == Participant.Role.CHAIR), None)
    if motion.method == Motion.Method.NAMED:
        counts = Counter(v.choice for v in votes)
        chair_vote = next((v.choice for v in votes if (v.on_behalf_of_id or v.voter_id) == chair_id), None)
    else:
        counts = Counter(SecretChoice.objects.filter(motion=motion).values_list("choice", flat=True))
        if sum(counts.values()) != len(votes):
            raise RuntimeError(f"motion {motion.pk}: secret choices and votes disagree")
        chair_vote = None
    count = rules.Count(members=len(members), present=present, yes=counts.get("yes", 0), no=counts.get("no", 0),
                        abstain=counts.get("abstain", 0), chair_vote=chair_vote)
    meeting = Meeting.objects.only("starts_at").get(pk=motion.agenda_item.meeting_id)
    on_date = legal.session_day(meeting.starts_at)
    result = {**rules.decide(motion.rule, count, on_date).as_dict(), "method": motion.method, "closed_at": closed_at}
    if motion.method == Motion.Method.NAMED:
        result["roll_call"] = sorted(
            ({"username": v.voter.username, "full_name": v.voter.full_name, "choice": v.choice,
              "on_behalf_of": v.on_behalf_of.username if v.on_behalf_of_id else None,
              "receipt_hash": v.receipt_hash} for v in votes), key=lambda row: row["username"])
    else:
        result["participation"] = sorted(
            ({"username": v.voter.username, "full_name": v.voter.full_name,
              "on_behalf_of": v.on_behalf_of.username if v.on_behalf_of_id else None} for v in votes),
            key=lambda row: row["username"])
        result["receipts"] = [{"receipt_hash": h, "choice": c} for h, c in sorted(
            SecretChoice.objects.filter(motion=motion).values_list("receipt_hash", "choice"))]
    return result
