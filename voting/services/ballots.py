"""Written opinion ballots (phiếu lấy ý kiến thành viên Chính phủ): every change to a ballot happens
here, from the draft to its issue, and the audited reads; the answers are ``ballot_answers``, the
closing ``ballot_closing``, both on the guards and the clock of this module.

Lifecycle: ``draft`` (the secretariat writes the questions, attaches the drafts, chooses the
recipients) → ``open`` (issued: recipients answer and may change their answers until the deadline)
→ ``closed`` (at the deadline, by itself; recorded by ``ballot_schedule.ballots_run_schedule`` or
early by the secretariat once everyone has answered).

Same rules as ``meetings.services``: keyword-only arguments, one transaction, permission check
(``voting.permissions``), state guard, the change, and the audit entry in the same transaction.
State changes are conditional updates (``UPDATE … WHERE status = …``) because SQLite ignores
``SELECT … FOR UPDATE``; the row lock taken by ``_lock`` serialises writers on PostgreSQL, and
SQLite's IMMEDIATE transactions serialise them anyway.

The deadline is checked against ``current_time()`` — the one clock of this package, replaced in
tests — so a ballot stops taking answers at its deadline even if the scheduler never ran.

The link to a session (issue 18) is checked by ``ballot_links`` but written here, inside the
create/update transactions it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from ecabinet import audit, clock
from ecabinet.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from ecabinet.textlimits import bounded_description
from meetings.pdfcheck import InspectedUpload
from meetings.permissions import meetings_visible_to
from meetings.services.documents import inspect_upload, store_upload

from .. import ballot_notices
from ..models import Ballot, BallotDocument, BallotQuestion, BallotRecipient
from ..models.ballots import ballot_document_path
from ..permissions import BallotAccess, ballot_access, ballots_of_meeting, ballots_visible_to, can_create_ballot
from .ballot_links import check_link, record_link

User = get_user_model()
B = Ballot.Status
TEXT_MAX = 5_000
KEEP = object()  # ``ballot_update(meeting=KEEP)``: leave the ballot's session as it is


def current_time() -> datetime:
    """The clock of the ballots (``ecabinet.clock``, the server's one clock); tests may replace this."""
    return clock.moment()


def closed_error() -> InvalidState:
    return InvalidState(_("The ballot is closed: its deadline has passed and answers can no longer be given "
                          "or changed."), code="ballot_closed")


def _not_draft_error() -> InvalidState:
    return InvalidState(_("The ballot has been issued; its questions, drafts and recipients can no longer "
                          "change."), code="ballot_not_draft")


def _lock(ballot: Ballot) -> Ballot:
    """The ballot's row, locked (PostgreSQL) and read afresh."""
    return Ballot.objects.select_for_update().get(pk=ballot.pk)


def _manager(actor, ballot: Ballot | int) -> BallotAccess:
    access = ballot_access(actor, ballot, current_time())
    access.require(access.can_manage)
    return access


def _editable(actor, ballot: Ballot | int) -> Ballot:
    """The draft ballot, locked, for the secretariat; otherwise the right error."""
    access = _manager(actor, ballot)
    locked = _lock(access.ballot)
    if locked.status != B.DRAFT:
        raise _not_draft_error()
    return locked


def _clean_text(value: str, *, code: str, message: str, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, code=code)
    if len(value) > limit:
        raise ValidationFailed(_("The text is too long (at most %(n)s characters).") % {"n": limit},
                               code="text_too_long")
    return value


def _check_deadline(deadline: datetime) -> None:
    if timezone.is_naive(deadline):
        raise ValidationFailed(_("The deadline needs a time zone."), code="invalid_deadline")
    if deadline <= current_time():
        raise ValidationFailed(_("The deadline must be in the future."), code="deadline_in_past")


def default_recipients():
    """Every active member of the Government, in the order their accounts were created (the
    protocol order, for the demo cast)."""
    return User.objects.filter(is_member=True, is_active=True).order_by("id")


# --- preparing a ballot (draft) ---------------------------------------------------------------------

@transaction.atomic
def ballot_create(*, actor, title: str, deadline: datetime, description: str = "",
                  silence_is_consent: bool = False, meeting=None) -> Ballot:
    """A draft ballot addressed, until the secretariat says otherwise, to every active member;
    ``meeting`` (an id, optional) links it to a session the actor manages."""
    if not (actor.is_authenticated and actor.is_active):
        raise NotFound()
    if not can_create_ballot(actor):
        raise Forbidden(_("Only the secretariat can prepare written ballots."))
    title = _clean_text(title, code="title_required", message=_("The ballot needs a title."), limit=500)
    description = bounded_description(description)
    _check_deadline(deadline)
    _changes, session = check_link(actor, None, meeting)
    ballot = Ballot.objects.create(title=title, description=description, deadline=deadline,
                                   silence_is_consent=bool(silence_is_consent), created_by=actor, meeting=session)
    members = list(default_recipients())
    BallotRecipient.objects.bulk_create(BallotRecipient(ballot=ballot, user=u) for u in members)
    audit.record(actor, "ballot.created", ballot, data={
        "title": ballot.title, "deadline": deadline.isoformat(), "silence_is_consent": ballot.silence_is_consent,
        "recipients": len(members), "meeting": ballot.meeting_id})
    if session is not None:
        record_link(actor, ballot, None)
    return ballot


@transaction.atomic
def ballot_update(*, actor, ballot: Ballot | int, title: str, deadline: datetime, description: str = "",
                  silence_is_consent: bool = False, meeting=KEEP) -> Ballot:
    """Change the details of a draft; ``meeting`` (an id or None) changes its session too."""
    locked = _editable(actor, ballot)
    title = _clean_text(title, code="title_required", message=_("The ballot needs a title."), limit=500)
    description = bounded_description(description)
    _check_deadline(deadline)
    previous = locked.meeting_id
    changes, session = (False, None) if meeting is KEEP else check_link(actor, previous, meeting)
    fields = {"title": title, "description": description, "deadline": deadline,
              "silence_is_consent": bool(silence_is_consent)}
    if changes:
        fields["meeting"] = session
    Ballot.objects.filter(pk=locked.pk, status=B.DRAFT).update(**fields)
    locked.refresh_from_db()
    audit.record(actor, "ballot.updated", locked, data={
        "title": locked.title, "deadline": deadline.isoformat(), "silence_is_consent": locked.silence_is_consent,
        "meeting": locked.meeting_id})
    if changes:
        record_link(actor, locked, previous)
    return locked


@transaction.atomic
def ballot_link_meeting(*, actor, ballot: Ballot | int, meeting) -> Ballot:
    """Link a draft ballot to a session (an id) or unlink it (``None``). The actor must manage the
    ballots, the session joined and the session left; once issued the link is frozen like the rest.
    Unchanged link: nothing written."""
    locked = _editable(actor, ballot)
    previous = locked.meeting_id
    changes, session = check_link(actor, previous, meeting)
    if not changes:
        return locked
    Ballot.objects.filter(pk=locked.pk, status=B.DRAFT).update(meeting=session)
    locked.refresh_from_db()
    record_link(actor, locked, previous)
    return locked


@transaction.atomic
def ballot_question_add(*, actor, ballot: Ballot | int, text: str) -> BallotQuestion:
    locked = _editable(actor, ballot)
    text = _clean_text(text, code="question_required", message=_("Write the question."))
    position = (locked.questions.aggregate(m=Max("position"))["m"] or 0) + 1
    question = BallotQuestion.objects.create(ballot=locked, position=position, text=text)
    audit.record(actor, "ballot.question_added", locked, data={"question": question.pk, "position": position,
                                                               "text": text})
    return question


@transaction.atomic
def ballot_question_remove(*, actor, ballot: Ballot | int, question_id: int) -> None:
    """Remove a question of a draft; the later ones move up one place."""
    locked = _editable(actor, ballot)
    question = locked.questions.filter(pk=question_id).first()
    if question is None:
        raise NotFound()
    question.delete()
    for later in locked.questions.filter(position__gt=question.position).order_by("position"):
        BallotQuestion.objects.filter(pk=later.pk).update(position=F("position") - 1)
    audit.record(actor, "ballot.question_removed", locked, data={"position": question.position,
                                                                 "text": question.text})


def ballot_document_add_prepare(*, actor, ballot: Ballot | int, title: str, upload) -> InspectedUpload:
    """The slow half of ``ballot_document_add``, outside any transaction: the cheap checks (the
    caller manages a draft ballot, the title), then the inspection of the file."""
    access = _manager(actor, ballot)
    if access.ballot.status != B.DRAFT:
        raise _not_draft_error()
    _clean_text(title, code="title_required", message=_("The document needs a title."), limit=500)
    return inspect_upload(upload)


def ballot_document_add(*, actor, ballot: Ballot | int, title: str, upload,
                        inspected: InspectedUpload | None = None) -> BallotDocument:
    """Attach a draft (checked exactly like a session document: PDF only, limits, no active content,
    no state secrets). The file is inspected before the transaction opens; never call this inside
    one unless ``inspected`` is given."""
    if inspected is None:
        inspected = ballot_document_add_prepare(actor=actor, ballot=ballot, title=title, upload=upload)
    return _ballot_document_record(actor=actor, ballot=ballot, title=title, inspected=inspected)


@transaction.atomic
def _ballot_document_record(*, actor, ballot: Ballot | int, title: str, inspected: InspectedUpload) -> BallotDocument:
    locked = _editable(actor, ballot)
    title = _clean_text(title, code="title_required", message=_("The document needs a title."), limit=500)
    facts = inspected.facts
    if locked.documents.filter(sha256=facts.sha256).exists():
        raise Conflict(_("This file is already attached to the ballot."), code="duplicate_document")
    document = BallotDocument(ballot=locked, title=title, sha256=facts.sha256, size=facts.size, pages=facts.pages,
                              uploaded_by=actor)
    name = ballot_document_path(document, "")
    store_upload(document.file.storage, name, inspected)
    document.file.name = name
    document.save()
    audit.record(actor, "ballot.document_added", locked, data={
        "document": document.pk, "title": title, "sha256": facts.sha256, "pages": facts.pages, "size": facts.size})
    return document


@transaction.atomic
def ballot_document_remove(*, actor, ballot: Ballot | int, document_id: int) -> None:
    """Detach a draft from a ballot not yet issued (the file stays in storage: it is content-addressed
    and may be shared)."""
    locked = _editable(actor, ballot)
    document = locked.documents.filter(pk=document_id).first()
    if document is None:
        raise NotFound()
    document.delete()
    audit.record(actor, "ballot.document_removed", locked, data={"title": document.title,
                                                                 "sha256": document.sha256})


@transaction.atomic
def ballot_recipients_set(*, actor, ballot: Ballot | int, usernames: Iterable[str]) -> list:
    """Replace the recipients. Only active members of the Government may be asked: the summary counts
    "members' opinions", and anyone else's answer would be counted as one."""
    locked = _editable(actor, ballot)
    wanted = sorted({u.strip() for u in usernames if u and u.strip()})
    if not wanted:
        raise ValidationFailed(_("Choose at least one recipient."), code="recipients_required")
    users = list(User.objects.filter(username__in=wanted, is_active=True, is_member=True).order_by("id"))
    missing = set(wanted) - {u.username for u in users}
    if missing:
        raise ValidationFailed(
            _("Only active members of the Government can be asked: %(names)s.") % {"names": ", ".join(sorted(missing))},
            code="recipient_not_member")
    current = set(locked.recipients.values_list("user_id", flat=True))
    keep = {u.pk for u in users}
    if current != keep:
        locked.recipients.exclude(user_id__in=keep).delete()
        BallotRecipient.objects.bulk_create(BallotRecipient(ballot=locked, user=u) for u in users
                                            if u.pk not in current)
        audit.record(actor, "ballot.recipients", locked, data={"recipients": [u.username for u in users]})
    return users


@transaction.atomic
def ballot_issue(*, actor, ballot: Ballot | int) -> Ballot:
    """draft → open. Preconditions: a deadline still ahead, at least one question, one draft and one
    recipient. Every recipient is notified in the app and by e-mail."""
    locked = _editable(actor, ballot)
    now = current_time()
    if locked.deadline <= now:
        raise InvalidState(_("The deadline has passed; set a new deadline before issuing the ballot."),
                           code="deadline_passed")
    if not locked.questions.exists():
        raise InvalidState(_("Add at least one question before issuing the ballot."), code="no_questions")
    if not locked.documents.exists():
        raise InvalidState(_("Attach at least one draft before issuing the ballot."), code="no_documents")
    recipients = list(User.objects.filter(pk__in=locked.recipients.values("user_id")).order_by("id"))
    if not recipients:
        raise InvalidState(_("Choose at least one recipient before issuing the ballot."), code="no_recipients")
    if not Ballot.objects.filter(pk=locked.pk, status=B.DRAFT).update(status=B.OPEN, issued_at=now):
        raise _not_draft_error()
    locked.refresh_from_db()
    audit.record(actor, "ballot.issued", locked, data={
        "deadline": locked.deadline.isoformat(), "questions": locked.questions.count(),
        "documents": locked.documents.count(), "recipients": [u.username for u in recipients]})
    ballot_notices.notify_issued(locked, [u for u in recipients if u.is_active])
    return locked


# --- audited reads -----------------------------------------------------------------------------------

@transaction.atomic
def ballot_view(*, actor, ballot_id: int, what: str = "detail") -> BallotAccess:
    """Open a ballot (screen or API): audited, like every view of cabinet content. ``what`` names the
    view (detail, summary, summary_pdf, api…)."""
    access = ballot_access(actor, ballot_id, current_time())
    if what.startswith("summary") and not access.sees_summary:
        raise NotFound()
    audit.record(actor, "ballot.viewed", access.ballot, data={"what": what})
    return access


@transaction.atomic
def ballots_list(*, actor, meeting: int | None = None) -> list[Ballot]:
    """The ballots the caller may open (audited: the list shows their titles); with ``meeting``, only
    those linked to that session, and none unless the caller may see the session."""
    now = current_time()
    if meeting is None:
        audit.record(actor, "ballots.listed", None)
        return list(ballots_visible_to(actor, now).select_related("created_by"))
    audit.record(actor, "ballots.listed", None, data={"meeting": meeting})
    if not meetings_visible_to(actor).filter(pk=meeting).exists():
        return []
    return list(ballots_of_meeting(actor, meeting, now).select_related("created_by"))


@transaction.atomic
def ballot_document_copy(*, actor, ballot_id: int, document_id: int) -> tuple[BallotDocument, int, datetime]:
    """Hand the caller a copy of a draft: returns the document, the copy number to print in the
    watermark and the time of issue. The copy number is the sequence number of the audit entry that
    records the download, so every copy is traceable to who took it and when."""
    now = current_time()
    access = ballot_access(actor, ballot_id, now)
    document = access.ballot.documents.filter(pk=document_id).first()
    if document is None:
        raise NotFound()
    entry = audit.record(actor, "ballot.document_downloaded", access.ballot,
                         data={"document": document.pk, "sha256": document.sha256})
    return document, entry.seq, now
