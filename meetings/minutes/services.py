"""Minutes, session resolution and corrections: every write (issue 5).

Lifecycle of the minutes: ``generate`` (the secretariat, once the session is adjourned) → ``update``
and participants' ``comment`` while ``draft`` → ``finalize`` (rendered to PDF/A-3b, frozen) →
``sign`` by the session's secretary → ``sign`` by the chair, which seals. The resolution is rendered
and signed by the chair in one step. A correction of sealed minutes is a new document, rendered
from its own text and signed like the minutes; the original never changes.

Slow work — rendering, and signing (a PKCS#11 token, a timestamp authority) — happens outside any
transaction. The short transaction that stores the result re-checks that nothing changed meanwhile
(status, revision, the bytes signed), so two racing signers or a secretary editing during a
finalisation get a clear ``Conflict`` and nothing is stored twice.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ecabinet import audit, limits, lockout, mfa, notify, pki
from ecabinet.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from ecabinet.models import AuditHead

from .. import permissions, signing
from ..models import Meeting, Minutes, MinutesComment, Participant, SealedDocument, SignatureStep, sealed_path
from ..record import session_record
from ..services._common import current_time
from . import records
from .render import SIGNATURE_FIELDS, render_document
from .sanitize import MAX_LENGTH, clean_html

S = Meeting.Status
AFTER_SESSION = (S.ADJOURNED, S.CLOSED)
MAX_DECISIONS = 200
MAX_DECISION_LENGTH = 4000
MAX_COMMENT_LENGTH = 4000
MAX_NUMBER_LENGTH = 60
COMMENTERS = permissions.MINUTES_COMMENTERS


class SigningRefused(ValidationFailed):
    """The signing key could not be used: wrong PIN, no key, a token or timestamp problem."""


# --- reading -----------------------------------------------------------------------------------


def _access(actor, meeting_id: int) -> permissions.MeetingAccess:
    return permissions.meeting_access(actor, meeting_id)


def _minutes(meeting: Meeting) -> Minutes:
    minutes = Minutes.objects.filter(meeting=meeting).select_related("document").first()
    if minutes is None:
        raise NotFound(_("The minutes of this session have not been drafted yet."), code="no_minutes")
    return minutes


def minutes_for(*, actor, meeting_id: int) -> tuple[permissions.MeetingAccess, Minutes]:
    """The minutes of a session the actor may see (participants, and archivists once closed)."""
    access = _access(actor, meeting_id)
    return access, _minutes(access.meeting)


def sealed_for(*, actor, meeting_id: int, kind: str, document_id: int | None = None) -> SealedDocument:
    """A rendered document of the session, for reading or verification."""
    access = _access(actor, meeting_id)
    documents = SealedDocument.objects.filter(meeting=access.meeting, kind=kind)
    if document_id is not None:
        documents = documents.filter(pk=document_id)
    document = documents.order_by("-created_at", "-id").first()
    if document is None:
        messages = {"minutes": _("The minutes have not been finalised yet."),
                    "resolution": _("The session resolution has not been signed yet."),
                    "correction": _("There is no such correction.")}
        raise NotFound(messages[kind], code=f"no_{kind}")
    return document


def read_bytes(document: SealedDocument | SignatureStep) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


# --- helpers -----------------------------------------------------------------------------------


def _require_after_session(meeting: Meeting) -> None:
    if meeting.status not in AFTER_SESSION:
        raise InvalidState(_("The minutes can be drawn up only after the session has been adjourned."),
                           code="session_not_adjourned")


def _chair(meeting: Meeting):
    participant = (Participant.objects.filter(meeting=meeting, role=Participant.Role.CHAIR)
                   .select_related("user").first())
    return participant.user if participant else None


def _secretary(meeting: Meeting, preferred=None):
    """The session's secretary who signs: ``preferred`` if they are one, else the first invited."""
    secretaries = list(Participant.objects.filter(meeting=meeting, role=Participant.Role.SECRETARY)
                       .select_related("user").order_by("id"))
    for participant in secretaries:
        if preferred is not None and participant.user_id == preferred.pk:
            return participant.user
    return secretaries[0].user if secretaries else None


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


def _text(value, *, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(_("“%(field)s” must be text.") % {"field": field}, code="invalid_text")
    if len(value) > limit:
        raise ValidationFailed(_("“%(field)s” is too long (at most %(limit)s characters).")
                               % {"field": field, "limit": limit}, code="text_too_long")
    return value


# --- the draft ---------------------------------------------------------------------------------


def minutes_generate(*, actor, meeting_id: int) -> tuple[Minutes, bool]:
    """Draft the minutes from the session record (the secretariat, after adjournment).

    The first call creates the draft (``created`` True). While it is a draft, a later call takes the
    record again (attendance, speakers, votes) and keeps the secretary's text; after finalisation it
    is refused."""
    access = _access(actor, meeting_id)
    access.require(access.can_manage)
    meeting = access.meeting
    _require_after_session(meeting)
    record = session_record(meeting)
    now = current_time()
    with transaction.atomic():
        audit.lock_head()
        minutes = Minutes.objects.select_for_update().filter(meeting=meeting).first()
        if minutes is None:
            minutes = Minutes.objects.create(
                meeting=meeting, number=f"{meeting.pk}/{_symbol('minutes')}",
                place=_default_place(), record=record, narratives=records.default_narratives(record),
                decisions=records.default_decisions(record), recorded_comments=records.shared_comment_ids(record),
                generated_by=actor, generated_at=now, updated_at=now)
            created = True
        else:
            if minutes.status != Minutes.Status.DRAFT:
                raise InvalidState(_("The minutes have been finalised; they can no longer be regenerated."),
                                   code="minutes_final")
            known = set(records.shared_comment_ids(record))
            narratives = {**records.default_narratives(record), **minutes.narratives}
            minutes.record = record
            minutes.narratives = {k: v for k, v in narratives.items() if k in {str(i["id"]) for i in record["agenda"]}}
            minutes.recorded_comments = [c for c in minutes.recorded_comments if c in known]
            minutes.revision += 1
            minutes.updated_at = now
            minutes.save()
            created = False
        audit.record(actor, "minutes.generated" if created else "minutes.regenerated", minutes,
                     meeting_id=meeting.pk, data={"revision": minutes.revision})
        if created:
            readers = [p.user for p in Participant.objects.filter(meeting=meeting, role__in=COMMENTERS)
                       .select_related("user").exclude(user=actor)]
            notify.notify(readers, kind="minutes.draft",
                          title=_("Draft minutes of “%(title)s” are ready for your comments")
                          % {"title": meeting.title},
                          url=f"/meetings/{meeting.pk}/minutes/", email=False)
    return minutes, created


def _symbol(kind: str) -> str:
    from django.conf import settings

    return settings.MINUTES_SYMBOL if kind == "minutes" else settings.RESOLUTION_SYMBOL


def _default_place() -> str:
    from django.conf import settings

    return settings.MINUTES_PLACE


def _locked_draft(meeting: Meeting, when_final: str) -> Minutes:
    """The session's draft minutes, locked for this transaction (the audit head first)."""
    audit.lock_head()
    minutes = Minutes.objects.select_for_update().filter(meeting=meeting).first()
    if minutes is None:
        raise NotFound(_("The minutes of this session have not been drafted yet."), code="no_minutes")
    if minutes.status != Minutes.Status.DRAFT:
        raise InvalidState(when_final, code="minutes_final")
    return minutes


def minutes_update(*, actor, meeting_id: int, revision: int, changes: dict) -> Minutes:
    """Edit the draft: ``opening``, ``narratives`` ({item id: text}), ``decisions`` (list of text),
    ``recorded_comments`` (ids of shared comments), ``number``, ``place``. ``revision`` must be the
    revision the editor started from, so that two editors never overwrite each other silently."""
    access = _access(actor, meeting_id)
    access.require(access.can_manage)
    clean = _clean_changes(changes)
    with transaction.atomic():
        minutes = _locked_draft(access.meeting, _("The minutes have been finalised and can no longer be edited."))
        if revision != minutes.revision:
            raise Conflict(_("Someone else changed the minutes meanwhile (revision %(now)s, you edited %(yours)s). "
                             "Reload them and make your change again.") % {"now": minutes.revision, "yours": revision},
                           code="stale_revision")
        items = {str(item["id"]) for item in minutes.record["agenda"]}
        if "narratives" in clean:
            unknown = set(clean["narratives"]) - items
            if unknown:
                raise ValidationFailed(_("These agenda items are not part of this session: %(ids)s.")
                                       % {"ids": ", ".join(sorted(unknown))}, code="unknown_item")
            clean["narratives"] = {**minutes.narratives, **clean["narratives"]}
        if "recorded_comments" in clean:
            unknown = set(clean["recorded_comments"]) - set(records.shared_comment_ids(minutes.record))
            if unknown:
                raise ValidationFailed(_("Only comments shared with the session can go on the record."),
                                       code="unknown_comment")
        for field, value in clean.items():
            setattr(minutes, field, value)
        minutes.revision += 1
        minutes.updated_at = current_time()
        minutes.save()
        audit.record(actor, "minutes.edited", minutes, meeting_id=minutes.meeting_id,
                     data={"revision": minutes.revision, "fields": sorted(clean)})
    return minutes


def _clean_changes(changes: dict) -> dict:
    allowed = {"opening", "narratives", "decisions", "recorded_comments", "number", "place"}
    if not isinstance(changes, dict) or not changes:
        raise ValidationFailed(_("Say what to change in the minutes."), code="nothing_to_change")
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(_("These fields cannot be edited: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
                               code="unknown_field")
    clean: dict = {}
    if "opening" in changes:
        clean["opening"] = clean_html(_text(changes["opening"], field="opening", limit=MAX_LENGTH))
    if "narratives" in changes:
        narratives = changes["narratives"]
        if not isinstance(narratives, dict):
            raise ValidationFailed(_("“narratives” maps agenda item ids to text."), code="invalid_narratives")
        clean["narratives"] = {str(k): clean_html(_text(v, field="narratives", limit=MAX_LENGTH))
                               for k, v in narratives.items()}
    if "decisions" in changes:
        decisions = changes["decisions"]
        if not isinstance(decisions, list) or len(decisions) > MAX_DECISIONS:
            raise ValidationFailed(_("“decisions” is a list of at most %(n)s texts.") % {"n": MAX_DECISIONS},
                                   code="invalid_decisions")
        lines = [" ".join(_text(d, field="decisions", limit=MAX_DECISION_LENGTH).split()) for d in decisions]
        clean["decisions"] = [line for line in lines if line]
    if "recorded_comments" in changes:
        ids = changes["recorded_comments"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValidationFailed(_("“recorded_comments” is a list of comment ids."), code="invalid_comments")
        clean["recorded_comments"] = sorted(set(ids))
    for field in ("number", "place"):
        if field in changes:
            value = " ".join(_text(changes[field], field=field, limit=MAX_NUMBER_LENGTH).split())
            if not value:
                raise ValidationFailed(_("“%(field)s” cannot be empty.") % {"field": field}, code="invalid_text")
            clean[field] = value
    return clean


def minutes_comment(*, actor, meeting_id: int, text: str, item_id: int | None = None) -> MinutesComment:
    """A participant's remark on the draft (chair, members, substitutes, secretaries)."""
    access = _access(actor, meeting_id)
    access.require(access.role in COMMENTERS)
    text = _text(text, field="text", limit=MAX_COMMENT_LENGTH).strip()
    if not text:
        raise ValidationFailed(_("Write your comment first."), code="comment_empty")
    # The room's comment limits (ecabinet.limits: comments, and their characters), here so that the
    # API and the screen both count (issue 14: 250 comments of 4,000 characters in 3.4 s).
    limits.check("comments", actor, also=(("comment_chars", len(text)),))
    with transaction.atomic():
        minutes = _locked_draft(access.meeting, _("The minutes have been finalised; comments are closed."))
        if item_id is not None and str(item_id) not in {str(i["id"]) for i in minutes.record["agenda"]}:
            raise ValidationFailed(_("This agenda item is not part of this session."), code="unknown_item")
        comment = MinutesComment.objects.create(minutes=minutes, item_id=item_id, author=actor, text=text,
                                                created_at=current_time())
        audit.record(actor, "minutes.commented", comment, meeting_id=minutes.meeting_id,
                     data={"item": item_id, "length": len(text)})
    return comment


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


@contextlib.contextmanager
def _signer(user, pin: str):
    """The caller's own signing key, unlocked by ``pin`` (PKCS#11 token or PKCS#12 file)."""
    if not isinstance(pin, str) or not pin:
        raise SigningRefused(_("Enter the PIN of your signing key."), code="pin_required")
    lockout.pin_allowed(user)  # too many wrong PINs lately: refused before the key is touched (429 pin_locked)
    try:
        with pki.signing_session(user.username, pin) as signer:
            lockout.pin_succeeded(user)
            yield signer
    except pki.WrongPin as exc:
        lockout.pin_failed(user)
        raise SigningRefused(_("The PIN is not correct."), code="wrong_pin") from exc
    except pki.NoKey as exc:
        raise SigningRefused(_("No signing key is set up for your account. Ask the IT department."),
                             code="no_signing_key") from exc
    except pki.PkiError as exc:
        raise SigningRefused(str(exc), code="signing_key_unavailable") from exc


def _appearance(boxes: dict, role: str) -> signing.Appearance | None:
    """The visible stamp of ``role``'s signature, where the rendering put its signature block."""
    place = (boxes or {}).get(role)
    if not place:
        return None
    from ..demo.pdf import STATIC_DIR

    font = STATIC_DIR / "fonts" / "DejaVuSans.ttf"
    return signing.Appearance(page=place[0], box=tuple(round(v) for v in place[1]), font_path=str(font))


def _sign_bytes(data: bytes, *, user, pin: str, field_name: str, reason: str, certify: bool,
                appearance: signing.Appearance | None = None) -> tuple[bytes, object]:
    """Sign with the user's own key; with ``TSA_URL``, a PAdES B-LT signature (timestamp, DSS)."""
    from django.conf import settings

    timestamper = signing.timestamper_from_settings()
    extra = {}
    if timestamper is not None:
        extra = {"trust_roots": pki.trust_roots_from_settings() + pki.tsa_roots_from_settings(),
                 "crls": pki.crls_from_settings(), "allow_fetching": settings.SIGNING_FETCH_REVOCATION}
    with _signer(user, pin) as signer:
        try:
            signed = signing.sign_pdf(data, signer=signer, field_name=field_name, reason=reason,
                                      location=settings.MINUTES_PLACE, certify=certify, timestamper=timestamper,
                                      appearance=appearance, **extra)
        except signing.SigningFailed as exc:
            raise SigningRefused(str(exc), code="signing_failed") from exc
        return signed, signer.signing_cert


def _cert_identity(cert) -> tuple[str, str]:
    """The certificate's holder as people read it (name — organisation) and its sha256."""
    import unicodedata

    subject = cert.subject.native
    parts = [subject.get("common_name"), subject.get("organization_name")]
    text = " — ".join(str(p) for p in parts if p) or cert.subject.human_friendly
    return unicodedata.normalize("NFC", text)[:300], hashlib.sha256(cert.dump()).hexdigest()


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
    if document.status == SealedDocument.Status.UNSIGNED:
        role = "secretary"
        if access.role != Participant.Role.SECRETARY:
            if access.can_chair:
                raise InvalidState(_("The secretary signs first; the chair signs after."),
                                   code="secretary_signs_first")
            raise Forbidden(_("Only the session's secretary signs first."))
    else:
        role = "chair"
        if not access.can_chair:
            raise Forbidden(_("The chair's signature is awaited; only the chair can seal the document."))
    reason = {"secretary": "Thư ký phiên họp ký xác nhận", "chair": "Chủ tọa ký, niêm phong văn bản"}[role]
    mfa.require_fresh_factor(user=actor, otp=otp)  # issue 15: a fresh second factor where one is enrolled
    signed, cert = _sign_bytes(read_bytes(document), user=actor, pin=pin, field_name=ROLE_FIELDS[role],
                               reason=reason, certify=role == "secretary",
                               appearance=_appearance(document.signature_boxes, role))
    name, digest = _store(signed)
    return functools.partial(_commit_sign, actor, document.pk, document.sha256, role, signed, name, digest, cert)


def _commit_sign(actor, document_id: int, previous: str, role: str, signed: bytes, name: str, digest: str,
                 cert) -> SealedDocument:
    subject, cert_digest = _cert_identity(cert)
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
    readers = [p.user for p in Participant.objects.filter(meeting=meeting).select_related("user")]
    notify.notify(readers, kind="minutes.sealed",
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
    lockout.pin_allowed(actor)  # as in _signer, but before the resolution is rendered
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
    signed, cert = _sign_bytes(rendered.pdf, user=actor, pin=pin, field_name=ROLE_FIELDS["chair"],
                               reason="Chủ tọa ký ban hành nghị quyết phiên họp", certify=True,
                               appearance=_appearance(rendered.boxes, "chair"))
    name, digest = _store(signed)
    return functools.partial(_commit_resolution, actor, meeting, record, rendered, signed, name, digest, cert, now)


def _commit_resolution(actor, meeting, record, rendered, signed, name, digest, cert, now) -> SealedDocument:
    subject, cert_digest = _cert_identity(cert)
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
