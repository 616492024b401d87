"""Documents: uploads (checked by ``pdfcheck``), versions that never replace their files,
recipients of restricted documents, and audited viewing and numbered copies."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from ecabinet import audit
from ecabinet.errors import Conflict, NotFound, UploadRejected, ValidationFailed

from .. import events, pdfcheck, permissions
from ..models import AgendaItem, Document, DocumentCopy, DocumentVersion, Meeting, ReadReceipt, version_path
from ..pdfcheck import InspectedUpload
from ..snapshot import document_dict, item_comment_window
from .annotation_carry import annotations_carry_forward
from .guards import PREPARABLE, User, current_time, lock_meeting, require_state, version_of


def inspect_upload(upload) -> InspectedUpload:
    """Check an upload (``pdfcheck``: in a child process with hard limits) and refuse a stamped
    state secret. Slow: call it before any transaction opens, never inside one."""
    inspected = pdfcheck.inspect_upload(upload)
    if inspected.facts.secret_mark and not settings.ALLOW_STATE_SECRETS:
        raise _state_secret_error(inspected.facts.secret_mark)
    return inspected


def store_upload(storage, name: str, inspected: InspectedUpload) -> None:
    """Copy the inspected upload (streamed, never read whole) to ``name``, content-addressed."""
    if storage.exists(name):
        return
    upload = inspected.upload
    upload.seek(0)
    storage.save(name, File(upload, name=name))


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


def _store_version(*, actor, document: Document, inspected: InspectedUpload, filename: str,
                   note: str) -> DocumentVersion:
    facts = inspected.facts
    number = (document.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    version = DocumentVersion(document=document, number=number, sha256=facts.sha256, size=facts.size,
                              pages=facts.pages, text=facts.text, note=note.strip()[:500],
                              original_filename=filename[:255], uploaded_by=actor)
    name = version_path(facts.sha256)
    store_upload(version.file.storage, name, inspected)
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


def _publish(document: Document, audience: list[str], *, comments_for=None) -> None:
    """Tell the document's readers it is there (new, a new version, or newly theirs). Someone who
    has just been given it (``comments_for``, a user) also receives the item's comment window as they
    now see it (``snapshot.item_comment_window``: the shared comments on the document and their own
    may enter it), in place of their old one."""
    data = {"item": document.agenda_item_id, "document": document_dict(document)}
    if comments_for is not None:
        with contextlib.suppress(NotFound):  # not in the room yet (a draft): their snapshot will have it
            access = permissions.meeting_access(comments_for, document.agenda_item.meeting_id)
            data.update(item_comment_window(access, document.agenda_item_id))
    events.emit(document.agenda_item.meeting_id, "document.published", data, audience)


def _set_recipients(*, actor, document: Document, users: list) -> None:
    """Grant and revoke ``view_document``; those who gain or lose the document hear of it (each with
    the item's comment window as they now see it: paged comments cannot be refilled by the tablet)."""
    current = set(permissions.document_recipient_ids(document))
    wanted = {u.pk for u in users}
    for user in users:
        if user.pk not in current:
            assign_perm("meetings.view_document", user, document)
    lost_users = list(User.objects.filter(pk__in=current - wanted).order_by("pk"))
    for user in lost_users:
        remove_perm("meetings.view_document", user, document)
    if current == wanted:
        return
    audit.record(actor, "permission.document_recipients", document,
                 meeting_id=document.agenda_item.meeting_id,
                 data={"recipients": sorted(u.username for u in users)})
    for user in sorted((u for u in users if u.pk not in current), key=lambda u: u.pk):
        _publish(document, [permissions.person(user.pk)], comments_for=user)
    meeting_id = document.agenda_item.meeting_id
    withdrawn = []
    for user in lost_users:
        data = {"document": document.pk, "item": document.agenda_item_id}
        with contextlib.suppress(NotFound):  # no longer in the session at all: the socket is closed anyway
            data.update(item_comment_window(permissions.meeting_access(user, meeting_id), document.agenda_item_id))
        withdrawn.append(("document.withdrawn", data, [permissions.person(user.pk)]))
    events.emit_many(meeting_id, withdrawn)


def _recipient_users(meeting: Meeting, usernames: Iterable[str]) -> list:
    usernames = sorted({u.strip() for u in usernames if u and u.strip()})
    users = list(User.objects.filter(username__in=usernames, participations__meeting=meeting))
    missing = set(usernames) - {u.username for u in users}
    if missing:
        raise ValidationFailed(
            _("Recipients must be participants of the session: %(names)s.") % {"names": ", ".join(sorted(missing))},
            code="recipient_not_participant")
    return users


def _upload_checks(*, actor, item: AgendaItem, title: str, classification: str, recipients: list) -> list:
    """What ``document_upload`` requires before it looks at the file; returns the recipients."""
    meeting = item.meeting
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    require_state(meeting, PREPARABLE)
    _check_classification(classification)
    if classification == Document.Classification.RESTRICTED and not recipients:
        raise ValidationFailed(_("Name the recipients of a restricted document."), code="recipients_required")
    if classification != Document.Classification.RESTRICTED and recipients:
        raise ValidationFailed(_("Recipients are named only for restricted documents."),
                               code="recipients_only_for_restricted")
    users = _recipient_users(meeting, recipients)
    if not title.strip():
        raise ValidationFailed(_("The document needs a title."), code="title_required")
    limit = settings.AGENDA_ITEM_MAX_DOCUMENTS
    if item.documents.count() >= limit:  # before the upload is read
        raise Conflict(_("An agenda item has at most %(n)s documents.") % {"n": limit}, code="too_many_documents")
    return users


def document_upload_prepare(*, actor, item: AgendaItem, title: str, classification: str, upload,
                            recipients: Iterable[str] = ()) -> InspectedUpload:
    """The slow half of ``document_upload``, outside any transaction: the cheap checks (so nobody
    may have a file parsed who could not upload it), then the inspection."""
    _upload_checks(actor=actor, item=item, title=title, classification=classification, recipients=list(recipients))
    return inspect_upload(upload)


def document_upload(*, actor, item: AgendaItem, title: str, classification: str, upload,
                    recipients: Iterable[str] = (), inspected: InspectedUpload | None = None) -> Document:
    """Add a document (version 1) to an agenda item. ``restricted`` documents need recipients.

    The file is inspected first (``document_upload_prepare``), then one transaction records it:
    never call this inside a transaction unless ``inspected`` is given (the API's ``prepare``
    step passes it)."""
    recipients = list(recipients)
    if inspected is None:
        inspected = document_upload_prepare(actor=actor, item=item, title=title, classification=classification,
                                            upload=upload, recipients=recipients)
    return _document_record(actor=actor, item=item, title=title, classification=classification,
                            inspected=inspected, recipients=recipients)


@transaction.atomic
def _document_record(*, actor, item: AgendaItem, title: str, classification: str, inspected: InspectedUpload,
                     recipients: list) -> Document:
    meeting = item.meeting
    users = _upload_checks(actor=actor, item=item, title=title, classification=classification,
                           recipients=recipients)
    upload = inspected.upload
    document = Document.objects.create(agenda_item=item, title=title.strip(), classification=classification,
                                       created_by=actor)
    version = _store_version(actor=actor, document=document, inspected=inspected,
                             filename=getattr(upload, "name", "") or "", note="")
    audit.record(actor, "document.uploaded", document, meeting_id=meeting.pk,
                 data={"title": document.title, "classification": classification, "version": version.number,
                       "sha256": version.sha256, "pages": version.pages, "size": version.size})
    for user in users:
        assign_perm("meetings.view_document", user, document)
    if users:
        audit.record(actor, "permission.document_recipients", document, meeting_id=meeting.pk,
                     data={"recipients": sorted(u.username for u in users)})
    _publish(document, permissions.document_audience(document, [u.pk for u in users]))
    return document


def _version_checks(*, actor, document: Document) -> Meeting:
    meeting = document.agenda_item.meeting
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    require_state(meeting, PREPARABLE)
    return meeting


def document_add_version_prepare(*, actor, document: Document, upload) -> InspectedUpload:
    """The slow half of ``document_add_version``, outside any transaction."""
    _version_checks(actor=actor, document=document)
    return inspect_upload(upload)


def document_add_version(*, actor, document: Document, upload, note: str = "",
                         inspected: InspectedUpload | None = None) -> DocumentVersion:
    """Upload a new version. Old versions stay, with their files. Inspected first, outside the
    transaction (see ``document_upload``)."""
    if inspected is None:
        inspected = document_add_version_prepare(actor=actor, document=document, upload=upload)
    return _version_record(actor=actor, document=document, inspected=inspected, note=note)


@transaction.atomic
def _version_record(*, actor, document: Document, inspected: InspectedUpload, note: str) -> DocumentVersion:
    meeting = _version_checks(actor=actor, document=document)
    facts = inspected.facts
    lock_meeting(meeting.pk)  # two secretaries uploading at once: the second waits, then numbers v+1
    document.refresh_from_db()
    if document.current_version and document.current_version.sha256 == facts.sha256:
        raise Conflict(_("This file is identical to the current version."), code="same_as_current")
    previous = document.current_version
    version = _store_version(actor=actor, document=document, inspected=inspected,
                             filename=getattr(inspected.upload, "name", "") or "", note=note)
    if previous is not None:  # the readers' annotations follow the text (bounded: see the function)
        annotations_carry_forward(actor=actor, previous=previous, version=version)
    audit.record(actor, "document.version_added", document, meeting_id=meeting.pk,
                 data={"version": version.number, "sha256": version.sha256, "pages": version.pages,
                       "note": version.note})
    _publish(document, permissions.document_audience(document, permissions.document_recipient_ids(document)))
    return version


@transaction.atomic
def document_set_recipients(*, actor, document: Document, recipients: Iterable[str]) -> None:
    meeting = document.agenda_item.meeting
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    require_state(meeting, PREPARABLE)
    if document.classification != Document.Classification.RESTRICTED:
        raise ValidationFailed(_("Recipients are named only for restricted documents."),
                               code="recipients_only_for_restricted")
    users = _recipient_users(meeting, recipients)
    if not users:
        raise ValidationFailed(_("Name the recipients of a restricted document."), code="recipients_required")
    _set_recipients(actor=actor, document=document, users=users)


@transaction.atomic
def document_view(*, actor, document_id: int) -> tuple[permissions.MeetingAccess, Document]:
    """Open a document's page (not its file): audited."""
    access, document = permissions.document_access(actor, document_id)
    audit.record(actor, "document.viewed", document, meeting_id=access.meeting.pk)
    return access, document


@transaction.atomic
def document_issue_copy(*, actor, document_id: int, version_number: int | None = None,
                        read: bool = True) -> DocumentCopy:
    """Hand the caller a numbered copy of a version (the current one by default): records the read
    receipt (unless ``read`` is false: a copy stored on a tablet for later is not read yet), the copy
    in the register, and the audit entry. The caller watermarks the file."""
    access, document = permissions.document_access(actor, document_id)
    version = version_of(document, version_number)
    now = current_time()
    if read:
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
