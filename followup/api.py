"""API v1 for decision follow-up tasks (issue 18), mounted under ``/api/v1/`` by ``ecabinet.api.urls``.

* ``GET /tasks/`` — the tasks the caller may see, filtered (``ministry``, ``meeting``, ``state``,
  ``deadline_before``, ``deadline_after``, ``overdue``) and paged (``page``, ``page_size`` ≤
  ``TASKS_PAGE_MAX``): four queries whatever the number of tasks (``followup.selectors``);
* ``POST /tasks/`` — the secretariat assigns a task from a decision;
* ``GET /tasks/{id}/`` — a task, its history and what the caller may do with it;
* ``POST /tasks/{id}/start|report|accept|return|extend|cancel/`` — the transitions
  (``followup.services``).

Views parse input, call one service, and shape the answer; failures are domain exceptions, turned
into ``{"code", "detail"}`` by ``ecabinet.api.errors``. Every POST is ``@idempotent``. A task the
caller may not see answers 404, exactly like a missing one.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)
from ecabinet.api.idempotency import idempotent
from ecabinet.api.input import validated
from ecabinet.converters import whole_number
from ecabinet.errors import ValidationFailed

from . import selectors, services
from .models import Task
from .permissions import task_access
from .reports_api import TaskReportOutSerializer, TaskWriteRate

TAG = ["tasks"]

MINISTRY = inline_serializer("TaskMinistry", {"code": serializers.CharField(), "name": serializers.CharField(),
                                              "short_name": serializers.CharField()})
ROW = {
    "id": serializers.IntegerField(),
    "title": serializers.CharField(),
    "meeting": inline_serializer("TaskMeeting", {"id": serializers.IntegerField(), "title": serializers.CharField()},
                                 allow_null=True, help_text="the session (null: a ballot's task, no session)"),
    "source": inline_serializer("TaskSource", {
        "kind": serializers.ChoiceField(choices=Task.Source.choices), "kind_text": serializers.CharField(),
        "id": serializers.IntegerField(help_text="the agenda item, motion, ballot, or (resolution) session"),
        "title": serializers.CharField()}),
    "lead_ministry": MINISTRY,
    "co_ministries": inline_serializer("TaskCoMinistry", {"code": serializers.CharField(),
                                                          "name": serializers.CharField(),
                                                          "short_name": serializers.CharField()}, many=True),
    "regular": serializers.BooleanField(help_text="a regular task has no deadline"),
    "deadline": serializers.DateField(allow_null=True),
    "priority": serializers.ChoiceField(choices=Task.Priority.choices),
    "state": serializers.ChoiceField(choices=Task.State.choices),
    "state_text": serializers.CharField(),
    "overdue": serializers.BooleanField(help_text="dated, still with the ministry, deadline passed"),
    "created_at": serializers.DateTimeField(),
    "url": serializers.CharField(),
}
TaskPage = inline_serializer("TaskPage", {
    "count": serializers.IntegerField(), "page": serializers.IntegerField(), "page_size": serializers.IntegerField(),
    "pages": serializers.IntegerField(), "results": inline_serializer("TaskRowItem", ROW, many=True)})
TaskDetail = inline_serializer("TaskDetail", {
    **ROW,
    "description": serializers.CharField(),
    "created_by": serializers.CharField(),
    "reported_at": serializers.DateTimeField(allow_null=True),
    "closed_at": serializers.DateTimeField(allow_null=True),
    "my_actions": serializers.ListField(child=serializers.CharField(),
                                        help_text="what the caller's standing allows: start, report, accept, "
                                                  "return, extend, cancel (the state may still refuse)"),
    "history": inline_serializer("TaskChangeOut", {
        "kind": serializers.ChoiceField(choices=["created", "started", "reported", "accepted", "returned",
                                                 "extended", "cancelled"]),
        "kind_text": serializers.CharField(), "at": serializers.DateTimeField(), "actor": serializers.CharField(),
        "from_state": serializers.CharField(allow_null=True), "to_state": serializers.CharField(),
        "reason": serializers.CharField(), "old_deadline": serializers.DateField(allow_null=True),
        "new_deadline": serializers.DateField(allow_null=True)}, many=True),
    "reports": TaskReportOutSerializer(many=True, help_text="the lead ministry's reports, oldest first "
                                                             "(GET|POST /tasks/{id}/reports/)"),
})


class TaskCreateSerializer(serializers.Serializer):
    source_kind = serializers.ChoiceField(choices=Task.Source.choices)
    source_id = serializers.IntegerField(min_value=1, max_value=10**18 - 1,
                                         help_text="the agenda item, the motion, the written ballot, or for "
                                                   "“resolution” the session")
    # blank passes here so that the service answers it with its own code, title_required
    title = serializers.CharField(max_length=settings.TASK_TITLE_MAX_CHARS, allow_blank=True)
    description = serializers.CharField(max_length=settings.DESCRIPTION_MAX_CHARS, required=False, allow_blank=True,
                                        default="")
    lead_ministry = serializers.SlugField(max_length=32, help_text="the ministry's code")
    # Counted by the service (400 too_many_ministries, TASK_MAX_CO_MINISTRIES); JSON_MAX_ITEMS bounds the body.
    co_ministries = serializers.ListField(child=serializers.SlugField(max_length=32), required=False, default=list)
    regular = serializers.BooleanField(required=False, default=False)
    deadline = serializers.DateField(required=False, allow_null=True, default=None)
    priority = serializers.ChoiceField(choices=Task.Priority.choices, required=False, default="normal")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=settings.TASK_REASON_MAX_CHARS, required=False, allow_blank=True,
                                 default="")


class ReportNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=settings.TASK_REPORT_TEXT_MAX_CHARS, required=False, allow_blank=True,
                                 default="", help_text="what was done (attachments: POST /tasks/{id}/reports/)")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=settings.TASK_REASON_MAX_CHARS, allow_blank=True)


class ExtendSerializer(ReasonSerializer):
    deadline = serializers.DateField()


def _bad(field: str) -> ValidationFailed:
    return ValidationFailed(_("The filter “%(field)s” has a value that cannot be used.") % {"field": field},
                            code="invalid_filter", field=field)


def _date(params, name: str) -> date | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        raise _bad(name) from None


def _filters(params) -> tuple[selectors.TaskFilters, int, int]:
    ministry = params.get("ministry") or None
    if ministry is not None and (len(ministry) > 32 or not ministry.replace("-", "").replace("_", "").isalnum()
                                 or not ministry.isascii()):
        raise _bad("ministry")
    meeting = params.get("meeting")
    if meeting is not None:
        meeting = whole_number(meeting)
        if meeting is None:
            raise _bad("meeting")
    state = params.get("state") or None
    if state is not None and state not in Task.State.values:
        raise _bad("state")
    before, after = _date(params, "deadline_before"), _date(params, "deadline_after")
    for name, value in (("deadline_before", before), ("deadline_after", after)):
        if params.get(name) and value is None:
            raise _bad(name)
    overdue = params.get("overdue")
    if overdue is not None:
        if overdue not in ("true", "false"):
            raise _bad("overdue")
        overdue = overdue == "true"
    page = whole_number(params.get("page", "1"), max_digits=6)
    if not page:
        raise _bad("page")
    size = whole_number(params.get("page_size", str(settings.TASKS_PAGE_SIZE)), max_digits=4)
    if not size or size > settings.TASKS_PAGE_MAX:
        raise _bad("page_size")
    return selectors.TaskFilters(ministry=ministry, meeting=meeting, state=state, deadline_before=before,
                                 deadline_after=after, overdue=overdue), page, size


FILTERS = [
    OpenApiParameter("ministry", OpenApiTypes.STR, description="a ministry's code: the tasks it leads or "
                                                               "co-operates on"),
    OpenApiParameter("meeting", OpenApiTypes.INT, description="a session's id"),
    OpenApiParameter("state", OpenApiTypes.STR, enum=Task.State.values),
    OpenApiParameter("deadline_before", OpenApiTypes.DATE, description="deadline on or before (regular tasks "
                                                                       "have none)"),
    OpenApiParameter("deadline_after", OpenApiTypes.DATE, description="deadline on or after"),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description="true: only overdue tasks; false: none of them"),
    OpenApiParameter("page", OpenApiTypes.INT, description="1-based"),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="default TASKS_PAGE_SIZE (50), at most "
                                                                "TASKS_PAGE_MAX (200)"),
]


def _detail(request, pk: int) -> dict:
    return selectors.task_detail(task_access(request.user, pk), services.today())


class TaskListView(APIView):
    throttle_classes = [TaskWriteRate]

    @extend_schema(tags=TAG, operation_id="tasks_list", parameters=FILTERS, responses=TaskPage,
                   summary="Tasks I may see: all for the secretariat; my ministry's; those of sessions I "
                           "attended or chaired; closed sessions' for archivists. 400 invalid_filter")
    def get(self, request):
        filters, page, size = _filters(request.query_params)
        today = services.today()
        tasks = selectors.tasks_filtered(request.user, filters, today)
        count = tasks.count()
        rows = selectors.with_links(tasks)[(page - 1) * size: page * size]
        return Response({"count": count, "page": page, "page_size": size, "pages": -(-count // size),
                         "results": [selectors.task_row(task, today) for task in rows]})

    @extend_schema(tags=TAG, operation_id="tasks_create", request=TaskCreateSerializer, responses={201: TaskDetail},
                   summary="Assign a task from a decision (secretariat): an agenda item or a voted motion of a "
                           "session held, the resolution of a closed session, a closed written ballot")
    @idempotent
    def post(self, request):
        services.require_creator(request.user)  # 403 before the body is looked at
        data = validated(TaskCreateSerializer, request)
        task = services.task_create(actor=request.user, **data)
        return Response(_detail(request, task.pk), status=201)


class TaskDetailView(APIView):
    @extend_schema(tags=TAG, operation_id="tasks_retrieve", responses=TaskDetail,
                   summary="A task, its history and what I may do with it")
    def get(self, request, pk: int):
        return Response(_detail(request, pk))


def _action_view(action: str, serializer, call, summary: str):
    class ActionView(APIView):
        throttle_classes = [TaskWriteRate]

        @extend_schema(tags=TAG, operation_id=f"tasks_{action}", request=serializer, responses=TaskDetail,
                       summary=summary)
        @idempotent
        def post(self, request, pk: int):
            task_access(request.user, pk).require(action)  # 404 / 403 before the body is looked at
            data = validated(serializer, request) if serializer else {}
            call(actor=request.user, task=pk, **data)
            return Response(_detail(request, pk))

    ActionView.__name__ = ActionView.__qualname__ = f"Task{action.title()}View"
    return ActionView


START = _action_view("start", None, services.task_start,
                     "The lead ministry starts the task (assigned or returned → in_progress)")
REPORT = _action_view("report", ReportNoteSerializer, services.task_report,
                      "The lead ministry reports it done (→ reported_done), with an optional note")
ACCEPT = _action_view("accept", NoteSerializer, services.task_accept,
                      "The secretariat accepts a task reported done (→ accepted, final)")
RETURN = _action_view("return", ReasonSerializer, services.task_return,
                      "The secretariat returns a task reported done, with the reason (→ returned)")
EXTEND = _action_view("extend", ExtendSerializer, services.task_extend,
                      "The secretariat moves an open dated task's deadline later, with the reason (state unchanged)")
CANCEL = _action_view("cancel", ReasonSerializer, services.task_cancel,
                      "The secretariat cancels an unfinished task, with the reason (→ cancelled, final)")

urlpatterns = [
    path("tasks/", TaskListView.as_view(), name="api_tasks"),
    path("tasks/<id:pk>/", TaskDetailView.as_view(), name="api_task"),
    *(path(f"tasks/<id:pk>/{action}/", view.as_view(), name=f"api_task_{action}")
      for action, view in (("start", START), ("report", REPORT), ("accept", ACCEPT), ("return", RETURN),
                           ("extend", EXTEND), ("cancel", CANCEL))),
]
