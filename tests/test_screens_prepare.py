"""The secretariat's screens: creating a session, building and reordering the agenda, uploading
documents and versions, choosing recipients, inviting, and moving the session through its states.

Every refused form shows the service's sentence (with its machine code as ``data-code``) and leaves
the stored data as it was.
"""

from __future__ import annotations

import html
import re

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ecabinet.models import Notification
from meetings import services
from meetings.models import AgendaItem, Document, DocumentVersion, Meeting, Participant

from .factories import MinistryFactory, UserFactory, in_days
from .pdfs import encrypted_pdf, make_pdf, state_secret_pdf

FLASH = re.compile(r'<div class="flash flash--(\w+)"[^>]*?(?: data-code="([^"]*)")?>(.*?)</div>', re.S)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flashes(response) -> list[tuple[str, str, str]]:
    """(level, code, text) of each message shown on the page."""
    return [(level, code, html.unescape(text).strip())
            for level, code, text in FLASH.findall(response.content.decode())]


def codes(response) -> list[str]:
    """Machine codes of the error messages shown."""
    return [code for level, code, _text in flashes(response) if level == "error"]


def pdf_file(name: str = "du-thao.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf() if data is None else data, content_type="application/pdf")


# --- creating a session ---------------------------------------------------------------------------

def test_it_creates_a_draft_session_from_the_form(cast):
    client = client_for(cast.secretary)
    response = client.post("/meetings/new/", {"title": "Phiên họp chuyên đề xây dựng pháp luật",
                                              "kind": "thematic", "starts_at": "2030-05-04T08:30",
                                              "location": "Trụ sở Chính phủ"})
    meeting = Meeting.objects.get(title="Phiên họp chuyên đề xây dựng pháp luật")
    assert response.status_code == 302 and response["Location"] == f"/meetings/{meeting.pk}/prepare/"
    assert meeting.status == "draft" and meeting.kind == "thematic"
    assert meeting.starts_at.isoformat() == "2030-05-04T01:30:00+00:00"  # entered in Asia/Ho_Chi_Minh
    assert meeting.participants.get().user == cast.secretary


def test_it_shows_form_errors_and_creates_nothing(cast):
    before = Meeting.objects.count()
    response = client_for(cast.secretary).post("/meetings/new/", {"title": "", "kind": "regular",
                                                                  "starts_at": "not a date"})
    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    assert Meeting.objects.count() == before


def test_it_refuses_to_create_a_session_for_a_member(cast):
    response = client_for(cast.member).post("/meetings/new/", {"title": "X", "kind": "regular",
                                                               "starts_at": "2030-05-04T08:30"})
    assert response.status_code == 404
    assert not Meeting.objects.filter(title="X").exists()


# --- agenda ---------------------------------------------------------------------------------------

def test_it_adds_agenda_items_and_reorders_them(cast):
    ministry = MinistryFactory(code="bo-tai-chinh", name="Bộ Tài chính", name_en="Ministry of Finance")
    client = client_for(cast.secretary)
    url = f"/meetings/{cast.meeting.pk}/agenda/add/"
    response = client.post(url, {"title": "Báo cáo tình hình kinh tế - xã hội", "presenter_ministry": ministry.pk,
                                 "planned_minutes": "45"}, follow=True)
    assert ("success", "", "Agenda item 2 was added.") in flashes(response)
    client.post(url, {"title": "Dự thảo Luật Phòng, chống thiên tai"})
    second = AgendaItem.objects.get(meeting=cast.meeting, position=2)
    assert second.presenter_ministry == ministry and second.planned_minutes == 45

    client.post(f"/agenda-items/{second.pk}/move/", {"direction": "up"})
    titles = list(cast.meeting.agenda_items.order_by("position").values_list("title", flat=True))
    assert titles == ["Báo cáo tình hình kinh tế - xã hội", "Dự thảo Nghị định về thuế",
                      "Dự thảo Luật Phòng, chống thiên tai"]

    page = client.get(f"/meetings/{cast.meeting.pk}/prepare/").content.decode()
    assert page.index("Báo cáo tình hình kinh tế") < page.index("Dự thảo Nghị định về thuế")
    assert "Ministry of Finance" in page  # tests run in English


def test_it_refuses_to_move_the_first_item_up_and_changes_nothing(cast):
    response = client_for(cast.secretary).post(f"/agenda-items/{cast.item.pk}/move/", {"direction": "up"},
                                               follow=True)
    assert codes(response) == ["invalid_position"]
    cast.item.refresh_from_db()
    assert cast.item.position == 1


def test_it_refuses_an_agenda_item_with_too_many_minutes(cast):
    response = client_for(cast.secretary).post(f"/meetings/{cast.meeting.pk}/agenda/add/",
                                               {"title": "Quá dài", "planned_minutes": "9999"}, follow=True)
    assert codes(response) == ["invalid_form"]
    assert not AgendaItem.objects.filter(title="Quá dài").exists()


def test_it_refuses_agenda_changes_by_a_member(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = client_for(cast.member)
    response = client.post(f"/meetings/{cast.meeting.pk}/agenda/add/", {"title": "Chen ngang"}, follow=True)
    assert codes(response) == ["forbidden"]
    assert not AgendaItem.objects.filter(title="Chen ngang").exists()
    response = client.post(f"/agenda-items/{cast.item.pk}/documents/",
                           {"title": "Tài liệu lạ", "classification": "public", "file": pdf_file()}, follow=True)
    assert codes(response) == ["forbidden"]
    assert not Document.objects.filter(title="Tài liệu lạ").exists()


def test_it_answers_404_to_an_outsider_posting_to_a_session(cast):
    client = client_for(cast.outsider)
    assert client.post(f"/meetings/{cast.meeting.pk}/agenda/add/", {"title": "X"}).status_code == 404
    assert client.post(f"/agenda-items/{cast.item.pk}/move/", {"direction": "down"}).status_code == 404
    assert client.post(f"/meetings/{cast.meeting.pk}/status/publish/").status_code == 404
    assert client.post(f"/documents/{cast.public_doc.pk}/versions/", {"file": pdf_file()}).status_code == 404
    assert cast.meeting.agenda_items.count() == 1


# --- documents ------------------------------------------------------------------------------------

def test_it_uploads_a_restricted_document_for_named_recipients(cast):
    client = client_for(cast.secretary)
    response = client.post(f"/agenda-items/{cast.item.pk}/documents/", {
        "title": "Báo cáo thẩm định", "classification": "restricted", "recipients": ["member02", "guest"],
        "file": pdf_file()}, follow=True)
    assert flashes(response)[0][0] == "success"
    document = Document.objects.get(title="Báo cáo thẩm định")
    assert document.current_version.number == 1
    assert Client().get("/").status_code == 302
    cast.set_status(Meeting.Status.PUBLISHED)
    assert client_for(cast.member2).get(f"/documents/{document.pk}/").status_code == 200
    assert client_for(cast.member).get(f"/documents/{document.pk}/").status_code == 404


def test_it_refuses_uploads_that_are_not_clean_pdfs_and_stores_nothing(cast):
    client = client_for(cast.secretary)
    url = f"/agenda-items/{cast.item.pk}/documents/"
    cases = {
        "not_pdf": SimpleUploadedFile("to-trinh.pdf", b"This is a Word file really", content_type="application/pdf"),
        "pdf_encrypted": pdf_file(data=encrypted_pdf()),
        "state_secret": pdf_file(data=state_secret_pdf()),
    }
    before = (Document.objects.count(), DocumentVersion.objects.count())
    for code, upload in cases.items():
        response = client.post(url, {"title": "Tờ trình", "classification": "internal", "file": upload},
                               follow=True)
        assert codes(response) == [code], code
        level, _code, text = flashes(response)[0]
        assert level == "error" and len(text) > 20
    assert (Document.objects.count(), DocumentVersion.objects.count()) == before
    not_pdf = SimpleUploadedFile("to-trinh.pdf", b"This is a Word file really", content_type="application/pdf")
    response = client.post(url, {"title": "Tờ trình", "classification": "internal", "file": not_pdf}, follow=True)
    assert "This file is not a PDF. Only PDF documents can be uploaded." in [t for *_x, t in flashes(response)]


def test_it_refuses_recipients_on_a_document_that_is_not_restricted(cast):
    response = client_for(cast.secretary).post(f"/agenda-items/{cast.item.pk}/documents/", {
        "title": "Thông báo", "classification": "public", "recipients": ["member02"], "file": pdf_file()},
        follow=True)
    assert codes(response) == ["recipients_only_for_restricted"]
    assert not Document.objects.filter(title="Thông báo").exists()


def test_it_uploads_a_new_version_with_a_note(cast):
    client = client_for(cast.secretary)
    url = f"/documents/{cast.internal_doc.pk}/versions/"
    response = client.post(url, {"file": pdf_file(data=make_pdf(["Tờ trình", "Điều 2. Sửa đổi"])),
                                 "note": "Bổ sung Điều 2"}, follow=True)
    assert flashes(response)[0][0] == "success"
    cast.internal_doc.refresh_from_db()
    assert cast.internal_doc.current_version.number == 2
    assert cast.internal_doc.current_version.note == "Bổ sung Điều 2"
    page = client.get(f"/documents/{cast.internal_doc.pk}/").content.decode()
    assert "Bổ sung Điều 2" in page and 'data-version="1"' in page and 'data-version="2"' in page


def test_it_refuses_a_new_version_identical_to_the_current_one(cast):
    same = cast.internal_doc.current_version.file.open("rb").read()
    response = client_for(cast.secretary).post(f"/documents/{cast.internal_doc.pk}/versions/",
                                               {"file": pdf_file(data=same)}, follow=True)
    assert codes(response) == ["same_as_current"]
    assert cast.internal_doc.versions.count() == 1


def test_it_changes_the_recipients_of_a_restricted_document(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = client_for(cast.secretary)
    url = f"/documents/{cast.restricted_doc.pk}/recipients/"
    client.post(url, {"recipients": ["member02"]})
    assert client_for(cast.member2).get(f"/documents/{cast.restricted_doc.pk}/").status_code == 200
    assert client_for(cast.member).get(f"/documents/{cast.restricted_doc.pk}/").status_code == 404
    response = client.post(url, {}, follow=True)
    assert codes(response) == ["recipients_required"]
    assert client_for(cast.member2).get(f"/documents/{cast.restricted_doc.pk}/").status_code == 200
    assert client_for(cast.member2).post(url, {"recipients": ["member02", "member01"]}).status_code == 404


# --- participants ---------------------------------------------------------------------------------

def test_it_invites_a_participant_and_withdraws_the_invitation(cast):
    newcomer = UserFactory(username="member03", full_name="Đỗ Văn Mới")
    client = client_for(cast.secretary)
    page = client.get(f"/meetings/{cast.meeting.pk}/participants/").content.decode()
    offered = re.search(r'<select name="username".*?</select>', page, re.S).group(0)
    assert 'value="member03"' in offered and 'value="member01"' not in offered
    client.post(f"/meetings/{cast.meeting.pk}/participants/add/", {"username": "member03", "role": "member"})
    assert cast.meeting.participants.filter(user=newcomer, role="member").exists()
    response = client.post(f"/meetings/{cast.meeting.pk}/participants/add/",
                           {"username": "member03", "role": "member"}, follow=True)
    assert codes(response) == ["invalid_form"]  # no longer offered
    client.post(f"/meetings/{cast.meeting.pk}/participants/member03/remove/")
    assert not cast.meeting.participants.filter(user=newcomer).exists()


def test_it_lets_the_chair_approve_a_substitute(cast):
    UserFactory(username="deputy01", full_name="Thứ trưởng Lê Văn Thay")
    cast.set_status(Meeting.Status.PUBLISHED)
    client_for(cast.secretary).post(f"/meetings/{cast.meeting.pk}/participants/add/",
                                    {"username": "deputy01", "role": "substitute", "substitute_for": "member01"})
    substitute = cast.meeting.participants.get(user__username="deputy01")
    assert not substitute.is_approved
    chair_page = client_for(cast.pm).get(f"/meetings/{cast.meeting.pk}/participants/").content.decode()
    assert "/participants/deputy01/approve/" in chair_page
    secretary_page = client_for(cast.secretary).get(f"/meetings/{cast.meeting.pk}/participants/").content.decode()
    assert "/approve/" not in secretary_page
    response = client_for(cast.secretary).post(f"/meetings/{cast.meeting.pk}/participants/deputy01/approve/",
                                               follow=True)
    assert codes(response) == ["forbidden"]
    client_for(cast.pm).post(f"/meetings/{cast.meeting.pk}/participants/deputy01/approve/")
    substitute.refresh_from_db()
    assert substitute.is_approved


def test_it_refuses_invitations_from_a_member(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    UserFactory(username="member03")
    response = client_for(cast.member).post(f"/meetings/{cast.meeting.pk}/participants/add/",
                                            {"username": "member03", "role": "member"})
    assert response.status_code == 404
    assert not cast.meeting.participants.filter(user__username="member03").exists()


# --- state and attendance -------------------------------------------------------------------------

def test_it_refuses_to_publish_without_a_chair_and_leaves_the_draft(cast):
    meeting = services.meeting_create(actor=cast.secretary, title="Phiên họp bất thường", kind="extraordinary",
                                      starts_at=in_days(2))
    services.agenda_item_add(actor=cast.secretary, meeting=meeting, title="Ứng phó bão số 3")
    client = client_for(cast.secretary)
    page = client.get(f"/meetings/{meeting.pk}/").content.decode()
    assert "Invite the chair." in page  # the checklist before publishing
    response = client.post(f"/meetings/{meeting.pk}/status/publish/", {"next": f"/meetings/{meeting.pk}/"},
                           follow=True)
    assert flashes(response) == [("error", "no_chair", "Invite the chair before publishing.")]
    meeting.refresh_from_db()
    assert meeting.status == "draft"
    assert not Notification.objects.exists() and not mail.outbox


def test_it_publishes_and_notifies_every_invitee(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.secretary).post(f"/meetings/{cast.meeting.pk}/status/publish/", follow=True)
    assert flashes(response)[0][:2] == ("success", "")
    cast.meeting.refresh_from_db()
    assert cast.meeting.status == "published"
    notified = set(Notification.objects.values_list("user__username", flat=True))
    assert notified == {"pm", "member01", "member02", "guest"}
    assert {m.to[0] for m in mail.outbox} == {f"{u}@example.gov.vn" for u in notified}


def test_it_moves_the_session_through_its_states_and_offers_only_the_next_step(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    chair = client_for(cast.pm)
    url = f"/meetings/{cast.meeting.pk}/"
    for action, status in (("start", "in_progress"), ("adjourn", "adjourned"), ("close", "closed")):
        page = chair.get(url).content.decode()
        assert re.findall(r'data-action="(\w+)"', page) == [action]
        chair.post(f"{url}status/{action}/")
        cast.meeting.refresh_from_db()
        assert cast.meeting.status == status
    assert 'data-action="' not in chair.get(url).content.decode()
    response = chair.post(f"{url}status/start/", follow=True)
    assert codes(response) == ["invalid_state"]
    assert chair.post(f"{url}status/teleport/").status_code == 404


def test_it_lets_a_member_confirm_or_send_apologies_with_a_reason(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = client_for(cast.member)
    url = f"/meetings/{cast.meeting.pk}/attendance/"
    client.post(url, {"username": "member01", "status": "confirmed"})
    assert cast.meeting.participants.get(user=cast.member).attendance == "confirmed"
    response = client.post(url, {"username": "member01", "status": "absent", "reason": "  "}, follow=True)
    assert codes(response) == ["reason_required"]
    assert cast.meeting.participants.get(user=cast.member).attendance == "confirmed"
    client.post(url, {"username": "member01", "status": "absent", "reason": "Công tác nước ngoài"})
    me = cast.meeting.participants.get(user=cast.member)
    assert (me.attendance, me.absence_reason) == ("absent", "Công tác nước ngoài")
    response = client.post(url, {"username": "member02", "status": "absent", "reason": "x"}, follow=True)
    assert codes(response) == ["forbidden"]
    assert cast.meeting.participants.get(user=cast.member2).attendance == "invited"


def test_it_lets_the_secretariat_record_attendance(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    client = client_for(cast.secretary)
    page = client.get(f"/meetings/{cast.meeting.pk}/participants/").content.decode()
    assert page.count("data-attendance-form") == 5
    client.post(f"/meetings/{cast.meeting.pk}/attendance/", {"username": "member02", "status": "remote"})
    assert cast.meeting.participants.get(user=cast.member2).attendance == Participant.Attendance.REMOTE
