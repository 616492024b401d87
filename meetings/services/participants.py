"""Participants: invitations, substitutes (approved by the chair), removal, attendance — and the
guardian grants that give access, kept in step with them."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from ecabinet import audit, realtime
from ecabinet.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ecabinet.notify import notify

from .. import events, permissions
from ..models import DocumentUserObjectPermission, Meeting, Participant
from ..snapshot import participant_dict
from .guards import PREPARABLE, S, current_time, require_state, user_by_username


def _grant_access(*, actor, participant: Participant) -> None:
    for codename in permissions.ROLE_GRANTS[participant.role]:
        assign_perm(f"meetings.{codename}", participant.user, participant.meeting)
    audit.record(actor, "permission.granted", participant.meeting, meeting_id=participant.meeting_id,
                 data={"user": participant.user.username,
                       "permissions": list(permissions.ROLE_GRANTS[participant.role])})
    realtime.access_changed_on_commit(meeting_id=participant.meeting_id, user_id=participant.user_id)


def _revoke_access(*, actor, participant: Participant) -> None:
    """Withdraw every grant of the person on the session and its documents; their open sockets
    close within a second of the commit."""
    for codename in (permissions.VIEW, permissions.MANAGE, permissions.CHAIR):
        remove_perm(f"meetings.{codename}", participant.user, participant.meeting)
    revoked_documents = DocumentUserObjectPermission.objects.filter(
        user=participant.user, content_object__agenda_item__meeting=participant.meeting)
    documents = sorted(revoked_documents.values_list("content_object_id", flat=True))
    revoked_documents.delete()
    audit.record(actor, "permission.revoked", participant.meeting, meeting_id=participant.meeting_id,
                 data={"user": participant.user.username, "documents": documents})
    realtime.access_changed_on_commit(meeting_id=participant.meeting_id, user_id=participant.user_id)


def add_participant(*, actor, meeting: Meeting, user, role: str, substitute_for=None) -> Participant:
    limit = settings.MEETING_MAX_PARTICIPANTS
    if meeting.participants.count() >= limit:
        raise Conflict(_("A session has at most %(n)s participants.") % {"n": limit}, code="too_many_participants")
    try:
        with transaction.atomic():
            participant = Participant.objects.create(meeting=meeting, user=user, role=role,
                                                     substitute_for=substitute_for)
    except IntegrityError as exc:
        if Participant.objects.filter(meeting=meeting, user=user).exists():
            raise Conflict(_("%(name)s is already invited to this session.") % {"name": user},
                           code="already_participant") from exc
        raise Conflict(_("This session already has a chair."), code="chair_exists") from exc
    audit.record(actor, "participant.added", participant, meeting_id=meeting.pk,
                 data={"user": user.username, "role": role,
                       "substitute_for": substitute_for.username if substitute_for else None})
    if participant.is_approved:
        _grant_access(actor=actor, participant=participant)
    events.emit(meeting, "participant.added", {"participant": participant_dict(participant)})
    return participant


@transaction.atomic
def participant_add(*, actor, meeting: Meeting, username: str, role: str,
                    substitute_for: str | None = None) -> Participant:
    """Invite a person. A substitute names the member they stand in for and gets access only once
    the chair approves them."""
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    require_state(meeting, PREPARABLE)
    if role not in Participant.Role.values:
        raise ValidationFailed(_("Unknown role “%(role)s”.") % {"role": role}, code="invalid_role")
    user = user_by_username(username)
    replaced = None
    if role == Participant.Role.SUBSTITUTE:
        if not substitute_for:
            raise ValidationFailed(_("Say which member the substitute attends for."),
                                   code="substitute_for_required")
        replaced = user_by_username(substitute_for)
        if not meeting.participants.filter(user=replaced, role__in=permissions.STOOD_IN_FOR).exists():
            raise ValidationFailed(_("%(name)s is not a member of this session.") % {"name": replaced},
                                   code="substitute_for_not_member")
        if meeting.participants.filter(substitute_for=replaced).exists():
            raise Conflict(_("%(name)s already has a substitute.") % {"name": replaced},
                           code="substitute_exists")
    elif substitute_for:
        raise ValidationFailed(_("Only a substitute stands in for a member."), code="substitute_for_unexpected")
    participant = add_participant(actor=actor, meeting=meeting, user=user, role=role, substitute_for=replaced)
    if meeting.status != S.DRAFT and participant.is_approved:
        notify_invitation(meeting, [user])
    return participant


@transaction.atomic
def participant_remove(*, actor, meeting: Meeting, username: str) -> None:
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    require_state(meeting, PREPARABLE)
    participant = meeting.participants.select_related("user").filter(user__username=username).first()
    if participant is None:
        raise NotFound(_("This person is not invited to the session."))
    if participant.user_id == actor.pk and participant.role == Participant.Role.SECRETARY and \
            meeting.participants.filter(role=Participant.Role.SECRETARY).count() == 1:
        raise Conflict(_("A session must keep at least one secretary."), code="last_secretary")
    if meeting.participants.filter(substitute_for=participant.user).exists():
        raise Conflict(_("Remove this member's substitute first."), code="has_substitute")
    if participant.role == Participant.Role.CHAIR and meeting.status != S.DRAFT:
        raise Conflict(_("A published session must keep its chair."), code="chair_required")
    _revoke_access(actor=actor, participant=participant)
    audit.record(actor, "participant.removed", participant, meeting_id=meeting.pk,
                 data={"user": username, "role": participant.role})
    participant.delete()
    events.emit(meeting, "participant.removed", {"username": username})


@transaction.atomic
def substitute_approve(*, actor, meeting: Meeting, username: str) -> Participant:
    """The chair approves a substitute, who then gets access to the session."""
    access = permissions.meeting_access(actor, meeting.pk)
    if not access.can_chair:
        raise Forbidden(_("Only the chair approves substitutes."))
    require_state(meeting, PREPARABLE)
    participant = meeting.participants.select_related("user").filter(
        user__username=username, role=Participant.Role.SUBSTITUTE).first()
    if participant is None:
        raise NotFound(_("There is no substitute with this account in the session."))
    updated = Participant.objects.filter(pk=participant.pk, substitute_approved_at__isnull=True).update(
        substitute_approved_by=actor, substitute_approved_at=current_time())
    if not updated:
        raise Conflict(_("This substitute is already approved."), code="already_approved")
    participant.refresh_from_db()
    audit.record(actor, "participant.substitute_approved", participant, meeting_id=meeting.pk,
                 data={"user": username, "for": participant.substitute_for.username})
    _grant_access(actor=actor, participant=participant)
    events.emit(meeting, "participant.changed", {"participant": participant_dict(participant)})
    if meeting.status != S.DRAFT:
        notify_invitation(meeting, [participant.user])
    return participant


ATTENDANCE_BY_STAFF = {Participant.Attendance.PRESENT, Participant.Attendance.REMOTE,
                       Participant.Attendance.ABSENT, Participant.Attendance.CONFIRMED,
                       Participant.Attendance.INVITED}
ATTENDANCE_BY_SELF = {Participant.Attendance.CONFIRMED, Participant.Attendance.ABSENT}


@transaction.atomic
def attendance_set(*, actor, meeting: Meeting, username: str, status: str, reason: str = "") -> Participant:
    """Record attendance. The secretariat and the chair record anyone's; a participant may confirm
    or send apologies for themselves before the session starts. Absence needs a reason."""
    access = permissions.meeting_access(actor, meeting.pk)
    if status not in Participant.Attendance.values:
        raise ValidationFailed(_("Unknown attendance status “%(status)s”.") % {"status": status},
                               code="invalid_attendance")
    # "Own" needs a participant row: the archivist reading a closed session has no attendance of
    # their own, and must be told "forbidden", not that the session is in the wrong state.
    own = username == actor.username and access.participant is not None
    if access.can_run:
        require_state(meeting, (S.PUBLISHED, S.IN_PROGRESS))
    elif own and status in ATTENDANCE_BY_SELF:
        require_state(meeting, (S.PUBLISHED,))
    else:
        raise Forbidden(_("Only the secretariat or the chair records attendance."))
    reason = reason.strip()
    if status == Participant.Attendance.ABSENT and not reason:
        raise ValidationFailed(_("Give the reason for the absence."), code="reason_required")
    participant = (meeting.participants.select_related("user__ministry", "substitute_for")
                   .filter(user__username=username).first())
    if participant is None:
        raise NotFound(_("This person is not invited to the session."))
    previous = participant.attendance
    participant.attendance = status
    participant.absence_reason = reason if status == Participant.Attendance.ABSENT else ""
    participant.save(update_fields=["attendance", "absence_reason"])
    audit.record(actor, "attendance.changed", participant, meeting_id=meeting.pk,
                 data={"user": username, "from": previous, "to": status, "reason": participant.absence_reason})
    events.emit(meeting, "attendance.changed", {"participant": participant_dict(participant)})
    return participant


def notify_invitation(meeting: Meeting, users: list) -> None:
    if not users:
        return
    # Notices are written in the installation's language, not the language of the secretary's
    # browser: they are read later, by someone else.
    with translation.override(settings.LANGUAGE_CODE):
        local_start = timezone.localtime(meeting.starts_at)
        title = _("Invitation: %(title)s") % {"title": meeting.title}
        body = _("You are invited to “%(title)s” on %(date)s at %(time)s, %(location)s. "
                 "The agenda and documents are available in e-Cabinet.") % {
            "title": meeting.title, "date": local_start.strftime("%d/%m/%Y"),
            "time": local_start.strftime("%H:%M"), "location": meeting.location or "—"}
    notify(users, kind="meeting.invitation", title=title, body=body,
           url=reverse("meeting_detail", args=[meeting.pk]))
