"""``GET /api/v1/tasks/dashboard/`` — the dashboard's figures as JSON (issue 18 §4), with the filters of
``GET /api/v1/tasks/``. Who may: ``followup.permissions.may_see_dashboard`` (the secretariat and the
chair), asked before the query string is read (403 ``forbidden`` otherwise); the figures are of
``tasks_visible_to(caller)``. The definitions are ``followup.dashboard``'s docstring."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet.errors import Forbidden

from . import dashboard as figures
from . import services
from .dashboard_filters import filters_or_400
from .models import Task
from .permissions import may_see_dashboard
from .selectors import tasks_filtered

__all__ = ["dashboard_api_urlpatterns", "dashboard_json"]

COUNTS = {
    "total": serializers.IntegerField(),
    "open": serializers.IntegerField(help_text="assigned, in progress, reported done or returned"),
    "overdue": serializers.IntegerField(help_text="dated, still with the ministry, deadline before today"),
    "done_on_time": serializers.IntegerField(help_text="accepted, dated, reported done on or before the deadline"),
    "done_late": serializers.IntegerField(help_text="accepted, dated, reported done after the deadline"),
    "on_time_rate": serializers.FloatField(allow_null=True, help_text="percent: done_on_time / (done_on_time + "
                                                                      "done_late); null when both are 0"),
}
Dashboard = inline_serializer("TaskDashboard", {
    "today": serializers.DateField(),
    "totals": inline_serializer("TaskDashboardTotals", {
        **COUNTS,
        "regular": serializers.IntegerField(help_text="regular tasks (no deadline)"),
        "due_soon": serializers.IntegerField(help_text="open, dated, due within DASHBOARD_DUE_SOON_DAYS"),
        "by_state": inline_serializer("TaskDashboardStates", {s: serializers.IntegerField()
                                                              for s in Task.State.values}),
    }),
    "ministries": inline_serializer("TaskDashboardMinistry", {
        "code": serializers.CharField(), "name": serializers.CharField(), "short_name": serializers.CharField(),
        **COUNTS, "cancelled": serializers.IntegerField()}, many=True,
        help_text="by lead ministry, most overdue first"),
    "months": inline_serializer("TaskDashboardMonth", {
        "month": serializers.CharField(help_text="YYYY-MM, the month of the deadline"),
        **{k: v for k, v in COUNTS.items() if k != "open"},
        "pending": serializers.IntegerField(help_text="not yet due, or reported and waiting for acceptance")},
        many=True, help_text="the last DASHBOARD_MONTHS months by deadline, oldest first; cancelled tasks left out"),
})

FILTERS = [
    OpenApiParameter("ministry", OpenApiTypes.STR, description="a ministry's code: tasks it leads or co-operates on"),
    OpenApiParameter("meeting", OpenApiTypes.INT, description="a session's id"),
    OpenApiParameter("state", OpenApiTypes.STR, enum=Task.State.values),
    OpenApiParameter("deadline_after", OpenApiTypes.DATE, description="deadline on or after"),
    OpenApiParameter("deadline_before", OpenApiTypes.DATE, description="deadline on or before"),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description="true: only overdue tasks; false: none of them"),
]


def dashboard_json(board: figures.Dashboard) -> dict:
    def counts(x) -> dict:
        return {"overdue": x.overdue, "done_on_time": x.done_on_time, "done_late": x.done_late,
                "on_time_rate": x.on_time_rate}

    t = board.totals
    return {
        "today": board.today.isoformat(),
        "totals": {"total": t.total, "open": t.open, **counts(t), "regular": t.regular, "due_soon": t.due_soon,
                   "by_state": t.by_state},
        "ministries": [{"code": m.code, "name": m.name, "short_name": m.short_name, "total": m.total, "open": m.open,
                        **counts(m), "cancelled": m.cancelled} for m in board.ministries],
        "months": [{"month": f"{m.month:%Y-%m}", "total": m.total, **counts(m), "pending": m.pending}
                   for m in board.months],
    }


class TaskDashboardView(APIView):
    @extend_schema(tags=["tasks"], operation_id="tasks_dashboard", parameters=FILTERS, responses=Dashboard,
                   summary="The follow-up dashboard's figures (secretariat and chair; 403 otherwise): counts by "
                           "state, overdue, per lead ministry and per deadline month, on-time rate. 400 "
                           "invalid_filter")
    def get(self, request):
        if not may_see_dashboard(request.user):
            raise Forbidden()
        filters = filters_or_400(request.query_params)
        today = services.today()
        return Response(dashboard_json(figures.dashboard(tasks_filtered(request.user, filters, today), today)))


dashboard_api_urlpatterns = [
    path("tasks/dashboard/", TaskDashboardView.as_view(), name="api_tasks_dashboard"),
]
