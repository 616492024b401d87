"""The follow-up dashboard (``followup.dashboard``), its screen, JSON, CSV and PDF: the figures on a
hand-made register (on time, late, overdue, regular, cancelled), the same number of queries for 10
and 200 tasks, who may see them, the CSV's encoding and bound, the PDF's title and its rendering
outside any transaction."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from followup import dashboard, services
from followup.models import Task
from followup.permissions import may_see_dashboard, tasks_visible_to
from followup.report import InTransaction, report_pdf
from followup.selectors import TaskFilters, tasks_filtered

from .conftest import new_task, walk

API = "/api/v1/tasks/dashboard/"
PAGE = "/tasks/dashboard/"
CSV = "/tasks/export.csv"
PDF = "/tasks/report.pdf"


def days(n: int) -> dt.date:
    return services.today() + dt.timedelta(days=n)


def _set(task: Task, **fields) -> Task:
    Task.objects.filter(pk=task.pk).update(**fields)
    task.refresh_from_db()
    return task


@pytest.fixture
def board(ft):
    """Besides the fixture's task (assigned, due in 30 days, Bộ Tài chính):

    * ``on_time`` — accepted, reported 5 days ago, due 3 days ago: on time;
    * ``late`` — accepted (Bộ Y tế), reported today, due 10 days ago: late;
    * ``overdue`` — in progress, due 2 days ago;
    * ``waiting`` — reported done 1 day after its deadline, not accepted yet: neither overdue nor done;
    * ``regular`` — accepted, no deadline: outside the rate;
    * ``cancelled`` — due yesterday, cancelled: neither overdue nor counted."""
    ft.on_time = walk(ft, new_task(ft, title="Đúng hạn"), "accepted")
    _set(ft.on_time, deadline=days(-3), reported_at=services.current_time() - dt.timedelta(days=5))
    ft.late = walk(ft, new_task(ft, title="Chậm"), "accepted")
    _set(ft.late, deadline=days(-10), lead_ministry=ft.other)
    ft.overdue = _set(walk(ft, new_task(ft, title="Quá hạn"), "in_progress"), deadline=days(-2))
    ft.waiting = _set(walk(ft, new_task(ft, title="Chờ xem xét"), "reported_done"), deadline=days(-1),
                      reported_at=services.current_time())
    ft.regular = walk(ft, new_task(ft, title="Thường xuyên", regular=True, deadline=None), "accepted")
    ft.cancelled = _set(walk(ft, new_task(ft, title="Đã hủy"), "cancelled"), deadline=days(-1))
    return ft


def test_the_figures_of_a_hand_made_register(board):
    today = services.today()
    got = dashboard.dashboard(tasks_visible_to(board.secretary), today)
    t = got.totals
    assert (t.total, t.open, t.overdue, t.regular, t.done_on_time, t.done_late) == (7, 3, 1, 1, 1, 1)
    assert t.by_state == {"assigned": 1, "in_progress": 1, "reported_done": 1, "accepted": 3, "returned": 0,
                          "cancelled": 1}
    assert t.on_time_rate == 50.0
    assert t.due_soon == 0
    by_code = {m.code: m for m in got.ministries}
    finance, health = by_code["bo-tai-chinh"], by_code["bo-y-te"]
    assert (finance.total, finance.open, finance.overdue, finance.done_on_time, finance.done_late,
            finance.cancelled, finance.on_time_rate) == (6, 3, 1, 1, 0, 1, 100.0)
    assert (health.total, health.done_on_time, health.done_late, health.on_time_rate) == (1, 0, 1, 0.0)
    assert [m.code for m in got.ministries] == ["bo-tai-chinh", "bo-y-te"]  # the most overdue first
    months = {m.month: m for m in got.months}
    assert len(got.months) == 12 and got.months[-1].month == today.replace(day=1)
    assert months[days(-3).replace(day=1)].done_on_time == 1
    assert months[days(-10).replace(day=1)].done_late == 1
    assert months[days(-2).replace(day=1)].overdue == 1
    # the month figures: the dated, not cancelled tasks due in the window (the fixture's is due later)
    assert sum(m.total for m in got.months) == 4
    assert sum(m.pending for m in got.months) == 1  # the one waiting for acceptance


def test_the_done_date_is_the_report_not_the_acceptance(board):
    """A ministry that reported on time is on time even if the secretariat accepted it late."""
    _set(board.on_time, closed_at=services.current_time() + dt.timedelta(days=30))
    t = dashboard.totals(tasks_visible_to(board.secretary), services.today())
    assert (t.done_on_time, t.done_late) == (1, 1)


@pytest.mark.parametrize(("local_time", "on_time"), [
    ((0, 0), True), ((23, 59), True), ((24, 1), False)])
def test_a_report_on_the_deadline_day_is_on_time_in_the_governments_time_zone(ft, local_time, on_time):
    """The deadline is a date in Hà Nội: a report at 23:59 there (16:59 UTC) is on time; one minute
    past midnight there (still the deadline day in UTC) is late."""
    task = walk(ft, new_task(ft, title="Ranh giới"), "accepted")
    deadline = days(-10)
    hours, minutes = local_time
    moment = timezone.make_aware(dt.datetime.combine(deadline, dt.time(0)), ZoneInfo("Asia/Ho_Chi_Minh"))
    moment += dt.timedelta(hours=hours, minutes=minutes)
    _set(task, deadline=deadline, reported_at=moment)
    t = dashboard.totals(Task.objects.filter(pk=task.pk), services.today())
    assert (t.done_on_time, t.done_late) == ((1, 0) if on_time else (0, 1))


def test_a_rate_without_accepted_dated_tasks_is_none(ft):
    t = dashboard.totals(tasks_visible_to(ft.secretary), services.today())
    assert (t.total, t.on_time_rate) == (1, None)


def test_the_filters_narrow_the_figures(board):
    today = services.today()
    health = dashboard.totals(tasks_filtered(board.secretary, TaskFilters(ministry="bo-y-te"), today), today)
    assert (health.total, health.done_late) == (1, 1)
    response = board.cast.client(board.secretary).get(API + "?state=accepted")
    assert response.status_code == 200, response.content
    assert response.json()["totals"]["total"] == 3


def test_the_json_answers_the_same_figures(board):
    data = board.cast.client(board.secretary).get(API).json()
    assert data["totals"]["overdue"] == 1 and data["totals"]["on_time_rate"] == 50.0
    assert data["totals"]["by_state"]["accepted"] == 3
    assert [m["code"] for m in data["ministries"]] == ["bo-tai-chinh", "bo-y-te"]
    assert len(data["months"]) == 12 and data["months"][-1]["month"] == f"{services.today():%Y-%m}"


@pytest.mark.parametrize("query", ["?state=done", "?overdue=yes", "?deadline_before=tomorrow", "?meeting=abc",
                                   "?deadline_after=2026-05-01&deadline_before=2026-04-01"])
def test_a_bad_filter_is_400_invalid_filter(ft, query):
    response = ft.cast.client(ft.secretary).get(API + query)
    assert response.status_code == 400 and response.json()["code"] == "invalid_filter"


def _bulk(ft, n: int) -> None:
    base = ft.task
    states = ["assigned", "in_progress", "reported_done", "accepted", "returned", "cancelled"]
    now = services.current_time()
    Task.objects.bulk_create([
        Task(meeting=base.meeting, source_kind=base.source_kind, agenda_item=base.agenda_item, title=f"Việc {i}",
             lead_ministry=[ft.lead, ft.co, ft.other][i % 3], regular=i % 7 == 0,
             deadline=None if i % 7 == 0 else days(i % 60 - 30), state=states[i % 6], created_by=ft.secretary,
             created_at=now, reported_at=now if states[i % 6] in ("reported_done", "accepted") else None,
             closed_at=now if states[i % 6] in ("accepted", "cancelled") else None)
        for i in range(n)])


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(captured)


def _page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", [API, PAGE, API + "?ministry=bo-tai-chinh&overdue=true", PAGE + "?state=assigned"])
def test_the_same_number_of_queries_for_10_and_200_tasks(ft, url):
    client = ft.cast.client(ft.secretary) if url.startswith("/api/") else _page_client(ft.secretary)
    _bulk(ft, 9)
    client.get(url)  # one-off look-ups (the session, content types) are not counted
    few = _count(client, url)
    _bulk(ft, 190)
    assert Task.objects.count() == 200
    assert _count(client, url) == few
    assert few <= 12


def test_the_chair_sees_the_figures_of_what_they_may_see(board):
    pm = board.cast.pm
    assert may_see_dashboard(pm)
    data = board.cast.client(pm).get(API).json()
    assert data["totals"]["total"] == tasks_visible_to(pm).count() == 7


@pytest.mark.parametrize(("who", "allowed"), [
    ("secretary", True), ("pm", True), ("member", False), ("lead_user", False), ("archivist", False),
    ("admin", False), ("outsider", False)])
def test_who_may_see_the_dashboard(ft, who, allowed):
    user = getattr(ft, who, None) or getattr(ft.cast, who)
    assert may_see_dashboard(user) is allowed
    api = ft.cast.client(user).get(API + "?state=nonsense")  # access is asked before the filters are read
    page = _page_client(user).get(PAGE)
    if allowed:
        assert (api.status_code, api.json()["code"]) == (400, "invalid_filter")
        assert page.status_code == 200
    else:
        assert (api.status_code, api.json()["code"]) == (403, "forbidden")
        assert page.status_code == 403


def test_signed_out_is_refused(ft):
    assert ft.cast.client(None).get(API).status_code in (401, 403)
    assert Client().get(PAGE).status_code == 302
    assert Client().get(CSV).status_code == 302


def test_the_page_shows_figures_charts_and_their_tables(board):
    response = _page_client(board.secretary).get(PAGE, HTTP_ACCEPT_LANGUAGE="vi")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('role="img"') == 2 and "<title id=\"months-svg-title\">" in html
    assert 'id="months-table"' in html and 'id="ministries-table"' in html
    assert 'data-ministry="bo-y-te"' in html
    assert 'href="/tasks/export.csv"' in html and 'href="/tasks/report.pdf"' in html


def test_the_page_keeps_the_filter_in_the_export_links(board):
    html = _page_client(board.secretary).get(PAGE + "?ministry=bo-y-te&overdue=false").content.decode()
    assert "/tasks/export.csv?ministry=bo-y-te&amp;overdue=false" in html


def test_the_register_links_to_the_dashboard_and_the_csv_with_its_filters(board):
    html = _page_client(board.secretary).get("/tasks/?ministry=bo-y-te&overdue=on&page=2").content.decode()
    assert 'href="/tasks/dashboard/?ministry=bo-y-te&amp;overdue=true"' in html
    assert 'href="/tasks/export.csv?ministry=bo-y-te&amp;overdue=true"' in html
    minister = _page_client(board.lead_user).get("/tasks/").content.decode()
    assert 'id="task-export"' in minister and 'id="task-dashboard"' not in minister  # not theirs to see


# --- CSV --------------------------------------------------------------------------------------------

def _csv(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf")
    return data.decode("utf-8-sig").splitlines()


def test_the_csv_is_the_filtered_register_in_vietnamese(board):
    lines = _csv(_page_client(board.secretary).get(CSV))
    assert lines[0].startswith("Mã,Nhiệm vụ,Phiên họp,Nguồn,Bộ chủ trì")
    assert len(lines) == 1 + 7
    overdue = next(line for line in lines if "Quá hạn" in line and str(board.overdue.pk) == line.split(",")[0])
    assert "Đang thực hiện" in overdue and ",có," in overdue
    health = _csv(_page_client(board.secretary).get(CSV + "?ministry=bo-y-te"))
    assert len(health) == 2 and "Bộ Y tế" in health[1]


def test_the_csv_rows_are_those_the_reader_may_see(board):
    board.cast.set_status("closed")
    outsider = _csv(_page_client(board.cast.outsider).get(CSV))
    assert len(outsider) == 1  # the header only
    co = _csv(_page_client(board.co_user).get(CSV))
    assert [line.split(",")[0] for line in co[1:]] == [str(board.task.pk)]  # co-operates on the fixture's task


def test_the_csv_is_bounded(board, settings):
    settings.TASKS_EXPORT_MAX_ROWS = 3
    lines = _csv(_page_client(board.secretary).get(CSV))
    assert len(lines) == 1 + 3 + 1 and "TASKS_EXPORT_MAX_ROWS" in lines[-1]


def test_the_csv_neutralises_formulas(ft):
    new_task(ft, title="=HYPERLINK(\"http://x\")")
    rows = list(csv.reader(_csv(_page_client(ft.secretary).get(CSV))))
    assert "'=HYPERLINK(\"http://x\")" in [row[1] for row in rows]


def test_the_admin_may_not_export(ft):
    assert _page_client(ft.cast.admin).get(CSV).status_code == 403
    assert _page_client(ft.cast.admin).get(PDF).status_code == 403


def test_a_bad_filter_of_the_csv_is_400(ft):
    response = _page_client(ft.secretary).get(CSV + "?state=nope")
    assert response.status_code == 400 and b"invalid_filter" in response.content


# --- PDF --------------------------------------------------------------------------------------------

def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.django_db(transaction=True)
def test_the_pdf_report_is_a_vietnamese_administrative_report(board):
    response = _page_client(board.secretary).get(PDF)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = _text(response.content)
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "VĂN PHÒNG CHÍNH PHỦ",
                   "BÁO CÁO", "Tình hình thực hiện nhiệm vụ Chính phủ giao", "Nơi nhận", "Bộ Y tế",
                   "DANH SÁCH NHIỆM VỤ QUÁ HẠN", "Quá hạn"):
        assert phrase in text, phrase
    assert "Hà Nội, ngày" in text


@pytest.mark.django_db(transaction=True)
def test_the_pdf_lists_at_most_the_bound_of_overdue_tasks(board, settings):
    settings.TASKS_REPORT_MAX_OVERDUE = 1
    second = _set(new_task(board, title="Quá hạn thứ hai"), deadline=days(-40))
    text = " ".join(_text(_page_client(board.secretary).get(PDF + "?overdue=true").content).split())
    listed = text.split("DANH SÁCH")[1].split("IV.")[0]
    assert f"1 {second.title}" in listed and f"2 {board.overdue.title}" not in listed, listed
    assert "Danh sách nêu 1 nhiệm vụ quá hạn lâu nhất trong tổng số 2" in text


def test_the_report_is_never_rendered_inside_a_transaction(ft):
    today = services.today()
    with transaction.atomic(), pytest.raises(InTransaction):
        report_pdf(tasks_visible_to(ft.secretary), today=today, generated_at=services.current_time(),
                   filters_text=[])


def test_the_pdf_is_refused_to_a_minister(ft):
    assert _page_client(ft.cast.member).get(PDF).status_code == 403


def test_under_asgi_the_csv_is_an_asynchronous_stream_with_the_same_lines(board):
    """Under Daphne Django would read a plain iterator to its end before sending: the view hands it
    batches instead (read in the request's thread, with its database connection)."""
    from asgiref.sync import async_to_sync
    from django.core.handlers.asgi import ASGIRequest

    from followup.dashboard_views import tasks_export_csv

    scope = {"type": "http", "method": "GET", "path": CSV, "query_string": b"ministry=bo-tai-chinh",
             "headers": [], "server": ("testserver", 80)}
    request = ASGIRequest(scope, io.BytesIO(b""))
    request.user = board.secretary
    response = tasks_export_csv(request)
    assert response.is_async

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    streamed = async_to_sync(read)()
    assert streamed == b"".join(_page_client(board.secretary).get(CSV + "?ministry=bo-tai-chinh").streaming_content)
    assert streamed.startswith(b"\xef\xbb\xbf") and len(streamed.decode("utf-8-sig").splitlines()) == 1 + 6
