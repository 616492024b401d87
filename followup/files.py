"""Downloading an attachment of a task's report: ``GET /tasks/<task>/attachments/<id>/``.

Whoever may see the task may take the file (``followup.permissions.task_attachment``); anyone else
gets 404, as for a file that does not exist. The file served is the stored PDF with its active
content removed (``meetings.pdfsanitise``: links that call out, actions on opening), as every copy
of a session document is; the stored file itself stays as the ministry sent it (its SHA-256 is in
the report and in the archive). Never cached: ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import pikepdf
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ecabinet.errors import NotFound
from meetings.pdfsanitise import sanitise

from .reports import task_attachment_open

__all__ = ["task_attachment"]


def _served_copy(data: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        sanitise(pdf)
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


@require_GET
@login_required
def task_attachment(request: HttpRequest, task: int, pk: int) -> HttpResponse:
    try:
        attachment = task_attachment_open(actor=request.user, task_id=task, attachment_id=pk)
    except NotFound as exc:
        raise Http404 from exc
    with attachment.file.open("rb") as handle:
        data = _served_copy(handle.read())
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    response["Cache-Control"] = "private, no-store"
    response["Pragma"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response
