"""The report form on the task page (followup.views.task_report_post): the lead ministry reports
progress or completion with PDFs; whoever sees the task reads the reports and downloads their files;
a refusal says why beside the field and stores nothing; the others get no form, 403 or 404."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from followup.models import TaskChange, TaskReport

from ..pdfs import make_pdf, pdf_with_javascript
from .conftest import walk
from .test_reports import snapshot


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pdf(name: str = "bao-cao.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data or make_pdf(["Báo cáo tiến độ tháng 12"], pages=2),
                              content_type="application/pdf")


def post(client, task, **fields):
    data = {f"reports-{k}": v for k, v in fields.items()}
    return client.post(f"/tasks/{task.pk}/reports/", data)


def test_the_lead_ministry_reports_progress_with_a_pdf_and_everyone_who_sees_the_task_reads_it(ft):
    lead = browser(ft.lead_user)
    page = lead.get(f"/tasks/{ft.task.pk}/").content.decode()
    assert "data-report-form" in page and 'enctype="multipart/form-data"' in page
    response = post(lead, ft.task, kind="progress", text="Đã lấy ý kiến các bộ, ngành.", files=[pdf()])
    assert response.status_code == 302 and response["Location"].endswith(f"/tasks/{ft.task.pk}/#reports")
    report = TaskReport.objects.get(task=ft.task)
    assert (report.kind, report.author, report.attachments.count()) == ("progress", ft.lead_user, 1)
    ft.task.refresh_from_db()
    assert ft.task.state == "in_progress"  # reporting progress on an assigned task starts the work
    attachment = report.attachments.get()
    for who in (ft.secretary, ft.co_user, ft.cast.pm, ft.cast.member):
        html = browser(who).get(f"/tasks/{ft.task.pk}/").content.decode()
        assert "Đã lấy ý kiến các bộ, ngành." in html and f"/tasks/{ft.task.pk}/attachments/{attachment.pk}/" in html
        assert "data-report-form" not in html, who  # only the lead ministry reports
    download = browser(ft.co_user).get(f"/tasks/{ft.task.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_report_of_completion_moves_the_task_to_the_secretariat(ft):
    walk(ft, ft.task, "in_progress")
    response = post(browser(ft.lead_user), ft.task, kind="done", text="Đã trình Chính phủ dự thảo.",
                    files=[pdf("du-thao.pdf"), pdf("to-trinh.pdf", make_pdf(["Tờ trình"]))])
    assert response.status_code == 302
    ft.task.refresh_from_db()
    assert ft.task.state == "reported_done"
    assert TaskChange.objects.filter(task=ft.task, kind="reported").get().reason == "Đã trình Chính phủ dự thảo."
    assert TaskReport.objects.get(task=ft.task, kind="done").attachments.count() == 2
    html = browser(ft.lead_user).get(f"/tasks/{ft.task.pk}/").content.decode()
    assert "data-report-form" not in html  # reported done: the secretariat's turn


@pytest.mark.parametrize(("fields", "says"), [
    ({"kind": "progress", "text": "   "}, "Write what has been done so far."),
    ({"kind": "progress", "text": "Có tệp độc", "files": "bad"}, "JavaScript"),
    ({"kind": "later", "text": "x"}, "Select a valid choice"),
])
def test_a_refused_report_says_why_on_the_page_and_stores_nothing(ft, fields, says):
    if fields.get("files") == "bad":
        fields = {**fields, "files": [pdf("doc.pdf", pdf_with_javascript())]}
    before = snapshot()
    response = post(browser(ft.lead_user), ft.task, **fields)
    assert response.status_code == 400
    assert says.lower() in response.content.decode().lower()
    assert snapshot() == before


@pytest.mark.parametrize(("who", "status"), [("co_user", 403), ("secretary", 403), ("pm", 403),
                                             ("outsider", 404), ("admin", 404)])
def test_who_may_not_report_is_refused_before_the_body_is_read(ft, who, status):
    user = getattr(ft, who, None) or getattr(ft.cast, who)
    before = snapshot()
    response = post(browser(user), ft.task, kind="progress", text="Không được phép", files=[pdf()])
    assert response.status_code == status
    assert snapshot() == before
