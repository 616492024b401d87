"""Who may do what with the records of a session after it: the minutes screen's actions, who signs
next, whom the minutes' notices reach, who exports the archive package. Built on the session's
rules (``meetings.permissions``: who may open the session, who reads internal papers); the records'
services, screens and API ask this module and nothing else (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from meetings.models import Annotation, Meeting, Participant
from meetings.permissions import INTERNAL_READERS, MeetingAccess, meeting_accesses
from voting.models import Ballot
from voting.permissions import is_closed

__all__ = ["BALLOT_DRAFT", "BALLOT_FULL", "BALLOT_LISTED", "MINUTES_COMMENTERS", "MinutesActions",
           "archived_annotations", "archived_ballots", "may_export_archive", "minutes_actions", "minutes_readers",
           "signs_now"]

# Who reads the draft minutes and comments on them: the participants who read internal papers.
MINUTES_COMMENTERS = INTERNAL_READERS


def minutes_readers(meeting: Meeting, *, commenters: bool = False) -> list:
    """Whom the minutes' notices reach: the participants who may open the session now (an unapproved
    substitute may not), and for the draft only those who may comment on it."""
    people = [p.user for p in Participant.objects.filter(meeting=meeting).select_related("user")]
    accesses = meeting_accesses(people, meeting)
    return [user for user in people if user.pk in accesses
            and (not commenters or accesses[user.pk].role in MINUTES_COMMENTERS)]


def archived_annotations(meeting: Meeting) -> QuerySet[Annotation]:
    """The annotations the archive package keeps (issue 17): the shared ones, not deleted, on every
    version of the session's documents. Never a private one (its author's alone, forever) nor one
    sent to the secretariat (a message to the office, like a comment to it, which the record leaves
    out too)."""
    return (Annotation.objects.filter(meeting=meeting, visibility=Annotation.Visibility.SHARED,
                                      deleted_at__isnull=True)
            .select_related("author", "version").order_by("id"))


# How much of a linked written ballot the archive package keeps (issue 18).
BALLOT_FULL, BALLOT_LISTED, BALLOT_DRAFT = "closed", "open", "draft"


def archived_ballots(meeting: Meeting, now: datetime) -> list[tuple[Ballot, str]]:
    """The written ballots linked to the session, in id order, each with how much of it the package
    keeps: ``BALLOT_FULL`` for a closed one (its deadline passed or it was closed): the questions,
    the drafts, the summary with every member's answer — what its archivists read (docs/ballots.md);
    ``BALLOT_LISTED`` for an open one: title and deadline, no answer (members do not see each other's
    answers before the close, nor does anyone reading the package); ``BALLOT_DRAFT`` for one not
    issued: its id and state only (a draft is the secretariat's alone)."""
    out = []
    for ballot in Ballot.objects.filter(meeting=meeting).order_by("id"):
        if is_closed(ballot, now):
            out.append((ballot, BALLOT_FULL))
        elif ballot.status == Ballot.Status.OPEN:
            out.append((ballot, BALLOT_LISTED))
        else:
            out.append((ballot, BALLOT_DRAFT))
    return out


def may_export_archive(access: MeetingAccess) -> bool:
    """Export the archive package of a (closed) session: archivists and the session's secretariat."""
    return access.is_archivist_reader or access.can_manage


@dataclass(frozen=True)
class MinutesActions:
    """What the caller may do on the minutes screen now; the services check the same rules."""

    can_edit: bool
    can_generate: bool
    can_comment: bool
    reads_comments: bool
    secretary_signs: bool
    chair_signs: bool
    can_sign_resolution: bool
    can_correct: bool
    can_export: bool


def signs_now(access: MeetingAccess, document) -> bool:
    """Whether the caller signs this sealed document (minutes, resolution, correction) next: the
    session's secretary first, then the chair, who seals it."""
    if document.status == document.Status.UNSIGNED:
        return access.role == Participant.Role.SECRETARY
    return document.status == document.Status.PARTIAL and access.can_chair


def minutes_actions(access: MeetingAccess, minutes, resolution) -> MinutesActions:
    """The minutes screen's questions for ``minutes`` (None before the first draft) and the session's
    signed ``resolution`` (None before it is signed)."""
    status = access.meeting.status
    after = status in (Meeting.Status.ADJOURNED, Meeting.Status.CLOSED)
    draft = minutes is not None and minutes.status == minutes.Status.DRAFT
    document = minutes.document if minutes is not None else None
    signing = document.status if document is not None else None
    commenter = access.role in MINUTES_COMMENTERS
    return MinutesActions(
        can_edit=access.can_manage and draft,
        can_generate=access.can_manage and after and (minutes is None or draft),
        can_comment=draft and commenter,
        reads_comments=minutes is not None and commenter,
        secretary_signs=document is not None and signing == document.Status.UNSIGNED and signs_now(access, document),
        chair_signs=document is not None and signing == document.Status.PARTIAL and signs_now(access, document),
        can_sign_resolution=access.can_chair and after and resolution is None,
        can_correct=access.can_manage and document is not None and signing == document.Status.SEALED,
        can_export=status == Meeting.Status.CLOSED and may_export_archive(access),
    )
