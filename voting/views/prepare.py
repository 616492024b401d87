"""The secretariat's side: create a ballot, then on its edit page change the details, add and
remove questions and drafts, choose the recipients and issue it; close it early once everyone has
answered. These screens do not exist for anyone else (404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecabinet import limits
from ecabinet.errors import DomainError
from ecabinet.http_limits import body_limit
from ecabinet.screens import domain_errors, report_error, report_form_errors

from ..ballot_notices import deadline_text
from ..forms import BallotDocumentForm, BallotForm, QuestionForm, RecipientsForm
from ..models import Ballot
from ..permissions import BallotAccess, ballot_access, can_create_ballot, linkable_meetings, linked_meeting_visible
from ..services import ballot_closing
from ..services import ballots as services


def _manager(request: HttpRequest, pk: int) -> BallotAccess:
    access = ballot_access(request.user, pk, services.current_time())
    if not access.can_manage:
        raise Http404
    return access


def _edit_url(pk: int, anchor: str = "") -> str:
    return reverse("ballot_edit", args=[pk]) + (f"#{anchor}" if anchor else "")


def _member_choices() -> list[tuple[str, str]]:
    return [(u.username, f"{u.get_full_name()} — {u.position}" if u.position else u.get_full_name())
            for u in services.default_recipients()]


MEETING_CHOICES_MAX = 200  # docs/limits.md: the session list of the ballot form


def _meeting_label(meeting) -> str:
    return f"{meeting.title} — {timezone.localtime(meeting.starts_at):%d/%m/%Y}"


def _meeting_choices(user, ballot: Ballot | None = None) -> list[tuple[int, str]]:
    """The sessions the ballot form offers: the most recent ones the user may link to, and the
    ballot's current session whatever it is (keeping it needs no right; changing it does) — named
    only if the user may see it."""
    choices = [(m.pk, _meeting_label(m))
               for m in linkable_meetings(user).order_by("-starts_at", "-id")[:MEETING_CHOICES_MAX]]
    if ballot is not None and ballot.meeting_id and all(pk != ballot.meeting_id for pk, _label in choices):
        label = (_meeting_label(ballot.meeting) if linked_meeting_visible(user, ballot)
                 else _("Session no. %(id)s (not one of yours)") % {"id": ballot.meeting_id})
        choices.insert(0, (ballot.meeting_id, label))
    return choices


def _blockers(ballot: Ballot, questions: list, documents: list, recipients: int) -> list[str]:
    """What is still missing before the ballot can be issued (the service has the final word)."""
    blockers = []
    if ballot.deadline <= services.current_time():
        blockers.append(_("Set a deadline in the future."))
    if not questions:
        blockers.append(_("Add at least one question."))
    if not documents:
        blockers.append(_("Attach at least one draft."))
    if not recipients:
        blockers.append(_("Choose at least one recipient."))
    return blockers


@login_required
def ballot_create(request: HttpRequest) -> HttpResponse:
    if not can_create_ballot(request.user):
        raise Http404
    form = BallotForm(request.POST or None, meeting_choices=_meeting_choices(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            ballot = services.ballot_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            report_error(request, exc)
        else:
            messages.success(request, _("The ballot was created as a draft, addressed to every member of the "
                                        "Government. Now add the questions and the drafts."))
            return redirect("ballot_edit", pk=ballot.pk)
    return render(request, "ballots/create.html", {"form": form})


@login_required
@domain_errors
def ballot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _manager(request, pk)
    access = services.ballot_view(actor=request.user, ballot_id=pk, what="edit")
    ballot = access.ballot
    if ballot.status != Ballot.Status.DRAFT:
        return redirect("ballot_detail", pk=pk)
    questions = list(ballot.questions.order_by("position"))
    documents = list(ballot.documents.order_by("id"))
    chosen = list(ballot.recipients.select_related("user").order_by("user_id").values_list("user__username",
                                                                                             flat=True))
    local_deadline = timezone.localtime(ballot.deadline)
    return render(request, "ballots/edit.html", {
        "access": access, "ballot": ballot, "questions": questions, "documents": documents,
        "deadline": deadline_text(ballot),
        "details_form": BallotForm(initial={"title": ballot.title, "description": ballot.description,
                                            "deadline": local_deadline,
                                            "silence_is_consent": ballot.silence_is_consent,
                                            "meeting": ballot.meeting_id}, auto_id="details_%s",
                                   meeting_choices=_meeting_choices(request.user, ballot)),
        "question_form": QuestionForm(auto_id="question_%s"),
        "document_form": BallotDocumentForm(auto_id="document_%s"),
        "recipients_form": RecipientsForm(choices=_member_choices(), initial={"recipients": chosen},
                                          auto_id="recipients_%s"),
        "recipient_count": len(chosen),
        "blockers": _blockers(ballot, questions, documents, len(chosen)),
    })


@login_required
@require_POST
@domain_errors
def ballot_update(request: HttpRequest, pk: int) -> HttpResponse:
    access = _manager(request, pk)
    form = BallotForm(request.POST, meeting_choices=_meeting_choices(request.user, access.ballot))
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        services.ballot_update(actor=request.user, ballot=pk, **form.cleaned_data)
        messages.success(request, _("The details of the ballot were saved."))
    return redirect(_edit_url(pk, "details"))


@login_required
@require_POST
@domain_errors
def ballot_question_add(request: HttpRequest, pk: int) -> HttpResponse:
    _manager(request, pk)
    form = QuestionForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        question = services.ballot_question_add(actor=request.user, ballot=pk, text=form.cleaned_data["text"])
        messages.success(request, _("Question %(n)s was added.") % {"n": question.position})
    return redirect(_edit_url(pk, "questions"))


@login_required
@require_POST
@domain_errors
def ballot_question_remove(request: HttpRequest, pk: int, question: int) -> HttpResponse:
    _manager(request, pk)
    services.ballot_question_remove(actor=request.user, ballot=pk, question_id=question)
    messages.success(request, _("The question was removed."))
    return redirect(_edit_url(pk, "questions"))


@body_limit("upload")
@login_required
@require_POST
@domain_errors
def ballot_document_add(request: HttpRequest, pk: int) -> HttpResponse:
    limits.check_upload(request.user, request.META)  # before the body is parsed
    _manager(request, pk)
    form = BallotDocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        document = services.ballot_document_add(actor=request.user, ballot=pk, title=form.cleaned_data["title"],
                                                upload=form.cleaned_data["file"])
        messages.success(request, _("“%(title)s” was attached (%(pages)s pages).")
                         % {"title": document.title, "pages": document.pages})
    return redirect(_edit_url(pk, "drafts"))


@login_required
@require_POST
@domain_errors
def ballot_document_remove(request: HttpRequest, pk: int, doc: int) -> HttpResponse:
    _manager(request, pk)
    services.ballot_document_remove(actor=request.user, ballot=pk, document_id=doc)
    messages.success(request, _("The draft was removed from the ballot."))
    return redirect(_edit_url(pk, "drafts"))


@login_required
@require_POST
@domain_errors
def ballot_recipients(request: HttpRequest, pk: int) -> HttpResponse:
    _manager(request, pk)
    form = RecipientsForm(request.POST, choices=_member_choices())
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        users = services.ballot_recipients_set(actor=request.user, ballot=pk,
                                               usernames=form.cleaned_data["recipients"])
        messages.success(request, _("The ballot will be sent to %(n)s members.") % {"n": len(users)})
    return redirect(_edit_url(pk, "recipients"))


@login_required
@require_POST
@domain_errors
def ballot_issue(request: HttpRequest, pk: int) -> HttpResponse:
    _manager(request, pk)
    try:
        ballot = services.ballot_issue(actor=request.user, ballot=pk)
    except DomainError as exc:
        if exc.status == 404:
            raise
        report_error(request, exc)
        return redirect(_edit_url(pk, "issue"))
    messages.success(request, _("The ballot was issued; %(n)s members were notified in the app and by e-mail.")
                     % {"n": ballot.recipients.count()})
    return redirect("ballot_detail", pk=pk)


@login_required
@require_POST
@domain_errors
def ballot_close(request: HttpRequest, pk: int) -> HttpResponse:
    _manager(request, pk)
    try:
        ballot_closing.ballot_close(actor=request.user, ballot=pk)
    except DomainError as exc:
        if exc.status == 404:
            raise
        report_error(request, exc)
        return redirect("ballot_detail", pk=pk)
    messages.success(request, _("The ballot is closed; its summary is final."))
    return redirect("ballot_summary", pk=pk)
