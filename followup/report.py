"""The follow-up report as a PDF (WeasyPrint through ``ecabinet.pdf``), and the register as CSV.

The PDF is laid out like a Vietnamese administrative report (Nghị định 30/2020/NĐ-CP, Phụ lục I): the
issuing body (VĂN PHÒNG CHÍNH PHỦ) beside the national title and motto, the place and date, the title
"BÁO CÁO Tình hình thực hiện nhiệm vụ Chính phủ giao", then numbered sections — I. the summary
figures, II. per lead ministry, III. the overdue tasks (at most ``TASKS_REPORT_MAX_OVERDUE``, the most
overdue first; the figures count them all), IV. the months — and "Nơi nhận". Always in Vietnamese.

The figures are read first (``followup.dashboard``, a handful of queries), then the HTML is laid out:
``report_pdf`` must be called outside any transaction (it says so if it is not), so a long rendering
never holds a lock. Safety is ``ecabinet.pdf``'s: the renderer fetches only the bundled fonts, and
every text users wrote is autoescaped.

The CSV (``csv_rows``) is the filtered register, earliest deadline first, at most
``TASKS_EXPORT_MAX_ROWS`` rows, read in chunks (``iterator``) so memory stays flat; the file starts
with a UTF-8 byte order mark so that Excel reads Vietnamese correctly.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from ecabinet.pdf import StaticFilesOnly, layout, vn_date

from . import dashboard as figures
from .models import Task
from .selectors import OVERDUE_STATES

__all__ = ["CSV_HEADER", "csv_lines", "report_pdf"]

TEMPLATE = "followup/report_pdf.html"


class InTransaction(RuntimeError):
    """``report_pdf`` was called inside a transaction."""


def report_pdf(tasks: QuerySet[Task], *, today: dt.date, generated_at: dt.datetime,
               filters_text: list[str]) -> tuple[bytes, str]:
    """``(pdf, html)`` of the report on ``tasks`` (already restricted to the reader and filtered)."""
    if connection.in_atomic_block:
        raise InTransaction("the follow-up report is rendered outside any transaction")
    board = figures.dashboard(tasks, today)
    limit = settings.TASKS_REPORT_MAX_OVERDUE
    overdue = figures.overdue_tasks(tasks, today, limit)
    local = timezone.localtime(generated_at)
    with translation.override("vi"):
        html = render_to_string(TEMPLATE, {
            "board": board, "totals": board.totals, "overdue": [(t, (today - t.deadline).days) for t in overdue],
            "overdue_cut": board.totals.overdue > len(overdue), "limit": limit,
            "place_date": vn_date(local.date()), "today": today, "filters": filters_text,
            "generated": local.strftime("%H:%M %d/%m/%Y"),
        })
    return layout(html, fetcher=StaticFilesOnly()).write_pdf(), html


CSV_HEADER = ["Mã", "Nhiệm vụ", "Phiên họp", "Nguồn", "Bộ chủ trì", "Bộ phối hợp", "Thường xuyên", "Hạn",
              "Ưu tiên", "Trạng thái", "Quá hạn", "Ngày giao", "Ngày báo cáo hoàn thành", "Ngày kết thúc"]


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _cell(value) -> str:
    """A text cell that a spreadsheet will not take for a formula (``=``, ``+``, ``-``, ``@`` first)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Line:
    """A file-like object whose ``write`` returns what it was given (the csv module writes one line)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(tasks: QuerySet[Task], today: dt.date) -> Iterator[str]:
    """The lines of the CSV: a byte order mark and the header, the rows, and a last line saying when
    the register was cut at ``TASKS_EXPORT_MAX_ROWS``. In Vietnamese whatever the reader's language
    (the labels of states and priorities are translated as the screens show them in Vietnamese)."""
    limit = settings.TASKS_EXPORT_MAX_ROWS
    writer = csv.writer(_Line())
    with translation.override("vi"):
        yield "\ufeff" + writer.writerow(CSV_HEADER)
        rows = (tasks.select_related("meeting", "lead_ministry")
                .prefetch_related("co_ministries").order_by("regular", "deadline", "id")[:limit + 1])
        for written, task in enumerate(rows.iterator(chunk_size=1000)):
            if written == limit:
                yield writer.writerow([f"… Danh sách dừng ở {limit} nhiệm vụ (giới hạn TASKS_EXPORT_MAX_ROWS); "
                                       "hãy lọc để xuất phần còn lại."])
                return
            overdue = bool(not task.regular and task.state in OVERDUE_STATES and task.deadline < today)
            yield writer.writerow([
                task.pk, _cell(task.title), _cell(task.meeting.title) if task.meeting_id else "",
                task.get_source_kind_display(), _cell(task.lead_ministry.name),
                _cell("; ".join(sorted(m.name for m in task.co_ministries.all()))),
                "có" if task.regular else "", task.deadline.isoformat() if task.deadline else "",
                task.get_priority_display(), task.get_state_display(), "có" if overdue else "",
                _local(task.created_at), _local(task.reported_at), _local(task.closed_at),
            ])
