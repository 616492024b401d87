"""Every change to sessions, participants, agendas and documents happens here.

Each service takes keyword-only arguments, runs in one transaction, checks the caller's permission
and the current state, makes the change, and writes the audit entry in the same transaction.
Views, the API, the admin and management commands call these functions; none writes models.

State changes use conditional updates (``UPDATE … WHERE status = <expected>``) rather than row locks
alone, because SQLite ignores ``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from guardian.shortcuts import assign_perm, remove_perm

from ecabinet import audit
from ecabinet.errors import Conflict, Forbidden, InvalidState, NotFound, UploadRejected, ValidationFailed
from ecabinet.models import Ministry
from ecabinet.notify import notify

from . import permissions
from .models import (
    AgendaItem,
    Document,
    DocumentCopy,
    DocumentVersion,
    Meeting,
    Participant,
    ReadReceipt,
    version_path,
)
from .pdfcheck import inspect_pdf

User = get_user_model()
S = Meeting.Status

# States in which the secretariat may still prepare the session (agenda, documents, invitations).
PREPARABLE = (S.DRAFT, S.PUBLISHED, S.IN_PROGRESS)


def _now() -> datetime:
    return timezone.now()


def _require_state(meeting: Meeting, allowed: Iterable[str]) -> None:
    if meeting.status not in allowed:
        raise InvalidState(
            _("This cannot be done while the session is “%(status)s”.") % {"status": meeting.get_status_display()},
        )


def _user_by_username(username: str):
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationFailed(_("There is no active account “%(username)s”.") % {"username": username},
                               code="unknown_user")
    return user


# --- sessions -------------------------------------------------------------------------------------

def meeting_create(*, actor, title: str, kind: str, starts_at: datetime, location: str = "") -> Meeting:
    """Create a draft session. The creator becomes its first secretary."""
    if not permissions.can_create_meeting(actor):
        raise Forbidden(_("Only the secretariat can create sessions."))
    if kind not in Meeting.Kind.values:
        raise ValidationFailed(_("Unknown kind of session."), code="invalid_kind")
    if not title.strip():
        raise ValidationFailed(_("The session needs a title."), code="title_required")
    with transaction.atomic():
        meeting = Meeting.objects.create(title=title.strip(), kind=kind, starts_at=starts_at,
                                         location=location.strip(), created_by=actor)
        audit.record(actor, "meeting.created", meeting, meeting_id=meeting.pk,
                     data={"title": meeting.title, "kind": kind, "starts_at": starts_at.isoformat()})
        _add_participant(actor=actor, meeting=meeting, user=actor, role=Participant.Role.SECRETARY)
    return meeting


def _transition(*, actor, meeting: Meeting, source: tuple[str, ...], target: str, stamp: str) -> Meeting:
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_run)
    now = _now()
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
    return meeting


@transaction.atomic
def meeting_publish(*, actor, meeting: Meeting) -> Meeting:
    """draft → published, by the secretariat or the chair (DESIGN.md §5.2, like every transition).
    Needs an agenda and a chair; every invitee is notified."""
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_run)
    _require_state(meeting, (S.DRAFT,))
    if not meeting.agenda_items.exists():
        raise InvalidState(_("Add at least one agenda item before publishing."), code="agenda_empty")
    if not meeting.participants.filter(role=Participant.Role.CHAIR).exists():
        raise InvalidState(_("Invite the chair before publishing."), code="no_chair")
    meeting = _transition(actor=actor, meeting=meeting, source=(S.DRAFT,), target=S.PUBLISHED,
                          stamp="published_at")
    invitees = [p.user for p in meeting.participants.select_related("user").exclude(user=actor)
                if p.is_approved]
    _notify_invitation(meeting, invitees)
    return meeting


def _notify_invitation(meeting: Meeting, users: list) -> None:
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


@transaction.atomic
def meeting_start(*, actor, meeting: Meeting) -> Meeting:
    return _transition(actor=actor, meeting=meeting, source=(S.PUBLISHED,), target=S.IN_PROGRESS,
                       stamp="started_at")


@transaction.atomic
def meeting_adjourn(*, actor, meeting: Meeting) -> Meeting:
    return _transition(actor=actor, meeting=meeting, source=(S.IN_PROGRESS,), target=S.ADJOURNED,
                       stamp="adjourned_at")


@transaction.atomic
def meeting_close(*, actor, meeting: Meeting) -> Meeting:
    return _transition(actor=actor, meeting=meeting, source=(S.ADJOURNED,), target=S.CLOSED,
                       stamp="closed_at")


# --- participants ---------------------------------------------------------------------------------

def _grant_access(*, actor, participant: Participant) -> None:
    for codename in permissions.ROLE_GRANTS[participant.role]:
        assign_perm(f"meetings.{codename}", participant.user, participant.meeting)
    audit.record(actor, "permission.granted", participant.meeting, meeting_id=participant.meeting_id,
                 data={"user": participant.user.username,
                       "permissions": list(permissions.ROLE_GRANTS[participant.role])})


def _revoke_access(*, actor, participant: Participant) -> None:
    for codename in (permissions.VIEW, permissions.MANAGE, permissions.CHAIR):
        remove_perm(f"meetings.{codename}", participant.user, participant.meeting)
    audit.record(actor, "permission.revoked", participant.meeting, meeting_id=participant.meeting_id,
                 data={"user": participant.user.username})


def _add_participant(*, actor, meeting: Meeting, user, role: str, substitute_for=None) -> Participant:
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
    return participant


@transaction.atomic
def participant_add(*, actor, meeting: Meeting, username: str, role: str,
                    substitute_for: str | None = None) -> Participant:
    """Invite a person. A substitute names the member they stand in for and gets access only once
    the chair approves them."""
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    _require_state(meeting, PREPARABLE)
    if role not in Participant.Role.values:
        raise ValidationFailed(_("Unknown role “%(role)s”.") % {"role": role}, code="invalid_role")
    user = _user_by_username(username)
    replaced = None
    if role == Participant.Role.SUBSTITUTE:
        if not substitute_for:
            raise ValidationFailed(_("Say which member the substitute attends for."),
                                   code="substitute_for_required")
        replaced = _user_by_username(substitute_for)
        if not meeting.participants.filter(user=replaced, role__in=[Participant.Role.MEMBER,
                                                                    Participant.Role.CHAIR]).exists():
            raise ValidationFailed(_("%(name)s is not a member of this session.") % {"name": replaced},
                                   code="substitute_for_not_member")
        if meeting.participants.filter(substitute_for=replaced).exists():
            raise Conflict(_("%(name)s already has a substitute.") % {"name": replaced},
                           code="substitute_exists")
    elif substitute_for:
        raise ValidationFailed(_("Only a substitute stands in for a member."), code="substitute_for_unexpected")
    participant = _add_participant(actor=actor, meeting=meeting, user=user, role=role, substitute_for=replaced)
    if meeting.status != S.DRAFT and participant.is_approved:
        _notify_invitation(meeting, [user])
    return participant


@transaction.atomic
def participant_remove(*, actor, meeting: Meeting, username: str) -> None:
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    _require_state(meeting, PREPARABLE)
    participant = meeting.participants.select_related("user").filter(user__username=username).first()
    if participant is None:
        raise NotFound(_("This person is not invited to the session."))
    if participant.user_id == actor.pk and participant.role == Participant.Role.SECRETARY and \
            meeting.participants.filter(role=Participant.Role.SECRETARY).count() == 1:
        raise Conflict(_("A session must keep at least one secretary."), code="last_secretary")
    if meeting.participants.filter(substitute_for=participant.user).exists():
        raise Conflict(_("Remove this member's substitute first."), code="has_substitute")
    _revoke_access(actor=actor, participant=participant)
    audit.record(actor, "participant.removed", participant, meeting_id=meeting.pk,
                 data={"user": username, "role": participant.role})
    participant.delete()


@transaction.atomic
def substitute_approve(*, actor, meeting: Meeting, username: str) -> Participant:
    """The chair approves a substitute, who then gets access to the session."""
    access = permissions.meeting_access(actor, meeting.pk)
    if not access.can_chair:
        raise Forbidden(_("Only the chair approves substitutes."))
    _require_state(meeting, PREPARABLE)
    participant = meeting.participants.select_related("user").filter(
        user__username=username, role=Participant.Role.SUBSTITUTE).first()
    if participant is None:
        raise NotFound(_("There is no substitute with this account in the session."))
    updated = Participant.objects.filter(pk=participant.pk, substitute_approved_at__isnull=True).update(
        substitute_approved_by=actor, substitute_approved_at=_now())
    if not updated:
        raise Conflict(_("This substitute is already approved."), code="already_approved")
    participant.refresh_from_db()
    audit.record(actor, "participant.substitute_approved", participant, meeting_id=meeting.pk,
                 data={"user": username, "for": participant.substitute_for.username})
    _grant_access(actor=actor, participant=participant)
    if meeting.status != S.DRAFT:
        _notify_invitation(meeting, [participant.user])
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
        _require_state(meeting, (S.PUBLISHED, S.IN_PROGRESS))
    elif own and status in ATTENDANCE_BY_SELF:
        _require_state(meeting, (S.PUBLISHED,))
    else:
        raise Forbidden(_("Only the secretariat or the chair records attendance."))
    reason = reason.strip()
    if status == Participant.Attendance.ABSENT and not reason:
        raise ValidationFailed(_("Give the reason for the absence."), code="reason_required")
    participant = meeting.participants.filter(user__username=username).first()
    if participant is None:
        raise NotFound(_("This person is not invited to the session."))
    previous = participant.attendance
    participant.attendance = status
    participant.absence_reason = reason if status == Participant.Attendance.ABSENT else ""
    participant.save(update_fields=["attendance", "absence_reason"])
    audit.record(actor, "attendance.changed", participant, meeting_id=meeting.pk,
                 data={"user": username, "from": previous, "to": status, "reason": participant.absence_reason})
    return participant


# --- agenda ---------------------------------------------------------------------------------------

def _lock_agenda(meeting: Meeting) -> None:
    """Serialise changes to one session's agenda. Two adds that read the same last position would
    otherwise collide on the unique (meeting, position) and fail with a server error: on PostgreSQL
    the second now waits for this row lock; on SQLite IMMEDIATE transactions serialise writers anyway
    (it ignores FOR UPDATE)."""
    Meeting.objects.select_for_update().only("pk").get(pk=meeting.pk)


@transaction.atomic
def agenda_item_add(*, actor, meeting: Meeting, title: str, description: str = "",
                    presenter_ministry: Ministry | None = None, planned_minutes: int | None = None) -> AgendaItem:
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    _require_state(meeting, PREPARABLE)
    if not title.strip():
        raise ValidationFailed(_("The agenda item needs a title."), code="title_required")
    if planned_minutes is not None and not 0 < planned_minutes <= 600:
        raise ValidationFailed(_("Planned time must be between 1 and 600 minutes."), code="invalid_minutes")
    _lock_agenda(meeting)
    last = meeting.agenda_items.aggregate(m=Max("position"))["m"] or 0
    item = AgendaItem.objects.create(meeting=meeting, position=last + 1, title=title.strip(),
                                     description=description.strip(), presenter_ministry=presenter_ministry,
                                     planned_minutes=planned_minutes)
    audit.record(actor, "agenda_item.added", item, meeting_id=meeting.pk,
                 data={"title": item.title, "position": item.position})
    return item


@transaction.atomic
def agenda_item_move(*, actor, item: AgendaItem, position: int) -> AgendaItem:
    """Move an item to ``position`` (1-based), shifting the others; positions stay 1..n."""
    meeting = item.meeting
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    _require_state(meeting, PREPARABLE)
    _lock_agenda(meeting)
    items = list(meeting.agenda_items.order_by("position"))
    if not 1 <= position <= len(items):
        raise ValidationFailed(_("Position must be between 1 and %(n)s.") % {"n": len(items)},
                               code="invalid_position")
    old = item.position
    ordered = [i for i in items if i.pk != item.pk]
    ordered.insert(position - 1, next(i for i in items if i.pk == item.pk))
    # Two passes keep the (meeting, position) unique constraint true at every statement.
    AgendaItem.objects.filter(meeting=meeting).update(position=F("position") + 100000)
    for index, agenda_item in enumerate(ordered, start=1):
        AgendaItem.objects.filter(pk=agenda_item.pk).update(position=index)
    item.refresh_from_db()
    audit.record(actor, "agenda_item.moved", item, meeting_id=meeting.pk, data={"from": old, "to": position})
    return item


# --- documents ------------------------------------------------------------------------------------

def _read_upload(upload) -> bytes:
    limit = settings.DOCUMENT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise UploadRejected(
            gettext_lazy("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": round(upload.size / 1048576, 1), "limit": limit // 1048576},
            code="file_too_large", status=413)
    upload.seek(0)
    return upload.read(limit + 1)


def _check_upload(data: bytes):
    facts = inspect_pdf(data, max_bytes=settings.DOCUMENT_MAX_BYTES, max_pages=settings.DOCUMENT_MAX_PAGES)
    if facts.secret_mark and not settings.ALLOW_STATE_SECRETS:
        raise _state_secret_error(facts.secret_mark)
    return facts


def _state_secret_error(mark: str) -> UploadRejected:
    return UploadRejected(
        _("This document is marked “%(mark)s” (state secret). Under the Law on Protection of State Secrets "
          "(No. 29/2018/QH14, Article 5), state secrets must not be stored or sent on networked computers: "
          "hand it over on paper through the confidential registry.") % {"mark": mark},
        code="state_secret", status=422)


STATE_SECRET_CLASSES = {"mat": "MẬT", "toi_mat": "TỐI MẬT", "tuyet_mat": "TUYỆT MẬT",
                        "secret": "MẬT", "top_secret": "TỐI MẬT", "state_secret": "TUYỆT MẬT"}


def _check_classification(classification: str) -> None:
    if classification in STATE_SECRET_CLASSES and not settings.ALLOW_STATE_SECRETS:
        raise _state_secret_error(STATE_SECRET_CLASSES[classification])
    if classification not in Document.Classification.values:
        raise ValidationFailed(
            _("Classification must be public, internal or restricted."), code="invalid_classification")


def _store_version(*, actor, document: Document, data: bytes, facts, filename: str, note: str) -> DocumentVersion:
    number = (document.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    version = DocumentVersion(document=document, number=number, sha256=facts.sha256, size=facts.size,
                              pages=facts.pages, text=facts.text, note=note.strip()[:500],
                              original_filename=filename[:255], uploaded_by=actor)
    name = version_path(facts.sha256)
    storage = version.file.storage
    if not storage.exists(name):
        storage.save(name, ContentFile(data))
    version.file.name = name
    try:
        with transaction.atomic():
            version.save()
    except IntegrityError as exc:
        raise Conflict(_("Another version was uploaded at the same moment; reload and try again."),
                       code="version_conflict") from exc
    Document.objects.filter(pk=document.pk).update(current_version=version)
    document.current_version = version
    return version


def _set_recipients(*, actor, document: Document, users: list) -> None:
    current = set(permissions.document_recipient_ids(document))
    wanted = {u.pk for u in users}
    for user in users:
        if user.pk not in current:
            assign_perm("meetings.view_document", user, document)
    for user in User.objects.filter(pk__in=current - wanted):
        remove_perm("meetings.view_document", user, document)
    if current != wanted:
        audit.record(actor, "permission.document_recipients", document,
                     meeting_id=document.agenda_item.meeting_id,
                     data={"recipients": sorted(u.username for u in users)})


def _recipient_users(meeting: Meeting, usernames: Iterable[str]) -> list:
    usernames = sorted({u.strip() for u in usernames if u and u.strip()})
    users = list(User.objects.filter(username__in=usernames, participations__meeting=meeting))
    missing = set(usernames) - {u.username for u in users}
    if missing:
        raise ValidationFailed(
            _("Recipients must be participants of the session: %(names)s.") % {"names": ", ".join(sorted(missing))},
            code="recipient_not_participant")
    return users


@transaction.atomic
def document_upload(*, actor, item: AgendaItem, title: str, classification: str, upload,
                    recipients: Iterable[str] = ()) -> Document:
    """Add a document (version 1) to an agenda item. ``restricted`` documents need recipients."""
    meeting = item.meeting
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    _require_state(meeting, PREPARABLE)
    _check_classification(classification)
    recipients = list(recipients)
    if classification == Document.Classification.RESTRICTED and not recipients:
        raise ValidationFailed(_("Name the recipients of a restricted document."), code="recipients_required")
    if classification != Document.Classification.RESTRICTED and recipients:
        raise ValidationFailed(_("Recipients are named only for restricted documents."),
                               code="recipients_only_for_restricted")
    users = _recipient_users(meeting, recipients)
    if not title.strip():
        raise ValidationFailed(_("The document needs a title."), code="title_required")
    data = _read_upload(upload)
    facts = _check_upload(data)
    document = Document.objects.create(agenda_item=item, title=title.strip(), classification=classification,
                                       created_by=actor)
    version = _store_version(actor=actor, document=document, data=data, facts=facts,
                             filename=getattr(upload, "name", "") or "", note="")
    audit.record(actor, "document.uploaded", document, meeting_id=meeting.pk,
                 data={"title": document.title, "classification": classification, "version": version.number,
                       "sha256": version.sha256, "pages": version.pages, "size": version.size})
    if users:
        _set_recipients(actor=actor, document=document, users=users)
    return document


@transaction.atomic
def document_add_version(*, actor, document: Document, upload, note: str = "") -> DocumentVersion:
    """Upload a new version. Old versions stay, with their files."""
    meeting = document.agenda_item.meeting
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    _require_state(meeting, PREPARABLE)
    data = _read_upload(upload)
    facts = _check_upload(data)
    if document.current_version and document.current_version.sha256 == facts.sha256:
        raise Conflict(_("This file is identical to the current version."), code="same_as_current")
    version = _store_version(actor=actor, document=document, data=data, facts=facts,
                             filename=getattr(upload, "name", "") or "", note=note)
    audit.record(actor, "document.version_added", document, meeting_id=meeting.pk,
                 data={"version": version.number, "sha256": version.sha256, "pages": version.pages,
                       "note": version.note})
    return version


@transaction.atomic
def document_set_recipients(*, actor, document: Document, recipients: Iterable[str]) -> None:
    meeting = document.agenda_item.meeting
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    _require_state(meeting, PREPARABLE)
    if document.classification != Document.Classification.RESTRICTED:
        raise ValidationFailed(_("Recipients are named only for restricted documents."),
                               code="recipients_only_for_restricted")
    users = _recipient_users(meeting, recipients)
    if not users:
        raise ValidationFailed(_("Name the recipients of a restricted document."), code="recipients_required")
    _set_recipients(actor=actor, document=document, users=users)


@transaction.atomic
def meeting_view(*, actor, meeting_id: int) -> permissions.MeetingAccess:
    """Open a session (screen or API): audited, like every view of session content."""
    access = permissions.meeting_access(actor, meeting_id)
    audit.record(actor, "meeting.viewed", access.meeting, meeting_id=access.meeting.pk)
    return access


@transaction.atomic
def document_view(*, actor, document_id: int) -> tuple[permissions.MeetingAccess, Document]:
    """Open a document's page (not its file): audited."""
    access, document = permissions.document_access(actor, document_id)
    audit.record(actor, "document.viewed", document, meeting_id=access.meeting.pk)
    return access, document


@transaction.atomic
def document_issue_copy(*, actor, document_id: int, version_number: int | None = None) -> DocumentCopy:
    """Hand the caller a numbered copy of a version (the current one by default): records the read
    receipt, the copy in the register, and the audit entry. The caller watermarks the file."""
    access, document = permissions.document_access(actor, document_id)
    if version_number is None:
        version = document.current_version
    else:
        version = document.versions.filter(number=version_number).first()
    if version is None:
        raise NotFound()
    now = _now()
    receipt, created = ReadReceipt.objects.get_or_create(
        version=version, user=actor, defaults={"first_opened_at": now, "last_opened_at": now})
    if not created:
        ReadReceipt.objects.filter(pk=receipt.pk).update(last_opened_at=now, open_count=F("open_count") + 1)
    for _attempt in range(5):
        number = (version.copies.aggregate(m=Max("number"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                copy = DocumentCopy.objects.create(version=version, number=number, user=actor, issued_at=now)
            break
        except IntegrityError:
            continue
    else:
        raise Conflict(_("Too many copies requested at once; try again."), code="busy")
    audit.record(actor, "document.downloaded", document, meeting_id=access.meeting.pk,
                 data={"version": version.number, "copy": copy.number, "sha256": version.sha256})
    return copy
