"""The summary of a written ballot as a PDF (WeasyPrint), laid out like a Vietnamese administrative
document: the issuing body (VĂN PHÒNG CHÍNH PHỦ) beside the national title and motto, the title
"TỔNG HỢP Ý KIẾN THÀNH VIÊN CHÍNH PHỦ", the rule on silence, then per question the counts and every
member's answer and opinion, and who did not answer.

Safety, by ``ecabinet.pdf`` (whose renderer and fetcher this uses): the only URLs the
renderer may fetch are files under ``static/`` (the bundled DejaVu fonts); the network, ``data:``
and files elsewhere are refused and stop the rendering. Everything members and the secretariat wrote
(titles, questions, opinions) goes through Django's autoescaping, so an opinion such as
``<img src="http://…">`` prints as those characters and is never an element the renderer would
fetch. ``render_summary_pdf`` returns the exact HTML with the PDF, so the input can be archived.
"""

from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone, translation

from ecabinet.pdf import StaticFilesOnly, layout, vn_date

from .ballot_notices import deadline_text
from .ballot_summary import BallotSummary

__all__ = ["make_fetcher", "render_summary_pdf"]

TEMPLATE = "ballots/summary_pdf.html"


def make_fetcher() -> StaticFilesOnly:
    """The URL fetcher of the renderer (a function, so tests can watch what it is asked for)."""
    return StaticFilesOnly()


def render_summary_pdf(summary: BallotSummary, *, generated_at: datetime) -> tuple[bytes, str]:
    """``(pdf, html)`` of the summary, in Vietnamese whatever the reader's language (it is an
    administrative document of the Office of the Government)."""
    local = timezone.localtime(generated_at)
    with translation.override("vi"):
        ballot = summary.ballot
        issued = timezone.localtime(ballot.issued_at) if ballot.issued_at else None
        html = render_to_string(TEMPLATE, {
            "summary": summary, "ballot": ballot,
            "place_date": vn_date(local.date()),
            "issued_date": issued.strftime("%d/%m/%Y") if issued else "",
            "deadline": deadline_text(ballot),
            "generated": local.strftime("%H:%M %d/%m/%Y"),
        })
    return layout(html, fetcher=make_fetcher()).write_pdf(), html
