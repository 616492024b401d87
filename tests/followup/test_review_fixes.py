"""What an attacker session against the follow-up screens found, each held by a test: a task
attachment is cleaned once, not on every download, and offered under a safe ``.pdf`` name; slow
PDF work waits for a slot or says "busy"; the PDF report is rate-limited and names no session the
reader does not see (its session filter)."""

from __future__ import annotations

import hashlib
import io
from contextlib import contextmanager

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from pypdf import PdfReader

from followup import files, reports
from meetings import services as meeting_services
from meetings.pdfcheck import inspect_concurrency, work_slot

from ..conftest import upload
from ..pdfs import make_pdf


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@contextmanager
def every_slot_taken():
    slot, held = work_slot(), 0
    try:
        for _ in range(inspect_concurrency()):
            assert slot.acquire(timeout=1)
            held += 1
        yield
    finally:
        for _ in range(held):
            slot.release()


@pytest.fixture
def attached(ft):
    name = "Bao-cao\u202egnp.html"  # a right-to-left override and an HTML name
    report = reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="Tiến độ tháng 12",
                                          files=[upload(name=name, data=make_pdf(["Phụ lục số liệu"]))])
    ft.attachment = report.attachments.get()
    ft.url = f"/tasks/{ft.task.pk}/attachments/{ft.attachment.pk}/"
    return ft


def test_an_attachment_is_cleaned_once_and_offered_as_a_pdf(attached, monkeypatch):
    assert attached.attachment.filename == "Bao-caognp.html.pdf"  # kept clean from the start
    cleaned = []
    real = files.sanitise
    monkeypatch.setattr(files, "sanitise", lambda pdf: (cleaned.append(1), real(pdf)))
    client = browser(attached.secretary)
    first = client.get(attached.url)
    body = b"".join(first.streaming_content)
    assert first.status_code == 200 and body.startswith(b"%PDF")
    assert first["Content-Disposition"].endswith("Bao-caognp.html.pdf")
    assert default_storage.exists(attached.attachment.file.name.removesuffix(".pdf") + ".served.pdf")
    second = browser(attached.co_user).get(attached.url)
    assert b"".join(second.streaming_content) == body
    assert cleaned == [1]  # the second reader got the copy already made
    # the stored file is still the one the ministry sent (its SHA-256 is in the report and the archive)
    with attached.attachment.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == attached.attachment.sha256


def test_a_name_kept_before_the_cleaning_is_served_safely():
    assert files.served_name("x\u202eexe.html") == "xexe.html.pdf"
    assert files.served_name("Báo cáo.PDF") == "Báo cáo.PDF"


def test_when_every_slot_is_busy_a_first_download_says_so_and_prepares_nothing(attached, settings):
    settings.PDF_INSPECT_QUEUE_SECONDS = 0
    with every_slot_taken():
        response = browser(attached.secretary).get(attached.url)
    assert response.status_code == 503 and int(response["Retry-After"]) >= 1
    assert "try again" in response.content.decode()
    assert not default_storage.exists(attached.attachment.file.name.removesuffix(".pdf") + ".served.pdf")
    assert browser(attached.secretary).get(attached.url).status_code == 200  # free again: served


@pytest.mark.django_db(transaction=True)
def test_the_pdf_report_is_rate_limited_and_waits_for_a_slot(ft, settings):
    settings.PDF_INSPECT_QUEUE_SECONDS = 0
    settings.RATE_PDF_REPORTS_PER_MINUTE = 2
    client = browser(ft.secretary)
    with every_slot_taken():
        busy = client.get("/tasks/report.pdf")
    assert busy.status_code == 503 and busy.content.startswith(b"report_busy") and busy["Retry-After"]
    assert client.get("/tasks/report.pdf").status_code == 200
    limited = client.get("/tasks/report.pdf")
    assert limited.status_code == 429 and limited.content.startswith(b"rate_limited") and limited["Retry-After"]


@pytest.mark.django_db(transaction=True)
def test_the_pdf_report_names_no_session_the_reader_does_not_see(ft):
    hidden = meeting_services.meeting_create(actor=ft.secretary, title="Phiên họp chuyên đề MẬT-XYZ", kind="regular",
                                             starts_at=ft.meeting.starts_at, location="Hà Nội")
    response = browser(ft.secretary).get(f"/tasks/report.pdf?meeting={hidden.pk}")
    assert response.status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "MẬT-XYZ" not in text  # no task of it is seen (there is none): named by its number only
    shown = browser(ft.secretary).get(f"/tasks/report.pdf?meeting={ft.meeting.pk}")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(shown.content)).pages)
    assert ft.meeting.title.split()[0] in text
