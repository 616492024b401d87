"""Serving a document: one numbered, watermarked copy per request, never cached."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse
from django.utils.text import slugify

from . import services
from .watermark import watermark_pdf


def watermarked_response(request, document_id: int, version_number: int | None, *, inline: bool) -> HttpResponse:
    user = request.user
    copy = services.document_issue_copy(actor=user, document_id=document_id, version_number=version_number)
    version = copy.version
    with version.file.open("rb") as handle:
        original = handle.read()
    issued = copy.issued_at.strftime("%Y-%m-%d %H:%M UTC")
    data = watermark_pdf(
        original,
        full_name=user.get_full_name(),
        ministry=user.ministry.name if user.ministry_id else "",
        issued_utc=issued,
        copy_number=copy.number,
        font_path=settings.WATERMARK_FONT,
        document_label=f"{version.document.title} (v{version.number})",
    )
    response = HttpResponse(data, content_type="application/pdf")
    filename = f"{slugify(version.document.title)[:80] or 'document'}-v{version.number}-copy{copy.number}.pdf"
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "no-store, private"
    response["Pragma"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response
