"""Serving a document: a numbered, watermarked copy per download, never cached; and the in-app
reader's own copy (issued once per user and version, then served by byte range to PDF.js)."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpResponse
from django.utils.text import slugify

from . import services
from .ranges import ranged_file_response
from .services.reader import watermark_copy


def _filename(version, copy_number: int) -> str:
    return f"{slugify(version.document.title)[:80] or 'document'}-v{version.number}-copy{copy_number}.pdf"


def watermarked_response(request, document_id: int, version_number: int | None, *, inline: bool) -> HttpResponse:
    copy = services.document_issue_copy(actor=request.user, document_id=document_id, version_number=version_number)
    data = watermark_copy(copy)
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(_filename(copy.version, copy.number))}"
    response["Cache-Control"] = "no-store, private"
    response["Pragma"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response


KEEP_PURPOSE = "keep"


def reader_copy_response(request, document_id: int, version_number: int) -> HttpResponse:
    """The reader's copy of a version (contract C2): the same file at every read, by byte range.
    A request without ``Range`` (PDF.js's first, which it drops once it knows the size) opens the
    document and touches the read receipt; the byte ranges that follow do not, nor does a tablet storing
    the copy for offline reading (``X-Ecabinet-Purpose: keep``, static/js/offline.js): kept is not read.
    (The header can only make the person's own reads go uncounted.)"""
    opening = not request.headers.get("Range") and request.headers.get("X-Ecabinet-Purpose") != KEEP_PURPOSE
    row = services.document_reader_copy(actor=request.user, document_id=document_id,
                                        version_number=version_number, opening=opening)
    filename = _filename(row.version, row.copy.number)
    return ranged_file_response(request, row.file, size=row.size, etag=row.sha256, content_type="application/pdf",
                                headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
                                         "Cache-Control": "private, no-store", "Pragma": "no-cache",
                                         "X-Content-Type-Options": "nosniff"})
