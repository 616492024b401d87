"""Screens of the decision follow-up register (issue 18), mounted at the site's root by
``ecabinet.urls``:

* ``/tasks/`` (``task_list``) — the register: the tasks the caller may see, filtered and paged,
  by deadline;
* ``/tasks/<id>/`` (``task_detail``) — a task, the decision it comes from, its history and the
  forms of what the caller may do now;
* ``/tasks/<id>/<action>/`` (``task_action``) — POST: start, report, accept, return, extend, cancel;
* ``/tasks/<id>/reports/`` (``task_report_post``) — POST: the lead ministry's progress report or
  report of completion, with PDFs (``followup.reports``; the page offers this form, not the bare
  "report" action, which stays for older clients);
* ``/tasks/new/?source_kind=…&source_id=…`` (``task_new``) — the secretariat assigns a task.

Views parse a form, call one service (``followup.services``) and redirect with a message, or
re-render the page with the error beside the field (status 400). Who may see and do what is
``followup.permissions``; a task the caller may not see is the same 404 as a missing one, asked
before any input is read.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ecabinet import limits
from ecabinet.converters import whole_number
from ecabinet.errors import DomainError, NotFound, UploadRejected, ValidationFailed
from ecabinet.http_limits import body_limit
from ecabinet.models import Ministry
from ecabinet.screens import domain_errors, report_error
from meetings.models import Meeting
from voting.models import Ballot
from voting.permissions import closed_filter

from . import reports, selectors, services
from .forms import ACTION_FORMS, FilterForm, ReportForm, TaskForm
from .models import Task
from .permissions import (
    SESSION_HELD,
    TaskAccess,
    can_create_task,
    may_export_register,
    may_see_dashboard,
    task_access,
)

# action → (service, the service's keyword for each form field, button label, message after success)
ACTIONS = {
    "start": (services.task_start, {}, gettext_lazy("Start the work"), gettext_lazy("The work has started.")),
    "report": (services.task_report, {"note": "note"}, gettext_lazy("Report it done"),
               gettext_lazy("The task was reported done; the Office of the Government will review it.")),
    "accept": (services.task_accept, {"note": "note"}, gettext_lazy("Accept as done"),
               gettext_lazy("The task was accepted as done.")),
    "return": (services.task_return, {"reason": "reason"}, gettext_lazy("Return to the ministry"),
               gettext_lazy("The task was returned to the ministry.")),
    "extend": (services.task_extend, {"reason": "reason", "deadline": "deadline"}, gettext_lazy("Extend the deadline"),
               gettext_lazy("The deadline was extended.")),
    "cancel": (services.task_cancel, {"reason": "reason"}, gettext_lazy("Cancel the task"),
               gettext_lazy("The task was cancelled.")),
}
# the action forms the task page offers, in order ("report" done is the report form's second kind)
ORDER = ("start", "accept", "return", "extend", "cancel")


def _ministries() -> list[Ministry]:
    return list(Ministry.objects.order_by("name"))


# --- the register ----------------------------------------------------------------------------------


def _page_url(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return "?" + query.urlencode()


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    """Six queries whatever the number of tasks: the ministries and the sessions of the filter, the
    count, one page with its links joined, the page's co-operating ministries, and the header's
    question whether to show the register (``tests/followup/test_views.py`` holds it)."""
    form = FilterForm(request.GET or None, ministries=_ministries(),
                      meetings=selectors.sessions_with_tasks(request.user))
    data: dict = {}
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
        else:
            messages.error(request, _("A filter has a value that cannot be used; it was left out."),
                           extra_tags="invalid_filter")
            data = {name: form.cleaned_data.get(name) for name in form.fields if name not in form.errors}
    filters = selectors.TaskFilters(
        ministry=data.get("ministry") or None, meeting=data.get("meeting"), state=data.get("state") or None,
        deadline_before=data.get("deadline_before"), deadline_after=data.get("deadline_after"),
        overdue=True if data.get("overdue") else None)
    today = services.today()
    tasks = selectors.tasks_filtered(request.user, filters, today)
    size = settings.TASKS_PAGE_SIZE
    count = tasks.count()
    pages = max(1, -(-count // size))
    page = min(data.get("page") or 1, pages)
    rows = [{"task": task, "overdue": selectors.is_overdue(task, today)}
            for task in selectors.with_links(tasks)[(page - 1) * size: page * size]]
    return render(request, "followup/list.html", {
        "form": form, "rows": rows, "count": count, "page": page, "pages": pages,
        "previous_url": _page_url(request, page - 1) if page > 1 else None,
        "next_url": _page_url(request, page + 1) if page < pages else None,
        "filtered": any(v for k, v in data.items() if k != "page"),
        "can_create": can_create_task(request.user),
        "can_see_dashboard": may_see_dashboard(request.user), "can_export": may_export_register(request.user),
        # the same filters for the dashboard and the CSV (whose "overdue" is true/false, not a checkbox)
        "export_query": urlencode([(k, "true" if k == "overdue" else v) for k, v in request.GET.items()
                                   if k != "page" and v]),
    })


# --- a task ----------------------------------------------------------------------------------------


def actions_now(access: TaskAccess) -> list[str]:
    """The actions the caller's standing allows (``TaskAccess.actions``) that the task's state allows
    too (``services.TRANSITIONS``); a regular task has no deadline to extend."""
    task = access.task
    allowed = set(access.actions())
    return [a for a in ORDER if a in allowed and task.state in services.TRANSITIONS[a][0]
            and not (a == "extend" and task.regular)]


def _action_forms(access: TaskAccess, bound: tuple[str, object] | None = None) -> list[dict]:
    forms = []
    for action in actions_now(access):
        form_class = ACTION_FORMS[action]
        form = None
        if form_class is not None:
            form = bound[1] if bound and bound[0] == action else form_class(prefix=action)
        forms.append({"action": action, "form": form, "label": ACTIONS[action][2],
                      "url": reverse("task_action", args=[access.task.pk, action])})
    return forms


def _report_form(access: TaskAccess, bound: tuple[str, object] | None) -> ReportForm | None:
    """The report form, for those who may report while the task takes reports."""
    if not access.may_report or access.task.state not in services.TRANSITIONS["report"][0]:
        return None
    return bound[1] if bound and bound[0] == "reports" else ReportForm(prefix="reports")


def _render_task(request: HttpRequest, access: TaskAccess, bound=None, status: int = 200) -> HttpResponse:
    task = selectors.with_links(Task.objects.filter(pk=access.task.pk)).select_related("created_by").get()
    today = services.today()
    return render(request, "followup/detail.html", {
        "task": task, "access": access, "overdue": selectors.is_overdue(task, today),
        "history": selectors.task_history(task), "action_forms": _action_forms(access, bound),
        "reports": [{**r, "at": datetime.fromisoformat(r["at"])} for r in selectors.reports_of(task)],
        "report_form": _report_form(access, bound),
    }, status=status)


def _access_or_404(user, pk: int) -> TaskAccess:
    try:
        return task_access(user, pk)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_task(request, _access_or_404(request.user, pk))


def _invalid(request: HttpRequest, access: TaskAccess, action: str, form) -> HttpResponse:
    messages.error(request, _("Nothing was changed: see the form marked below."), extra_tags="invalid_form")
    return _render_task(request, access, (action, form), status=400)


@login_required
@require_POST
@domain_errors
def task_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One transition. Who may is asked before the body is read (404 for a task the caller may not
    see, 403 for an action their standing does not allow); a bad input re-renders the task with the
    error beside the field and changes nothing; a refused state is a message on the task page."""
    if action not in ACTIONS:
        raise Http404
    access = _access_or_404(request.user, pk)
    if not access.may(action):
        raise PermissionDenied  # a form this caller is never offered: 403, not a message
    here = reverse("task_detail", args=[pk])
    try:
        limits.check("task_writes", request.user)
    except limits.RateLimited as exc:
        report_error(request, exc)
        return redirect(here)
    service, fields, _label, done = ACTIONS[action]
    form_class = ACTION_FORMS[action]
    form = form_class(request.POST, prefix=action) if form_class else None
    if form is not None and not form.is_valid():
        return _invalid(request, access, action, form)
    kwargs = {arg: form.cleaned_data[name] for name, arg in fields.items()} if form else {}
    try:
        service(actor=request.user, task=pk, **kwargs)
    except ValidationFailed as exc:
        if form is None:
            raise
        field = exc.params.get("field")
        form.add_error(field if field in form.fields else None, str(exc.message))
        return _invalid(request, access, action, form)
    except NotFound:
        raise
    except DomainError as exc:
        report_error(request, exc)
        return redirect(here)
    messages.success(request, str(done))
    return redirect(here)


@body_limit("upload")
@login_required
@require_POST
@domain_errors
def task_report_post(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead ministry's report with its PDFs. Who may is asked before the body is parsed (404 for
    a task the caller may not see, 403 for one they may not report on), then the rate limits; the
    files are inspected by the service outside any transaction; a refusal re-renders the page with
    the reason beside the field and stores nothing."""
    access = _access_or_404(request.user, pk)
    if not access.may_report:
        raise PermissionDenied
    here = reverse("task_detail", args=[pk])
    try:
        limits.check("task_writes", request.user)
        limits.check_upload(request.user, request.META)
    except limits.RateLimited as exc:
        report_error(request, exc)
        return redirect(here)
    form = ReportForm(request.POST, request.FILES, prefix="reports")
    if not form.is_valid():
        return _invalid(request, access, "reports", form)
    post = reports.task_report_done if form.cleaned_data["kind"] == "done" else reports.task_report_progress
    try:
        post(actor=request.user, task=pk, text=form.cleaned_data["text"], files=form.cleaned_data["files"])
    except (ValidationFailed, UploadRejected) as exc:  # the input: said beside the field, the text kept
        field = {"text": "text", "files": "files"}.get(exc.params.get("field"),
                                                       "files" if isinstance(exc, UploadRejected) else None)
        form.add_error(field, str(exc.message))
        return _invalid(request, access, "reports", form)
    except NotFound:
        raise
    except DomainError as exc:
        report_error(request, exc)
        return redirect(here)
    messages.success(request, _("The task was reported done; the Office of the Government will review it.")
                     if form.cleaned_data["kind"] == "done" else _("Your progress report was recorded."))
    return redirect(here + "#reports")


# --- assigning a task ------------------------------------------------------------------------------


def _source_param(request: HttpRequest) -> tuple[str, int]:
    kind = request.GET.get("source_kind", "")
    source_id = whole_number(request.GET.get("source_id", ""))
    if kind not in Task.Source.values or source_id is None:
        raise Http404
    return kind, source_id


def source_url(source: selectors.SourceShown) -> str | None:
    """Where the decision is shown: the session (at the agenda item) or the written ballot."""
    if source.ballot is not None:
        return reverse("ballot_detail", args=[source.ballot.pk])
    return reverse("meeting_detail", args=[source.meeting.pk]) if source.meeting else None


CHOICES_SHOWN = 50  # docs/limits.md: the decisions the "New task" page offers


def _choose_source(request: HttpRequest) -> HttpResponse:
    """A task comes from a decision: the latest sessions held and closed written ballots to pick from."""
    now = services.current_time()
    return render(request, "followup/choose.html", {
        "sessions": list(Meeting.objects.filter(status__in=SESSION_HELD).order_by("-starts_at", "-id")[:CHOICES_SHOWN]),
        "ballots": list(Ballot.objects.filter(closed_filter(now)).order_by("-deadline", "-id")[:CHOICES_SHOWN]),
    })


@login_required
def task_new(request: HttpRequest) -> HttpResponse:
    """The secretariat assigns a task from the decision named in the query. The screen does not exist
    for anyone else (404, asked before the body is read)."""
    if not can_create_task(request.user):
        raise Http404
    if request.method == "GET" and "source_kind" not in request.GET:
        return _choose_source(request)
    kind, source_id = _source_param(request)
    source = selectors.source_shown(kind, source_id)
    if source is None:
        raise Http404
    ministries = _ministries()
    form = TaskForm(request.POST or None, ministries=ministries)
    refused = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            limits.check("task_writes", request.user)
            task = services.task_create(
                actor=request.user, source_kind=kind, source_id=source_id, title=data["title"],
                description=data["description"], lead_ministry=data["lead_ministry"],
                co_ministries=data["co_ministries"], deadline=None if data["regular"] else data["deadline"],
                regular=data["regular"], priority=data["priority"])
        except ValidationFailed as exc:
            field = exc.params.get("field")
            form.add_error(field if field in form.fields else None, str(exc.message))
        except DomainError as exc:
            report_error(request, exc)
            refused = True
        else:
            messages.success(request, _("The task was assigned to %(ministry)s.")
                             % {"ministry": task.lead_ministry.name})
            return redirect("task_detail", pk=task.pk)
    if form.is_bound and form.errors:
        messages.error(request, _("The task was not assigned: see the fields marked below."),
                       extra_tags="invalid_form")
    return render(request, "followup/new.html", {
        "form": form, "source": source, "source_url": source_url(source),
        "action_url": reverse("task_new") + "?" + urlencode({"source_kind": kind, "source_id": source_id}),
    }, status=400 if form.is_bound and (form.errors or refused) else 200)
