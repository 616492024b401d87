"""Serving a ballot's draft: one watermarked copy per request, never cached (as for session
documents, ``meetings.downloads``)."""

from __future__ import annotations

from datetime import UTC
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse
from django.utils.text import slugify

from meetings.watermark import watermark_pdf

from .services import ballots as services


def no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    response["Pragma"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def pdf_response(data: bytes, filename: str, *, inline: bool) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    return no_store(response)


def ballot_document_response(request, ballot_id: int, document_id: int, *, inline: bool) -> HttpResponse:
    user = request.user
    document, copy_number, issued = services.ballot_document_copy(actor=user, ballot_id=ballot_id,
                                                                   document_id=document_id)
    with document.file.open("rb") as handle:
        original = handle.read()
    data = watermark_pdf(
        original,
        full_name=user.get_full_name(),
        ministry=user.ministry.name if user.ministry_id else "",
        issued_utc=issued.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        copy_number=copy_number,
        font_path=settings.WATERMARK_FONT,
        document_label=document.title,
    )
    filename = f"{slugify(document.title)[:80] or 'draft'}-copy{copy_number}.pdf"
    return pdf_response(data, filename, inline=inline)
