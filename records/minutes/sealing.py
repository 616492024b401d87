"""Minutes, session resolution and corrections: finalising, signing and sealing (issue 5).

``finalize`` renders the draft to PDF/A-3b and freezes it; the session's secretary signs, then the
chair, which seals. The resolution is rendered and signed by the chair in one step. A correction of
sealed minutes is a new document, rendered from its own text and signed like the minutes; the
original never changes. The draft itself is ``records.minutes.drafting``.

Slow work — rendering, and signing (a PKCS#11 token, a timestamp authority) — happens outside any
transaction. The short transaction that stores the result re-checks that nothing changed meanwhile
(status, revision, the bytes signed), so two racing signers or a secretary editing during a
finalisation get a clear ``Conflict`` and nothing is stored twice.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ecabinet import audit, lockout, mfa, notify
from ecabinet.errors import Conflict, Forbidden, InvalidState, ValidationFailed
from ecabinet.models import AuditHead
from meetings.models import Minutes, SealedDocument, SignatureStep, sealed_path
from meetings.services.guards import current_time
from records import permissions as records_permissions

from ..record import session_record
from . import records
from .drafting import (
    MAX_NUMBER_LENGTH,
    _access,
    _chair,
    _default_place,
    _minutes,
    _require_after_session,
    _secretary,
    _symbol,
    _text,
    read_bytes,
)
from .keys import cert_identity, sign_bytes, stamp_for
from .render import SIGNATURE_FIELDS, render_document
from .sanitize import MAX_LENGTH, clean_html


def _store(data: bytes) -> tuple[str, str]:
    """Store ``data`` content-addressed; returns (storage name, sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    name = sealed_path(digest)
    if not default_storage.exists(name):
        stored = default_storage.save(name, ContentFile(data))
        if stored != name:  # a concurrent save of the same bytes: keep one copy
            default_storage.delete(stored)
    return name, digest


def _checkpoint() -> dict:
    head = AuditHead.objects.filter(id=1).first()
    seq, hash_ = (head.seq, head.hash) if head else (0, audit.GENESIS)
    return records.checkpoint_part(seq, hash_, current_time())


def _render(record: dict):
    try:
        return render_document(record)
    except ValueError as exc:  # the Akoma Ntoso record did not validate: a bug, but say it plainly
        raise InvalidState(_("The document could not be rendered: %(reason)s") % {"reason": exc},
                           code="render_failed") from exc


# --- finalising and signing --------------------------------------------------------------------


def _minutes_record(minutes: Minutes, session: dict, secretary, chair, checkpoint: dict, now) -> dict:
    return {
        "record_version": records.RECORD_VERSION,
        "document": records.document_part(kind="minutes", number=minutes.number, title="Biên bản phiên họp",
                                          place=minutes.place, issued_at=now),
        "session": session,
        "minutes": {"opening": minutes.opening, "narratives": minutes.narratives, "decisions": minutes.decisions,
                    "recorded_comments": minutes.recorded_comments},
        "signers": [records.signer_part("secretary", secretary), records.signer_part("chair", chair)],
        "audit_checkpoint": checkpoint,
    }


def minutes_finalize(*, actor, meeting_id: int, revision: int) -> Minutes:
    """Freeze the draft and render it to PDF/A-3b, ready for the secretary's signature."""
    return plan_minutes_finalize(actor=actor, meeting_id=meeting_id, revision=revision)()


def plan_minutes_finalize(*, actor, meeting_id: int, revision: int) -> Callable[[], Minutes]:
    """Check and render now (no transaction); the returned function stores the result."""
    access = _access(actor, meeting_id)
    access.require(access.can_manage)
    meeting = access.meeting
    _require_after_session(meeting)
    minutes = _minutes(meeting)
    if minutes.status != Minutes.Status.DRAFT:
        raise InvalidState(_("The minutes have already been finalised."), code="minutes_final")
    if revision != minutes.revision:
        raise Conflict(_("The minutes changed since you last loaded them; check them again before finalising."),
                       code="stale_revision")
    secretary, chair = _secretary(meeting, preferred=actor), _chair(meeting)
    if chair is None:
        raise InvalidState(_("The session has no chair to sign the minutes."), code="no_chair")
    now = current_time()
    session = session_record(meeting)
    record = _minutes_record(minutes, session, secretary, chair, _checkpoint(), now)
    rendered = _render(record)
    name, digest = _store(rendered.pdf)
    return functools.partial(_commit_finalize, actor, meeting, minutes, revision, record, rendered, name, digest,
                             secretary, now)


@transaction.atomic
def _commit_finalize(actor, meeting, minutes, revision, record, rendered, name, digest, secretary, now) -> Minutes:
    session = record["session"]
    audit.lock_head()
    locked = Minutes.objects.select_for_update().get(pk=minutes.pk)
    if locked.status != Minutes.Status.DRAFT or locked.revision != revision:
        raise Conflict(_("The minutes changed while they were being finalised; check them again."),
                       code="stale_revision")
    document = SealedDocument.objects.create(
        meeting=meeting, kind=SealedDocument.Kind.MINUTES, number=locked.number, title=record["document"]["title"],
        signature_boxes=rendered.boxes, file=name, sha256=digest, size=len(rendered.pdf),
        record_sha256=rendered.record_sha256,
        audit_seq=record["audit_checkpoint"]["seq"], audit_hash=record["audit_checkpoint"]["hash"],
        created_by=actor, created_at=now)
    locked.status, locked.finalized_at = Minutes.Status.FINAL, now
    locked.document, locked.record = document, session
    locked.save(update_fields=["status", "finalized_at", "document", "record"])
    audit.record(actor, "minutes.finalized", document, meeting_id=meeting.pk,
                 data={"sha256": digest, "record_sha256": rendered.record_sha256,
                       "audit_checkpoint": record["audit_checkpoint"]})
    if secretary is not None and secretary != actor:
        notify.notify([secretary], kind="minutes.to_sign", title=_("Minutes to sign: %(title)s")
                      % {"title": meeting.title}, url=f"/meetings/{meeting.pk}/minutes/", email=True)
    return locked


ROLE_FIELDS = SIGNATURE_FIELDS


def document_sign(*, actor, document: SealedDocument, pin: str, otp: str | None = None) -> SealedDocument:
    """Add the actor's signature to a two-signature document (minutes, correction): the session's
    secretary first, then the chair, whose signature seals it."""
    return plan_document_sign(actor=actor, document=document, pin=pin, otp=otp)()


def plan_document_sign(*, actor, document: SealedDocument, pin: str,
                       otp: str | None = None) -> Callable[[], SealedDocument]:
    """Check and sign now (no transaction); the returned function stores the signed bytes."""
    access = _access(actor, document.meeting_id)
    if document.status == SealedDocument.Status.SEALED:
        raise InvalidState(_("This document is already signed and sealed; it can never change."),
                           code="already_sealed")
    role = "secretary" if document.status == SealedDocument.Status.UNSIGNED else "chair"
    if not records_permissions.signs_now(access, document):
        if role == "secretary" and access.can_chair:
            raise InvalidState(_("The secretary signs first; the chair signs after."), code="secretary_signs_first")
        if role == "secretary":
            raise Forbidden(_("Only the session's secretary signs first."))
        raise Forbidden(_("The chair's signature is awaited; only the chair can seal the document."))
    reason = {"secretary": "Thư ký phiên họp ký xác nhận", "chair": "Chủ tọa ký, niêm phong văn bản"}[role]
    mfa.require_fresh_factor(user=actor, otp=otp)  # issue 15: a fresh second factor where one is enrolled
    signed, cert = sign_bytes(read_bytes(document), user=actor, pin=pin, field_name=ROLE_FIELDS[role],
                              reason=reason, certify=role == "secretary",
                              appearance=stamp_for(document.signature_boxes, role))
    name, digest = _store(signed)
    return functools.partial(_commit_sign, actor, document.pk, document.sha256, role, signed, name, digest, cert)


def _commit_sign(actor, document_id: int, previous: str, role: str, signed: bytes, name: str, digest: str,
                 cert) -> SealedDocument:
    subject, cert_digest = cert_identity(cert)
    now = current_time()
    try:
        with transaction.atomic():
            audit.lock_head()
            locked = SealedDocument.objects.select_for_update().select_related("meeting").get(pk=document_id)
            if locked.sha256 != previous:
                raise Conflict(_("Someone signed this document at the same moment; reload it."),
                               code="signed_meanwhile")
            SignatureStep.objects.create(document=locked, role=role, signer=actor, signed_at=now,
                                         field_name=ROLE_FIELDS[role], certificate_subject=subject,
                                         certificate_sha256=cert_digest, sha256=digest, file=name)
            locked.file, locked.sha256, locked.size = name, digest, len(signed)
            locked.status = SealedDocument.Status.PARTIAL if role == "secretary" else SealedDocument.Status.SEALED
            if role == "chair":
                locked.sealed_at = now
            locked.save()
            if role == "chair" and locked.kind == SealedDocument.Kind.MINUTES:
                Minutes.objects.filter(meeting_id=locked.meeting_id).update(status=Minutes.Status.SEALED)
            audit.record(actor, f"{locked.kind}.signed", locked, meeting_id=locked.meeting_id,
                         data={"role": role, "sha256": digest, "certificate_sha256": cert_digest,
                               "sealed": role == "chair"})
            _notify_signed(locked, role)
    except IntegrityError as exc:
        raise Conflict(_("Someone signed this document at the same moment; reload it."),
                       code="signed_meanwhile") from exc
    return locked


def _notify_signed(document: SealedDocument, role: str) -> None:
    meeting = document.meeting
    if role == "secretary":
        chair = _chair(meeting)
        if chair:
            notify.notify([chair], kind="minutes.to_sign",
                          title=_("%(doc)s to sign: %(title)s") % {"doc": document.get_kind_display(),
                                                                   "title": meeting.title},
                          url=f"/meetings/{meeting.pk}/minutes/", email=True)
        return
    notify.notify(records_permissions.minutes_readers(meeting), kind="minutes.sealed",
                  title=_("%(doc)s of “%(title)s” signed and sealed") % {"doc": document.get_kind_display(),
                                                                        "title": meeting.title},
                  url=f"/meetings/{meeting.pk}/minutes/", email=False)


def minutes_sign(*, actor, meeting_id: int, pin: str, otp: str | None = None) -> SealedDocument:
    return plan_minutes_sign(actor=actor, meeting_id=meeting_id, pin=pin, otp=otp)()


def plan_minutes_sign(*, actor, meeting_id: int, pin: str, otp: str | None = None) -> Callable[[], SealedDocument]:
    access = _access(actor, meeting_id)
    minutes = _minutes(access.meeting)
    if minutes.status == Minutes.Status.DRAFT or minutes.document is None:
        raise InvalidState(_("Finalise the minutes before signing them."), code="minutes_not_final")
    return plan_document_sign(actor=actor, document=minutes.document, pin=pin, otp=otp)


def resolution_sign(*, actor, meeting_id: int, pin: str, number: str | None = None,
                    otp: str | None = None) -> SealedDocument:
    """Render the session resolution (the decisions adopted) and sign it; the chair alone signs."""
    return plan_resolution_sign(actor=actor, meeting_id=meeting_id, pin=pin, number=number, otp=otp)()


def _resolution_exists(meeting) -> None:
    if SealedDocument.objects.filter(meeting=meeting, kind=SealedDocument.Kind.RESOLUTION).exists():
        raise InvalidState(_("The session resolution is already signed and sealed; it can never change."),
                           code="already_sealed")


def plan_resolution_sign(*, actor, meeting_id: int, pin: str, number: str | None = None,
                         otp: str | None = None) -> Callable[[], SealedDocument]:
    access = _access(actor, meeting_id)
    access.require(access.can_chair)
    meeting = access.meeting
    _require_after_session(meeting)
    _resolution_exists(meeting)
    lockout.pin_allowed(actor)  # as in keys.signer_key, but before the resolution is rendered
    mfa.require_fresh_factor(user=actor, otp=otp)  # issue 15: a fresh second factor where one is enrolled
    number = " ".join(_text(number, field="number", limit=MAX_NUMBER_LENGTH).split()) if number else \
        f"{meeting.pk}/{_symbol('resolution')}"
    now = current_time()
    session = session_record(meeting)
    record = {
        "record_version": records.RECORD_VERSION,
        "document": records.document_part(kind="resolution", number=number, title="Nghị quyết phiên họp",
                                          place=_default_place(), issued_at=now),
        "session": session,
        "decisions": records.adopted_decisions(session),
        "signers": [records.signer_part("chair", actor)],
        "audit_checkpoint": _checkpoint(),
    }
    rendered = _render(record)
    signed, cert = sign_bytes(rendered.pdf, user=actor, pin=pin, field_name=ROLE_FIELDS["chair"],
                              reason="Chủ tọa ký ban hành nghị quyết phiên họp", certify=True,
                              appearance=stamp_for(rendered.boxes, "chair"))
    name, digest = _store(signed)
    return functools.partial(_commit_resolution, actor, meeting, record, rendered, signed, name, digest, cert, now)


def _commit_resolution(actor, meeting, record, rendered, signed, name, digest, cert, now) -> SealedDocument:
    subject, cert_digest = cert_identity(cert)
    try:
        with transaction.atomic():
            audit.lock_head()
            _resolution_exists(meeting)
            document = SealedDocument.objects.create(
                meeting=meeting, kind=SealedDocument.Kind.RESOLUTION, status=SealedDocument.Status.SEALED,
                number=record["document"]["number"], title=record["document"]["title"], file=name, sha256=digest,
                signature_boxes=rendered.boxes, size=len(signed), record_sha256=rendered.record_sha256,
                audit_seq=record["audit_checkpoint"]["seq"],
                audit_hash=record["audit_checkpoint"]["hash"], created_by=actor, created_at=now, sealed_at=now)
            SignatureStep.objects.create(document=document, role="chair", signer=actor, signed_at=now,
                                         field_name=ROLE_FIELDS["chair"], certificate_subject=subject,
                                         certificate_sha256=cert_digest, sha256=digest, file=name)
            audit.record(actor, "resolution.signed", document, meeting_id=meeting.pk,
                         data={"sha256": digest, "record_sha256": rendered.record_sha256,
                               "decisions": len(record["decisions"]), "audit_checkpoint": record["audit_checkpoint"]})
            _notify_signed(document, "chair")
    except IntegrityError as exc:
        raise InvalidState(_("The session resolution is already signed and sealed; it can never change."),
                           code="already_sealed") from exc
    return document


def correction_create(*, actor, meeting_id: int, text: str) -> SealedDocument:
    """A correction of the sealed minutes: a new document referencing them, to be signed by the
    secretary and the chair. The sealed minutes stay as they are."""
    return plan_correction_create(actor=actor, meeting_id=meeting_id, text=text)()


def plan_correction_create(*, actor, meeting_id: int, text: str) -> Callable[[], SealedDocument]:
    access = _access(actor, meeting_id)
    access.require(access.can_manage)
    meeting = access.meeting
    body = clean_html(_text(text, field="text", limit=MAX_LENGTH))
    if not body:
        raise ValidationFailed(_("Write what the correction says."), code="correction_empty")
    original = SealedDocument.objects.filter(meeting=meeting, kind=SealedDocument.Kind.MINUTES,
                                             status=SealedDocument.Status.SEALED).first()
    if original is None:
        raise InvalidState(_("Only sealed minutes can be corrected; until then, edit the draft."),
                           code="minutes_not_sealed")
    now = current_time()
    count = SealedDocument.objects.filter(meeting=meeting, kind=SealedDocument.Kind.CORRECTION).count()
    record = {
        "record_version": records.RECORD_VERSION,
        "document": records.document_part(kind="correction", number=f"{original.number}/ĐC{count + 1}",
                                          title="Biên bản đính chính", place=_default_place(), issued_at=now),
        "session": session_record(meeting),
        "corrects": {"kind": original.kind, "title": "Biên bản phiên họp", "number": original.number,
                     "sha256": original.sha256, "record_sha256": original.record_sha256,
                     "sealed_at": original.sealed_at.date().isoformat() if original.sealed_at else None},
        "body": body,
        "signers": [records.signer_part("secretary", _secretary(meeting, preferred=actor)),
                    records.signer_part("chair", _chair(meeting))],
        "audit_checkpoint": _checkpoint(),
    }
    rendered = _render(record)
    name, digest = _store(rendered.pdf)
    return functools.partial(_commit_correction, actor, meeting, original, record, rendered, name, digest, count, now)


@transaction.atomic
def _commit_correction(actor, meeting, original, record, rendered, name, digest, count, now) -> SealedDocument:
    audit.lock_head()
    if SealedDocument.objects.filter(meeting=meeting, kind=SealedDocument.Kind.CORRECTION).count() != count:
        raise Conflict(_("Another correction was made at the same moment; reload and try again."),
                       code="correction_meanwhile")
    document = SealedDocument.objects.create(
        meeting=meeting, kind=SealedDocument.Kind.CORRECTION, number=record["document"]["number"],
        title=record["document"]["title"], corrects=original, body=record["body"], file=name, sha256=digest,
        signature_boxes=rendered.boxes,
        size=len(rendered.pdf), record_sha256=rendered.record_sha256, audit_seq=record["audit_checkpoint"]["seq"],
        audit_hash=record["audit_checkpoint"]["hash"], created_by=actor, created_at=now)
    audit.record(actor, "correction.created", document, meeting_id=meeting.pk,
                 data={"corrects": original.pk, "sha256": digest})
    return document
