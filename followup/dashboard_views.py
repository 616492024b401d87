"""The follow-up dashboard's screens (issue 18 §4), for the secretariat and the chair:

* ``/tasks/dashboard/`` — the filter, the key figures, the charts (inline SVG) and their tables;
* ``/tasks/export.csv`` — the filtered register as CSV (whoever may open the register: their rows);
* ``/tasks/report.pdf`` — the report in Vietnamese administrative style;
* ``POST /tasks/proposed-item/<meeting>/`` — the secretariat adds "Báo cáo tình hình thực hiện nhiệm
  vụ" to a session in preparation (``meetings.services.agenda_item_add``).

Who may: ``followup.permissions`` (``may_see_dashboard``, ``may_export_register``,
``may_see_proposed_item``), asked before anything else is read; a signed-in account that may not
gets 403. The figures are always of ``tasks_visible_to(user)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ecabinet import limits
from ecabinet.errors import Conflict, ValidationFailed
from ecabinet.models import Ministry
from ecabinet.screens import domain_errors, safe_next
from meetings.models import Meeting
from meetings.pdfcheck import work_slot

from . import charts, services
from . import dashboard as figures
from .dashboard_filters import FILTER_NAMES, TaskFilterForm, filters_or_400
from .models import Task
from .permissions import may_export_register, may_see_dashboard, may_see_proposed_item, tasks_visible_to
from .proposed import PROPOSED_ITEM_TITLE, proposed_item
from .report import csv_lines, report_pdf
from .selectors import TaskFilters, tasks_filtered

__all__ = ["proposed_item_add", "tasks_dashboard", "tasks_export_csv", "tasks_report_pdf"]


def _query(form: TaskFilterForm) -> str:
    """The valid filters as a query string, for the export links."""
    if not form.is_bound or not form.is_valid():
        return ""
    pairs = [(name, form.data.get(name)) for name in FILTER_NAMES if form.data.get(name)]
    return urlencode(pairs)


def _filters_text(filters: TaskFilters, user) -> list[str]:
    """The filters as Vietnamese phrases for the PDF's heading (names looked up: one query at most each).
    A session is named only if the reader sees one of its tasks: the heading names no session the
    register would not show them (a security review's finding); otherwise its number."""
    out = []
    if filters.ministry:
        name = Ministry.objects.filter(code=filters.ministry).values_list("name", flat=True).first()
        out.append(f"Bộ, cơ quan: {name or filters.ministry}")
    if filters.meeting is not None:
        seen = tasks_visible_to(user).filter(meeting_id=filters.meeting).values("meeting_id")
        title = Meeting.objects.filter(pk__in=seen).values_list("title", flat=True).first()
        out.append(f"Phiên họp: {title or filters.meeting}")
    if filters.state:
        out.append(f"Trạng thái: {Task.State(filters.state).label}")
    if filters.deadline_after:
        out.append(f"Hạn từ ngày {filters.deadline_after:%d/%m/%Y}")
    if filters.deadline_before:
        out.append(f"Hạn đến ngày {filters.deadline_before:%d/%m/%Y}")
    if filters.overdue is not None:
        out.append("Chỉ nhiệm vụ quá hạn" if filters.overdue else "Không gồm nhiệm vụ quá hạn")
    return out


@login_required
@require_GET
def tasks_dashboard(request: HttpRequest) -> HttpResponse:
    if not may_see_dashboard(request.user):
        raise PermissionDenied
    today = services.today()
    visible = tasks_visible_to(request.user)
    form = TaskFilterForm(request.GET or None, visible=visible, auto_id="f_%s")
    filters = TaskFilters()
    if form.is_bound:
        if form.is_valid():
            filters = form.task_filters()
        else:
            messages.error(request, _("Some filters cannot be used; the figures below are not filtered."),
                           extra_tags="invalid_filter")
    tasks = tasks_filtered(request.user, filters, today)
    board = figures.dashboard(tasks, today)
    query = _query(form)
    return render(request, "followup/dashboard.html", {
        "form": form, "board": board, "totals": board.totals, "today": today,
        "states": [(value, label, board.totals.by_state[value]) for value, label in Task.State.choices],
        "month_chart": charts.month_chart(board.months), "ministry_chart": charts.ministry_chart(board.ministries),
        "series": charts.SERIES, "query": query, "due_soon_days": settings.DASHBOARD_DUE_SOON_DAYS,
        "csv_url": reverse("tasks_export_csv") + (f"?{query}" if query else ""),
        "pdf_url": reverse("tasks_report_pdf") + (f"?{query}" if query else ""),
    })


def _bad_filter(error: ValidationFailed) -> HttpResponse:
    return HttpResponse(f"{error.code}: {error.message}", status=400, content_type="text/plain; charset=utf-8")


def _refused(error, status: int) -> HttpResponse:
    """A refusal of the PDF report (rate limit, busy): its code and words, and when to try again."""
    response = HttpResponse(f"{error.code}: {error.message}", status=status, content_type="text/plain; charset=utf-8")
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


async def _batches(lines: Iterator[str], size: int = 500) -> AsyncIterator[str]:
    """``lines`` as an asynchronous iterator of ``size``-line chunks, each read by the thread that
    holds the request's database connection."""
    chunk = sync_to_async(lambda: "".join(islice(lines, size)), thread_sensitive=True)
    while text := await chunk():
        yield text


@login_required
@require_GET
def tasks_export_csv(request: HttpRequest) -> HttpResponse:
    if not may_export_register(request.user):
        raise PermissionDenied
    try:
        filters = filters_or_400(request.GET)
    except ValidationFailed as error:
        return _bad_filter(error)
    today = services.today()
    tasks = tasks_filtered(request.user, filters, today)
    lines = csv_lines(tasks, today)
    # Under ASGI (Daphne) Django would read a plain iterator to its end before sending anything:
    # hand it batches read in the request's thread instead, so the file really streams.
    content = _batches(lines) if isinstance(request, ASGIRequest) else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="nhiem-vu-{today:%Y%m%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@transaction.non_atomic_requests
@login_required
@require_GET
def tasks_report_pdf(request: HttpRequest) -> HttpResponse:
    if not may_see_dashboard(request.user):
        raise PermissionDenied
    try:
        filters = filters_or_400(request.GET)
    except ValidationFailed as error:
        return _bad_filter(error)
    try:
        limits.check("pdf_reports", request.user)
    except limits.RateLimited as refusal:
        return _refused(refusal, 429)
    # WeasyPrint holds the interpreter for the whole render: at most the slots for slow PDF work at
    # once in this process, so a few readers asking for reports cannot take every request thread
    slot = work_slot()
    if not slot.acquire(timeout=max(0, settings.PDF_INSPECT_QUEUE_SECONDS)):
        busy = Conflict(_("Other reports are being prepared; try again in a moment."), code="report_busy",
                        status=503)
        busy.retry_after = max(1, settings.PDF_INSPECT_RETRY_AFTER_SECONDS)
        return _refused(busy, 503)
    try:
        today = services.today()
        tasks = tasks_filtered(request.user, filters, today)
        data, _html = report_pdf(tasks, today=today, generated_at=services.current_time(),
                                 filters_text=_filters_text(filters, request.user))
    finally:
        slot.release()
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if request.GET.get("inline") == "1" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="bao-cao-nhiem-vu-{today:%Y%m%d}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@domain_errors
def proposed_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the follow-up report to the agenda of session ``pk`` (the secretariat; the agenda service
    checks that the caller manages the session and that it is still in preparation)."""
    if not may_see_proposed_item(request.user):
        raise PermissionDenied
    meeting = Meeting.objects.filter(pk=pk).first()
    if meeting is None:
        raise Http404
    back = safe_next(request, reverse("meeting_prepare", args=[pk]))
    proposal = proposed_item(request.user, meeting, services.today())
    if proposal.on_agenda:
        messages.info(request, _("The follow-up of tasks is already on the agenda."))
        return redirect(back)
    # the service asks who manages the session (404 / 403) and whether it is in preparation (a message)
    item = services.proposed_item_add(actor=request.user, meeting=meeting, title=PROPOSED_ITEM_TITLE,
                                      description=proposal.description())
    if item is None:  # added by another press meanwhile
        messages.info(request, _("The follow-up of tasks is already on the agenda."))
        return redirect(back)
    messages.success(request, _("Agenda item %(n)s was added.") % {"n": item.position})
    return redirect(f"{back.split('#')[0]}#item-{item.pk}")
