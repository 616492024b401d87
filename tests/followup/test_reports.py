"""followup.reports: progress reports and reports of completion with PDF attachments (issue 18 §2) —
the services, the API (list, post, Idempotency-Key, the task's detail) and the download, for every
persona; every bound's code with nothing stored (no row, no file); a bad PDF refused with its code.

Over 400 lines on purpose: the services, the API and the downloads share one set of refusals and
snapshots, and every bound's test sits beside the others.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from ecabinet.errors import DomainError
from ecabinet.models import AuditEntry
from followup import reports, services
from followup.models import Task, TaskAttachment, TaskChange, TaskReport
from meetings.models import Meeting

from ..conftest import upload
from ..pdfs import encrypted_pdf, make_pdf, pdf_with_javascript
from ..test_screens_i18n import _compiled_messages  # noqa: F401  (compiles the .mo files when stale)
from .conftest import walk


def pdf(name: str = "bao-cao.pdf", text: str = "Báo cáo tiến độ"):
    return upload(name=name, data=make_pdf([text]))


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "tasks"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def snapshot():
    return (list(Task.objects.order_by("pk").values()), list(TaskChange.objects.order_by("pk").values()),
            list(TaskReport.objects.order_by("pk").values()), list(TaskAttachment.objects.order_by("pk").values()),
            AuditEntry.objects.count(), stored_files())


def refused(code: str, status: int, call):
    before = snapshot()
    with pytest.raises(DomainError) as caught:
        call()
    assert (caught.value.code, caught.value.status) == (code, status)
    assert snapshot() == before, "a refusal changed stored data (or left a file)"
    return caught.value


@pytest.fixture
def delegate(substitute, ft):
    """``deputy01``: the approved substitute of ``member03``, who is of the lead ministry."""
    substitute.member3.ministry = ft.lead
    substitute.member3.save(update_fields=["ministry"])
    ft.delegate = substitute.deputy
    return ft


# --- the services ----------------------------------------------------------------------------------

def test_a_progress_report_on_an_assigned_task_starts_it_and_keeps_its_files(ft):
    data = make_pdf(["Báo cáo tiến độ tháng 12"], pages=3)
    report = reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="  Đã lấy ý kiến các bộ.  ",
                                          files=[upload(name="tien-do.pdf", data=data)])
    ft.task.refresh_from_db()
    assert ft.task.state == "in_progress"
    assert (report.kind, report.text, report.author) == ("progress", "Đã lấy ý kiến các bộ.", ft.lead_user)
    change = TaskChange.objects.filter(task=ft.task).last()
    assert (change.kind, change.from_state, change.to_state, change.actor) == ("started", "assigned", "in_progress",
                                                                              ft.lead_user)
    attachment = report.attachments.get()
    assert (attachment.filename, attachment.pages, attachment.size) == ("tien-do.pdf", 3, len(data))
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    with attachment.file.open("rb") as handle:
        assert handle.read() == data
    entry = AuditEntry.objects.filter(action="task.report_progress").get()
    assert entry.data["report"] == report.pk and entry.data["from"] == "assigned"
    assert entry.data["attachments"] == [{"id": attachment.pk, "filename": "tien-do.pdf",
                                          "sha256": attachment.sha256, "size": len(data), "pages": 3}]
    assert "Đã lấy ý kiến" not in str(entry.data)  # ids, counts, hashes: not the text


def test_a_progress_report_on_a_task_in_progress_leaves_its_state_and_history(ft):
    walk(ft, ft.task, "in_progress")
    changes = TaskChange.objects.count()
    reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="Tiếp tục hoàn thiện.")
    ft.task.refresh_from_db()
    assert ft.task.state == "in_progress" and TaskChange.objects.count() == changes


def test_a_progress_report_on_a_returned_task_takes_it_back_in_hand(ft):
    walk(ft, ft.task, "returned")
    reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="Đang bổ sung số liệu.")
    ft.task.refresh_from_db()
    assert ft.task.state == "in_progress"
    assert TaskChange.objects.filter(task=ft.task).last().from_state == "returned"


def test_a_report_of_completion_with_files_waits_for_the_secretariat(ft):
    report = reports.task_report_done(actor=ft.lead_user, task=ft.task, text="Đã trình Chính phủ ban hành.",
                                      files=[pdf("nghi-dinh.pdf"), pdf("to-trinh.pdf", "Tờ trình")])
    ft.task.refresh_from_db()
    assert ft.task.state == "reported_done" and ft.task.reported_at is not None
    assert [a.filename for a in report.attachments.order_by("position")] == ["nghi-dinh.pdf", "to-trinh.pdf"]
    step = TaskChange.objects.filter(task=ft.task).last()
    assert (step.kind, step.reason) == ("reported", "Đã trình Chính phủ ban hành.")
    entry = AuditEntry.objects.filter(action="task.reported").get()
    assert entry.data["report"] == report.pk and len(entry.data["attachments"]) == 2
    services.task_return(actor=ft.secretary, task=ft.task, reason="Thiếu phụ lục.")
    reports.task_report_done(actor=ft.lead_user, task=ft.task, files=[pdf("phu-luc.pdf", "Phụ lục")])
    assert services.task_accept(actor=ft.secretary, task=ft.task).state == "accepted"
    assert list(TaskReport.objects.filter(task=ft.task).values_list("kind", flat=True)) == ["done", "done"]


def test_the_old_report_call_is_a_report_of_completion(ft):
    task = services.task_report(actor=ft.lead_user, task=ft.task, note="Xong.")
    assert task.state == "reported_done"
    assert TaskReport.objects.get(task=ft.task).text == "Xong."


def test_the_delegate_reports_for_the_lead_ministry(delegate):
    ft = delegate
    report = reports.task_report_progress(actor=ft.delegate, task=ft.task, text="Thứ trưởng báo cáo.",
                                          files=[pdf()])
    assert report.author == ft.delegate


@pytest.mark.parametrize("state", ["reported_done", "accepted", "cancelled"])
@pytest.mark.parametrize("kind", ["progress", "done"])
def test_no_report_on_a_task_reported_done_or_finished(ft, state, kind):
    walk(ft, ft.task, state)
    refused("transition_not_allowed", 409, lambda: reports.report_prepare(
        actor=ft.lead_user, task=ft.task.pk, kind=kind, text="Tiến độ", files=[pdf()]))


@pytest.mark.parametrize("who", ["secretary", "co_user", "member", "pm"])
def test_only_the_lead_ministry_reports(ft, who):
    actor = getattr(ft, who, None) or getattr(ft.cast, who)
    refused("forbidden", 403, lambda: reports.task_report_progress(actor=actor, task=ft.task, text="x"))


@pytest.mark.parametrize("who", ["outsider", "admin", "archivist", "member2", "observer"])
def test_a_task_one_cannot_see_takes_no_report(ft, who):
    refused("not_found", 404, lambda: reports.task_report_progress(actor=getattr(ft.cast, who), task=ft.task,
                                                                   text="x", files=[pdf()]))


# --- bounds: every code, nothing stored ----------------------------------------------------------------

def test_every_bound_has_its_code_and_changes_nothing(ft, settings):
    lead = ft.lead_user

    def post(**kw):
        return lambda: reports.task_report_progress(actor=lead, task=ft.task, **{"text": "Tiến độ", **kw})

    refused("report_text_required", 400, post(text="   "))
    refused("text_too_long", 400, post(text="x" * (settings.TASK_REPORT_TEXT_MAX_CHARS + 1)))
    refused("text_too_long", 400, lambda: reports.task_report_done(
        actor=lead, task=ft.task, text="x" * (settings.TASK_REPORT_TEXT_MAX_CHARS + 1)))
    settings.TASK_REPORT_MAX_ATTACHMENTS = 2
    refused("too_many_attachments", 400, post(files=[pdf("a.pdf", "a"), pdf("b.pdf", "b"), pdf("c.pdf", "c")]))
    one = pdf("a.pdf", "a")
    settings.TASK_REPORT_MAX_BYTES = one.size + 10
    refused("attachments_too_large", 413, post(files=[one, pdf("b.pdf", "b")]))
    settings.TASK_REPORT_MAX_BYTES = 50 * 1024 * 1024
    same = make_pdf(["Cùng một tệp"])
    refused("duplicate_attachment", 400, post(files=[upload(name="a.pdf", data=same), upload(name="b.pdf", data=same)]))
    settings.DOCUMENT_MAX_BYTES = 100
    refused("file_too_large", 413, post(files=[pdf()]))
    refused("invalid_report_kind", 400, lambda: reports.report_prepare(actor=lead, task=ft.task, kind="final"))


def test_a_task_keeps_at_most_so_many_reports(ft, settings):
    settings.TASK_REPORTS_MAX = 2
    for n in range(2):
        reports.task_report_progress(actor=ft.lead_user, task=ft.task, text=f"Lần {n}")
    refused("too_many_reports", 409, lambda: reports.task_report_progress(actor=ft.lead_user, task=ft.task,
                                                                           text="Lần 3", files=[pdf()]))


def test_the_count_is_checked_again_under_the_lock(ft, settings):
    """Prepared when there was room; another report came in between: refused, and its file is not stored."""
    settings.TASK_REPORTS_MAX = 1
    prepared = reports.report_prepare(actor=ft.lead_user, task=ft.task, kind="progress", text="Một",
                                      files=[pdf()])
    reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="Hai")
    refused("too_many_reports", 409, lambda: reports.report_record(actor=ft.lead_user, prepared=prepared))


@pytest.mark.parametrize(("data", "code", "status"), [
    (b"GIF89a not a pdf at all", "not_pdf", 415),
    (encrypted_pdf(), "pdf_encrypted", 422),
    (pdf_with_javascript(), "pdf_javascript", 422),
])
def test_a_bad_pdf_is_refused_with_its_code_naming_the_file(ft, data, code, status):
    error = refused(code, status, lambda: reports.task_report_progress(
        actor=ft.lead_user, task=ft.task, text="Tiến độ", files=[pdf("tot.pdf"), upload(name="hong.pdf", data=data)]))
    assert "hong.pdf" in str(error.message)


def test_a_write_that_fails_after_storing_its_files_deletes_them(ft):
    """The database refuses the second attachment (the same file twice in a report: a unique
    constraint) after both files were copied: the transaction rolls back and both copies go."""
    good = reports.report_prepare(actor=ft.lead_user, task=ft.task, kind="progress", text="Tiến độ", files=[pdf()])
    twice = reports.PreparedReport(task_id=good.task_id, kind=good.kind, text=good.text,
                                   files=(good.files[0], ("lai.pdf", good.files[0][1])))
    before = snapshot()
    with pytest.raises(Exception, match=r"(?i)unique"):
        reports.report_record(actor=ft.lead_user, prepared=twice)
    assert snapshot() == before and stored_files() == []


def test_a_report_rolled_back_after_it_was_written_keeps_no_file(ft):
    """The API writes the report inside the Idempotency-Key's transaction: when that transaction
    rolls back after ``report_record`` returned, the guard around it deletes the report's files; a
    report that commits keeps them."""
    from django.db import transaction

    class Rollback(Exception):
        pass

    prepared = reports.report_prepare(actor=ft.lead_user, task=ft.task, kind="progress", text="Một", files=[pdf()])
    before = snapshot()
    with pytest.raises(Rollback), reports.files_kept_only_if_written() as stored, transaction.atomic():
        reports.report_record(actor=ft.lead_user, prepared=prepared, stored=stored)
        assert len(stored_files()) == 1
        raise Rollback
    assert snapshot() == before and stored_files() == []
    with reports.files_kept_only_if_written() as stored, transaction.atomic():
        report = reports.report_record(actor=ft.lead_user, prepared=prepared, stored=stored)
    with report.attachments.get().file.open("rb") as handle:
        assert handle.read().startswith(b"%PDF-")


def test_a_refusal_reads_in_vietnamese(ft):
    with translation.override("vi"), pytest.raises(DomainError) as caught:
        reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="")
    assert caught.value.code == "report_text_required"
    assert str(caught.value.message) == "Vui lòng ghi rõ những việc đã thực hiện đến nay."


# --- every persona × post, list, download (the API and the file) --------------------------------------

URL = "/api/v1/tasks/{}/reports/"
# persona → (POST a report, GET the list, GET an attachment)
MATRIX = {
    "lead_user": (201, 200, 200),
    "delegate": (201, 200, 200),
    "secretary": (403, 200, 200),
    "co_user": (403, 200, 200),
    "member": (403, 200, 200),    # a member who attended the session
    "pm": (403, 200, 200),        # chairs it
    "member2": (404, 404, 404),   # did not attend
    "outsider": (404, 404, 404),
    "admin": (404, 404, 404),
    "archivist": (404, 404, 404),  # the session is not closed
}


@pytest.mark.parametrize("name", list(MATRIX))
def test_who_posts_lists_and_downloads(delegate, name):
    ft = delegate
    existing = reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="Báo cáo đầu tiên",
                                            files=[pdf("dau-tien.pdf")])
    attachment = existing.attachments.get()
    user = getattr(ft, name, None) or getattr(ft.cast, name)
    client = ft.cast.client(user)
    want_post, want_list, want_file = MATRIX[name]
    before = TaskReport.objects.count()
    posted = client.post(URL.format(ft.task.pk), {"kind": "progress", "text": "Tiến độ", "files": [pdf("moi.pdf")]},
                         format="multipart")
    assert posted.status_code == want_post, posted.content
    assert TaskReport.objects.count() == before + (want_post == 201)
    if want_post == 201:
        body = posted.json()
        assert body["state"] == "in_progress" and body["report"]["attachments"][0]["filename"] == "moi.pdf"
    else:
        assert posted.json()["code"] == {403: "forbidden", 404: "not_found"}[want_post]
    listed = client.get(URL.format(ft.task.pk))
    assert listed.status_code == want_list
    if want_list == 200:
        assert listed.json()["results"][0]["text"] == "Báo cáo đầu tiên"
        url = listed.json()["results"][0]["attachments"][0]["url"]
        assert url == f"/tasks/{ft.task.pk}/attachments/{attachment.pk}/"
    from django.test import Client

    browser = Client()
    browser.force_login(user)
    got = browser.get(f"/tasks/{ft.task.pk}/attachments/{attachment.pk}/")
    assert got.status_code == want_file
    if want_file == 200:
        assert got["Content-Disposition"] == "attachment; filename*=UTF-8''dau-tien.pdf"
        assert "no-store" in got["Cache-Control"] and "private" in got["Cache-Control"]
        assert b"".join(got.streaming_content).startswith(b"%PDF-")
        assert AuditEntry.objects.filter(action="task.attachment_downloaded", actor=user).exists()


def test_the_archivist_reads_the_reports_of_a_closed_session_and_posts_none(ft):
    reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="Báo cáo", files=[pdf()])
    ft.cast.set_status(Meeting.Status.CLOSED)
    client = ft.cast.client(ft.cast.archivist)
    assert client.get(URL.format(ft.task.pk)).status_code == 200
    assert client.post(URL.format(ft.task.pk), {"kind": "progress", "text": "x"}, format="multipart").status_code == 403
    attachment = TaskAttachment.objects.get()
    from django.test import Client

    browser = Client()
    browser.force_login(ft.cast.archivist)
    assert browser.get(f"/tasks/{ft.task.pk}/attachments/{attachment.pk}/").status_code == 200


def test_an_attachment_is_found_only_under_its_own_task(ft):
    from .conftest import new_task

    other = new_task(ft)
    attachment = reports.task_report_progress(actor=ft.lead_user, task=ft.task, text="x",
                                              files=[pdf()]).attachments.get()
    from django.test import Client

    browser = Client()
    browser.force_login(ft.lead_user)
    assert browser.get(f"/tasks/{other.pk}/attachments/{attachment.pk}/").status_code == 404
    assert browser.get(f"/tasks/{ft.task.pk}/attachments/{attachment.pk + 1000}/").status_code == 404
    anonymous = Client().get(f"/tasks/{ft.task.pk}/attachments/{attachment.pk}/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_the_api_refuses_before_reading_the_body(ft):
    """Who may post is asked first: a body that would be 400 is 403 / 404 for those who may not post."""
    for user, status in ((ft.secretary, 403), (ft.cast.admin, 404), (ft.cast.outsider, 404)):
        got = ft.cast.client(user).post(URL.format(ft.task.pk), {"kind": "nonsense"}, format="multipart")
        assert got.status_code == status
    got = ft.cast.client(ft.lead_user).post(URL.format(ft.task.pk), {"kind": "nonsense"}, format="multipart")
    assert (got.status_code, got.json()["code"]) == (400, "invalid")


def test_the_api_reports_done_and_a_bad_pdf_with_its_code(ft):
    client = ft.cast.client(ft.lead_user)
    bad = client.post(URL.format(ft.task.pk), {"kind": "done", "text": "Xong",
                                               "files": [upload(name="x.pdf", data=b"not a pdf")]}, format="multipart")
    assert (bad.status_code, bad.json()["code"]) == (415, "not_pdf")
    assert not TaskReport.objects.exists() and stored_files() == []
    done = client.post(URL.format(ft.task.pk), {"kind": "done", "text": "Xong", "files": [pdf()]}, format="multipart")
    assert done.status_code == 201 and done.json()["state"] == "reported_done"
    detail = ft.cast.client(ft.secretary).get(f"/api/v1/tasks/{ft.task.pk}/").json()
    assert [r["kind"] for r in detail["reports"]] == ["done"]
    assert detail["reports"][0]["attachments"][0]["sha256"] == TaskAttachment.objects.get().sha256
    assert "progress" in ft.cast.client(ft.lead_user).get(f"/api/v1/tasks/{ft.task.pk}/").json()["my_actions"]


def test_an_idempotent_repeat_returns_the_first_report_and_stores_nothing_more(ft):
    client = ft.cast.client(ft.lead_user)
    data = make_pdf(["Báo cáo tiến độ"])
    body = {"kind": "progress", "text": "Tiến độ", "files": [upload(name="bc.pdf", data=data)]}
    first = client.post(URL.format(ft.task.pk), body, format="multipart", HTTP_IDEMPOTENCY_KEY="rep-1")
    files = stored_files()
    again = client.post(URL.format(ft.task.pk), {**body, "files": [upload(name="bc.pdf", data=data)]},
                        format="multipart", HTTP_IDEMPOTENCY_KEY="rep-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert TaskReport.objects.count() == 1 and stored_files() == files and len(files) == 1
    other = client.post(URL.format(ft.task.pk), {**body, "text": "Khác", "files": [upload(name="bc.pdf", data=data)]},
                        format="multipart", HTTP_IDEMPOTENCY_KEY="rep-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


# --- the rate of task writes ----------------------------------------------------------------------------

def test_task_writes_are_rate_limited_and_a_refused_one_writes_nothing(ft, settings):
    settings.RATE_TASK_WRITES_PER_MINUTE = 2
    client = ft.cast.client(ft.lead_user)
    assert client.post(f"/api/v1/tasks/{ft.task.pk}/start/").status_code == 200
    assert client.post(URL.format(ft.task.pk), {"kind": "progress", "text": "Một"},
                       format="multipart").status_code == 201
    before = snapshot()
    third = client.post(URL.format(ft.task.pk), {"kind": "done", "text": "Hai", "files": [pdf()]}, format="multipart")
    assert (third.status_code, third.json()["code"]) == (429, "rate_limited")
    assert int(third["Retry-After"]) >= 1
    assert snapshot() == before
    refused_transition = client.post(f"/api/v1/tasks/{ft.task.pk}/report/", {"note": "x"}, format="json")
    assert refused_transition.status_code == 429
    assert snapshot() == before
    # the secretariat's writes are its own account's: not refused by the ministry's
    assert ft.cast.client(ft.secretary).post(f"/api/v1/tasks/{ft.task.pk}/extend/", {
        "deadline": (ft.task.deadline.replace(year=ft.task.deadline.year + 1)).isoformat(), "reason": "Gia hạn"},
        format="json").status_code == 200


def test_assigning_tasks_is_rate_limited_too(ft, settings):
    settings.RATE_TASK_WRITES_PER_MINUTE = 1
    client = ft.cast.client(ft.secretary)
    body = {"source_kind": "agenda_item", "source_id": ft.cast.item.pk, "title": "Nhiệm vụ",
            "lead_ministry": "bo-tai-chinh", "deadline": ft.task.deadline.isoformat()}
    assert client.post("/api/v1/tasks/", body, format="json").status_code == 201
    count = Task.objects.count()
    refused_create = client.post("/api/v1/tasks/", body, format="json")
    assert (refused_create.status_code, refused_create.json()["code"]) == (429, "rate_limited")
    assert Task.objects.count() == count
    assert client.get("/api/v1/tasks/").status_code == 200  # reads are not counted


def test_the_schema_documents_the_reports(ft):
    schema = ft.cast.client(ft.secretary).get("/api/v1/schema/?format=json").json()
    reports_path = schema["paths"]["/api/v1/tasks/{id}/reports/"]
    assert reports_path["get"]["operationId"] == "tasks_reports_list"
    post = reports_path["post"]
    assert post["operationId"] == "tasks_reports_create"
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"kind", "text", "files"} <= set(schema["components"]["schemas"][form]["properties"])
    detail = schema["paths"]["/api/v1/tasks/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]
    name = detail["schema"]["$ref"].rsplit("/", 1)[1]
    assert "reports" in schema["components"]["schemas"][name]["properties"]


def test_a_task_of_a_ballot_without_a_session_takes_reports_and_its_recipients_read_them(ft):
    from django.test import Client

    from .test_services import closed_ballot

    ballot = closed_ballot(ft)  # to member01, linked to no session
    task = services.task_create(actor=ft.secretary, source_kind="ballot", source_id=ballot.pk, title="Ban hành",
                                lead_ministry="bo-tai-chinh", deadline=services.today())
    report = reports.task_report_done(actor=ft.lead_user, task=task, text="Đã ban hành.", files=[pdf()])
    attachment = report.attachments.get()
    for user, status in ((ft.cast.member, 200), (ft.cast.archivist, 200), (ft.cast.member2, 404)):
        browser = Client()
        browser.force_login(user)
        assert browser.get(f"/tasks/{task.pk}/attachments/{attachment.pk}/").status_code == status
