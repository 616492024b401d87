"""API v1 for the reports on a task (issue 18 §2), mounted with ``followup.api``:

* ``GET /tasks/{id}/reports/`` — the task's reports, oldest first, with their attachments (at most
  ``TASK_REPORTS_MAX``): whoever sees the task;
* ``POST /tasks/{id}/reports/`` — multipart ``kind`` (``progress`` | ``done``), ``text``, ``files``
  (PDFs, repeated, at most ``TASK_REPORT_MAX_ATTACHMENTS``): the lead ministry and its delegate
  (``followup.reports``).

The POST asks who may post before it reads the body (404 for a task one cannot see, 403 for one
that is not one's ministry's), parses and inspects the files in ``prepare`` (outside the
transaction, after the ``Idempotency-Key`` replay check), then writes. It counts against the
account's task writes (``task_writes``) and uploads (``uploads``, ``upload_bytes``).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import converters  # noqa: F401  (registers <id:...>)
from ecabinet.api.idempotency import idempotent
from ecabinet.api.input import validated
from ecabinet.api.throttles import AccountRate, UploadRate
from ecabinet.errors import Forbidden

from . import reports, selectors
from .models import TaskReport
from .permissions import task_access

__all__ = ["TaskReportOutSerializer", "TaskReportsView", "TaskWriteRate", "urlpatterns"]

TAG = ["tasks"]
# Every POST under /tasks/ (followup.api's too) counts against the account's task writes
# (RATE_TASK_WRITES_*, ecabinet.limits scope "task_writes"); reads do not.
TaskWriteRate = AccountRate.for_scope("task_writes")



class TaskAttachmentOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    size = serializers.IntegerField()
    pages = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.CharField(help_text="GET: the PDF, as a file (whoever sees the task)")


class TaskReportOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TaskReport.Kind.choices)
    kind_text = serializers.CharField()
    at = serializers.DateTimeField()
    author = serializers.CharField()
    text = serializers.CharField()
    attachments = TaskAttachmentOutSerializer(many=True)


ReportList = inline_serializer("TaskReportList", {"count": serializers.IntegerField(),
                                                  "results": TaskReportOutSerializer(many=True)})
ReportCreated = inline_serializer("TaskReportCreated", {
    "report": TaskReportOutSerializer(),
    "state": serializers.CharField(help_text="the task's state after the report")})


class ReportUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TaskReport.Kind.choices,
                                   help_text="progress: a progress report (assigned or returned → in_progress); "
                                             "done: the task is done (→ reported_done)")
    text = serializers.CharField(max_length=settings.TASK_REPORT_TEXT_MAX_CHARS, required=False, allow_blank=True,
                                 default="", help_text="required for a progress report")
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list,
                                  help_text="PDFs (the field repeated), at most TASK_REPORT_MAX_ATTACHMENTS, "
                                            "TASK_REPORT_MAX_BYTES together; each admitted like a session document")


class TaskReportsView(APIView):
    body_limit = "upload"  # PDFs up to HTTP_MAX_UPLOAD_BODY_BYTES in all (ecabinet.http_limits)
    throttle_classes = [TaskWriteRate, UploadRate]

    @extend_schema(tags=TAG, operation_id="tasks_reports_list", responses=ReportList,
                   summary="The reports on a task, oldest first, with their attachments (whoever sees the task)")
    def get(self, request, pk: int):
        access = task_access(request.user, pk)
        results = selectors.reports_of(access.task)
        return Response({"count": len(results), "results": results})

    def prepare(self, request, pk: int):
        """Who may post (before the body is read), then the body and the files' inspection, outside
        the transaction (``followup.reports.report_prepare``)."""
        access = task_access(request.user, pk)
        if not access.may_report:
            raise Forbidden()
        data = validated(ReportUploadSerializer, request)
        return reports.report_prepare(actor=request.user, task=access.task, kind=data["kind"], text=data["text"],
                                      files=data["files"])

    @extend_schema(tags=TAG, operation_id="tasks_reports_create",
                   request={"multipart/form-data": ReportUploadSerializer}, responses={201: ReportCreated},
                   summary="The lead ministry (or its delegate) reports progress or completion, with PDFs. "
                           "400 report_text_required, text_too_long, too_many_attachments, duplicate_attachment; "
                           "413 attachments_too_large; 409 transition_not_allowed, too_many_reports; "
                           "the PDF admission's codes (not_pdf, pdf_damaged…)")
    def post(self, request, pk: int):
        # around the Idempotency-Key's transaction: a report that does not commit keeps no file
        with reports.files_kept_only_if_written() as stored:
            request.report_files = stored
            return self._post(request, pk)

    @idempotent
    def _post(self, request, pk: int):
        report = reports.report_record(actor=request.user, prepared=request.prepared, stored=request.report_files)
        report = TaskReport.objects.select_related("task", "author").get(pk=report.pk)
        return Response({"report": selectors.report_dict(report), "state": report.task.state}, status=201)


urlpatterns = [
    path("tasks/<id:pk>/reports/", TaskReportsView.as_view(), name="api_task_reports"),
]
