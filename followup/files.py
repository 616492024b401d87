"""Downloading an attachment of a task's report: ``GET /tasks/<task>/attachments/<id>/``.

Whoever may see the task may take the file (``followup.permissions.task_attachment``); anyone else
gets 404, as for a file that does not exist. The file served is the stored PDF with its active
content removed (``meetings.pdfsanitise``: links that call out, actions on opening), as every copy
of a session document is; the stored file itself stays as the ministry sent it (its SHA-256 is in
the report and in the archive). Never cached: ``Cache-Control: private, no-store``.

The cleaned copy is made **once**, at the first download, and kept beside the original
(``…/<key>.served.pdf``): cleaning a file of many thousand annotations takes seconds, and doing it
on every download let a few readers hold every request thread (a security review's finding). It is
made under one of the process's slots for slow PDF work (``meetings.pdfcheck.work_slot``, waited
for at most ``PDF_INSPECT_QUEUE_SECONDS``; else 503 ``copy_in_preparation`` with ``Retry-After``),
written to a temporary name and moved into place, so a reader never gets half a file. The name the
file is served under always ends in ``.pdf`` and carries no control or bidirectional characters.
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import quote

import pikepdf
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ecabinet.errors import Conflict, NotFound
from meetings.pdfcheck import work_slot
from meetings.pdfsanitise import sanitise

from .models import TaskAttachment
from .reports import clean_filename, task_attachment_open

__all__ = ["served_copy", "served_name", "task_attachment"]

def served_name(filename: str) -> str:
    """The name a download is offered under (``reports.clean_filename``: also for files kept before
    names were cleaned on the way in)."""
    return clean_filename(filename)


def _busy() -> Conflict:
    refusal = Conflict(_("The file is being prepared for download; try again in a moment."),
                       code="copy_in_preparation", status=503)
    refusal.retry_after = max(1, settings.PDF_INSPECT_RETRY_AFTER_SECONDS)
    return refusal


def served_copy(attachment: TaskAttachment) -> str:
    """The storage name of the attachment's cleaned copy, made now if it is not there yet."""
    name = attachment.file.name.removesuffix(".pdf") + ".served.pdf"
    if default_storage.exists(name):
        return name
    slot = work_slot()
    if not slot.acquire(timeout=max(0, settings.PDF_INSPECT_QUEUE_SECONDS)):
        raise _busy()
    try:
        if default_storage.exists(name):  # made while this request waited
            return name
        target = default_storage.path(name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".part")
        os.close(handle)
        try:
            with attachment.file.open("rb") as source, pikepdf.open(source) as pdf:
                sanitise(pdf)
                # the streams' bytes are copied as they are, never decoded and recompressed
                pdf.save(temporary, stream_decode_level=pikepdf.StreamDecodeLevel.none)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    finally:
        slot.release()
    return name


@require_GET
@login_required
def task_attachment(request: HttpRequest, task: int, pk: int) -> HttpResponse:
    try:
        attachment = task_attachment_open(actor=request.user, task_id=task, attachment_id=pk)
    except NotFound as exc:
        raise Http404 from exc
    try:
        name = served_copy(attachment)
    except Conflict as exc:
        response = HttpResponse(str(exc.message), status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(exc.retry_after)
        return response
    response = FileResponse(default_storage.open(name, "rb"), content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(served_name(attachment.filename))}"
    response["Cache-Control"] = "private, no-store"
    response["Pragma"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response
