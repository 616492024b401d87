"""The members' side: my ballots, a ballot with its drafts and my answers, the watermarked drafts,
and the summary (screen and PDF)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecabinet import limits
from ecabinet.converters import whole_number
from ecabinet.errors import DomainError, NotFound, ValidationFailed
from ecabinet.hardening import framed_by_self
from ecabinet.screens import domain_errors, report_error

from ..ballot_downloads import ballot_document_response, pdf_response
from ..ballot_notices import deadline_text
from ..ballot_serializers import ballot_rows
from ..ballot_summary import summarize
from ..forms import AnswersForm, choice_name, opinion_name
from ..models import BallotAnswer, BallotAnswerRevision
from ..pdf import render_summary_pdf
from ..permissions import BallotAccess, ballot_access, can_create_ballot
from ..services import ballot_answers, ballot_closing
from ..services import ballots as services


@login_required
def ballot_list(request: HttpRequest) -> HttpResponse:
    ballots = services.ballots_list(actor=request.user)
    by_id = {b.pk: b for b in ballots}
    rows = [{**row, "ballot": by_id[row["id"]]} for row in ballot_rows(ballots, request.user, services.current_time())]
    return render(request, "ballots/list.html", {
        "open_rows": [r for r in rows if r["status"] == "open" and not r["is_closed"]],
        "draft_rows": [r for r in rows if r["status"] == "draft"],
        "closed_rows": [r for r in rows if r["is_closed"]],
        "can_create": can_create_ballot(request.user),
    })


@dataclass
class QuestionBlock:
    """One question on the ballot page: its form fields and the member's current answer."""

    question: object
    choice: object = None
    opinion: object = None
    answer: BallotAnswer | None = None
    history: list[BallotAnswerRevision] = field(default_factory=list)


def _blocks(access: BallotAccess, questions: list, form: AnswersForm | None) -> list[QuestionBlock]:
    answers = {}
    history: dict[int, list] = {}
    if access.is_recipient:
        answers = {a.question_id: a for a in BallotAnswer.objects.filter(question__in=questions, member=access.user)}
        for rev in BallotAnswerRevision.objects.filter(answer__in=answers.values()).order_by("-replaced_at", "-id"):
            history.setdefault(rev.answer_id, []).append(rev)
    blocks = []
    for q in questions:
        answer = answers.get(q.pk)
        block = QuestionBlock(question=q, answer=answer, history=history.get(answer.pk, []) if answer else [])
        if form is not None:
            block.choice, block.opinion = form[choice_name(q)], form[opinion_name(q)]
        blocks.append(block)
    return blocks


def _answers_form(access: BallotAccess, questions: list, data=None) -> AnswersForm | None:
    if not access.can_answer:
        return None
    initial = {}
    for a in BallotAnswer.objects.filter(question__in=questions, member=access.user).select_related("question"):
        initial[choice_name(a.question)] = a.choice
        initial[opinion_name(a.question)] = a.opinion
    return AnswersForm(data, questions=questions, initial=initial, auto_id="id_%s")


def _render_detail(request: HttpRequest, access: BallotAccess, form: AnswersForm | None = None,
                   status: int = 200) -> HttpResponse:
    ballot = access.ballot
    questions = list(ballot.questions.order_by("position"))
    documents = list(ballot.documents.order_by("id"))
    if form is None:
        form = _answers_form(access, questions)
    shown = documents[0] if documents else None
    wanted = request.GET.get("doc", "")
    if whole_number(wanted) is not None:
        shown = next((d for d in documents if d.pk == int(wanted)), shown)
    pending = {u.pk for u in ballot_closing.incomplete_recipients(ballot)} if access.can_manage else set()
    people = ([(r.user, r.user_id not in pending) for r in ballot.recipients.select_related("user").order_by("user_id")]
              if access.can_manage and ballot.status != "draft" else [])
    blocks = _blocks(access, questions, form)
    return render(request, "ballots/detail.html", {
        "access": access, "ballot": ballot, "documents": documents, "shown": shown, "blocks": blocks, "form": form,
        "answered": sum(1 for b in blocks if b.answer), "deadline": deadline_text(ballot),
        "people": people, "complete_count": sum(1 for _u, done in people if done),
    }, status=status)


@login_required
@domain_errors
def ballot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = services.ballot_view(actor=request.user, ballot_id=pk)
    if access.can_edit:
        return redirect("ballot_edit", pk=pk)
    return _render_detail(request, access)


@login_required
@require_POST
@domain_errors
def ballot_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the answers given on the ballot page. A missing opinion re-renders the page with what
    the member wrote and the error beside the question (nothing is saved: all or nothing)."""
    limits.check("ballot_answers", request.user)
    access = ballot_access(request.user, pk, services.current_time())
    questions = list(access.ballot.questions.order_by("position"))
    form = _answers_form(access, questions, request.POST)
    if form is None:
        if access.is_recipient:
            report_error(request, services.closed_error())
            return redirect("ballot_detail", pk=pk)
        raise Http404
    if form.is_valid():
        try:
            ballot_answers.ballot_answer(actor=request.user, ballot=access.ballot, answers=form.answers())
        except NotFound:
            raise
        except ValidationFailed as exc:
            question = exc.params.get("question")
            target = next((q for q in questions if q.pk == question), None)
            form.add_error(opinion_name(target) if target else None, str(exc.message))
        except DomainError as exc:
            report_error(request, exc)
            return redirect("ballot_detail", pk=pk)
        else:
            messages.success(request, _("Your answers were saved. You may change them until %(deadline)s.")
                             % {"deadline": deadline_text(access.ballot)})
            return redirect("ballot_detail", pk=pk)
    messages.error(request, _("Your answers were not saved: see the questions marked below."),
                   extra_tags="invalid_form")
    return _render_detail(request, access, form=form, status=400)


@login_required
@framed_by_self  # the ballot page shows the draft in an <iframe> of the same site
@domain_errors
def ballot_document_file(request: HttpRequest, pk: int, doc: int) -> HttpResponse:
    return ballot_document_response(request, pk, doc, inline=request.GET.get("inline") == "1")


@login_required
@domain_errors
def ballot_summary(request: HttpRequest, pk: int) -> HttpResponse:
    access = services.ballot_view(actor=request.user, ballot_id=pk, what="summary")
    summary = summarize(access.ballot, services.current_time())
    return render(request, "ballots/summary.html", {
        "access": access, "ballot": access.ballot, "summary": summary, "deadline": deadline_text(access.ballot),
    })


@login_required
@domain_errors
def ballot_summary_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    access = services.ballot_view(actor=request.user, ballot_id=pk, what="summary_pdf")
    now = services.current_time()
    data, _html = render_summary_pdf(summarize(access.ballot, now), generated_at=now)
    name = f"tong-hop-y-kien-{slugify(access.ballot.title)[:60] or access.ballot.pk}.pdf"
    return pdf_response(data, name, inline=request.GET.get("inline") == "1")
