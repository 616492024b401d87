"""Sessions: creation, the status lifecycle (draft → published → in_progress → adjourned →
closed), and audited viewing."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from ecabinet import audit
from ecabinet.errors import Forbidden, InvalidState, ValidationFailed

from .. import events, permissions
from ..models import Meeting, Participant
from .guards import S, current_time, require_state
from .participants import add_participant, notify_invitation


def meeting_create(*, actor, title: str, kind: str, starts_at: datetime, location: str = "",
                   offline_copies: bool = True, offline_restricted: bool = False) -> Meeting:
    """Create a draft session. The creator becomes its first secretary. ``offline_copies`` and
    ``offline_restricted``: whether ministers may keep it (and its restricted documents) on their
    tablets (docs/offline.md)."""
    if not permissions.can_create_meeting(actor):
        raise Forbidden(_("Only the secretariat can create sessions."))
    if kind not in Meeting.Kind.values:
        raise ValidationFailed(_("Unknown kind of session."), code="invalid_kind")
    if not title.strip():
        raise ValidationFailed(_("The session needs a title."), code="title_required")
    with transaction.atomic():
        meeting = Meeting.objects.create(title=title.strip(), kind=kind, starts_at=starts_at,
                                         location=location.strip(), created_by=actor,
                                         offline_copies=bool(offline_copies),
                                         offline_restricted=bool(offline_restricted))
        audit.record(actor, "meeting.created", meeting, meeting_id=meeting.pk,
                     data={"title": meeting.title, "kind": kind, "starts_at": starts_at.isoformat(),
                           "offline_copies": meeting.offline_copies,
                           "offline_restricted": meeting.offline_restricted})
        add_participant(actor=actor, meeting=meeting, user=actor, role=Participant.Role.SECRETARY)
    return meeting


def _transition(*, actor, meeting: Meeting, source: tuple[str, ...], target: str, stamp: str) -> Meeting:
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_run)
    now = current_time()
    audit.lock_head()  # lock order: audit head, then the session row (see ecabinet.audit.lock_head)
    updated = Meeting.objects.filter(pk=meeting.pk, status__in=source).update(status=target, **{stamp: now})
    if not updated:
        meeting.refresh_from_db(fields=["status"])
        raise InvalidState(
            _("The session is “%(status)s”; it cannot become “%(target)s”.")
            % {"status": meeting.get_status_display(), "target": Meeting.Status(target).label},
        )
    previous = meeting.status
    meeting.refresh_from_db()
    audit.record(actor, "meeting.status", meeting, meeting_id=meeting.pk,
                 data={"from": previous, "to": target})
    events.emit(meeting, "meeting.status", {"status": target})
    return meeting


@transaction.atomic
def meeting_publish(*, actor, meeting: Meeting) -> Meeting:
    """draft → published, by the secretariat or the chair (DESIGN.md §5.2, like every transition).
    Needs an agenda and a chair; every invitee is notified."""
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_run)
    require_state(meeting, (S.DRAFT,))
    if not meeting.agenda_items.exists():
        raise InvalidState(_("Add at least one agenda item before publishing."), code="agenda_empty")
    if not meeting.participants.filter(role=Participant.Role.CHAIR).exists():
        raise InvalidState(_("Invite the chair before publishing."), code="no_chair")
    meeting = _transition(actor=actor, meeting=meeting, source=(S.DRAFT,), target=S.PUBLISHED,
                          stamp="published_at")
    invitees = [p.user for p in meeting.participants.select_related("user").exclude(user=actor)
                if p.is_approved]
    notify_invitation(meeting, invitees)
    return meeting


@transaction.atomic
def meeting_start(*, actor, meeting: Meeting) -> Meeting:
    return _transition(actor=actor, meeting=meeting, source=(S.PUBLISHED,), target=S.IN_PROGRESS,
                       stamp="started_at")


@transaction.atomic
def meeting_adjourn(*, actor, meeting: Meeting) -> Meeting:
    """in_progress → adjourned; refused while a vote is open (it could then never be closed)."""
    if meeting.agenda_items.filter(motions__status="open").exists():
        raise InvalidState(_("Close the open vote before adjourning the session."), code="motion_open")
    return _transition(actor=actor, meeting=meeting, source=(S.IN_PROGRESS,), target=S.ADJOURNED,
                       stamp="adjourned_at")


@transaction.atomic
def meeting_close(*, actor, meeting: Meeting) -> Meeting:
    return _transition(actor=actor, meeting=meeting, source=(S.ADJOURNED,), target=S.CLOSED,
                       stamp="closed_at")


OFFLINE_FIELDS = ("offline_copies", "offline_restricted")


@transaction.atomic
def meeting_set_offline(*, actor, meeting: Meeting, offline_copies: bool | None = None,
                        offline_restricted: bool | None = None) -> Meeting:
    """Whether ministers may keep the session on their tablets, and its restricted documents too
    (docs/offline.md): the session's secretariat decides, in any state (turning it off after the
    session makes every tablet delete its copy at its next contact). ``None`` leaves a setting as it
    is; a change is audited with its old and new value, a request that changes nothing is not."""
    access = permissions.meeting_access(actor, meeting.pk)
    if not access.can_manage:
        raise Forbidden(_("Only the session's secretariat decides whether it may be kept on tablets."))
    wanted = {name: bool(value) for name, value in
              (("offline_copies", offline_copies), ("offline_restricted", offline_restricted)) if value is not None}
    audit.lock_head()  # lock order: audit head, then the session row (see ecabinet.audit.lock_head)
    current = Meeting.objects.select_for_update().get(pk=meeting.pk)
    changes = {name: {"from": getattr(current, name), "to": value}
               for name, value in wanted.items() if getattr(current, name) != value}
    if changes:
        Meeting.objects.filter(pk=meeting.pk).update(**{name: change["to"] for name, change in changes.items()})
        audit.record(actor, "meeting.offline", meeting, meeting_id=meeting.pk, data=changes)
    meeting.refresh_from_db()
    return meeting


def meeting_view(*, actor, meeting_id: int, what: str = "agenda") -> permissions.MeetingAccess:
    """Open a session (screen or API): audited, like every view of session content. ``what`` names
    the view (agenda, prepare, participants, receipts, room, api…) in the audit entry. The access is
    worked out before the write transaction opens (a refusal writes nothing): the transaction holds
    only the append to the audit chain (``audit.record`` opens it), not the reads — on SQLite every
    page view would otherwise hold the database's one write lock while it reads (issue 19)."""
    access = permissions.meeting_access(actor, meeting_id)
    audit.record(actor, "meeting.viewed", access.meeting, meeting_id=access.meeting.pk, data={"what": what})
    return access


@transaction.atomic
def meetings_offline_listed(*, actor, meeting_ids: list[int]) -> None:
    """Audit the offline listing a tablet asked for (it names the sessions and their documents)."""
    audit.record(actor, "meetings.offline_listed", None, data={"meetings": meeting_ids})


@transaction.atomic
def meetings_list_viewed(*, actor) -> None:
    """Audit the list of one's sessions (it shows their titles)."""
    audit.record(actor, "meetings.listed", None)
