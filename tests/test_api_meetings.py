"""Sessions, participants, attendance, agenda and transitions through API v1 (DESIGN.md §5.2).
Authentication, the error format and the schema are in test_api_auth_and_errors.py."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from ecabinet.models import Notification
from meetings import services
from meetings.models import AgendaItem, Meeting, Participant

from .factories import UserFactory, in_days


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """The token endpoint is throttled per address in the cache, which outlives one test."""
    cache.clear()
    yield
    cache.clear()


def url(meeting, action: str = "") -> str:
    return f"/api/v1/meetings/{meeting.pk}/{action + '/' if action else ''}"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- creating sessions ------------------------------------------------------------------------------

def test_it_lets_the_secretariat_create_a_draft_session(cast):
    payload = {"title": "Phiên họp Chính phủ chuyên đề xây dựng pháp luật", "kind": "thematic",
               "starts_at": "2025-12-04T08:00:00+07:00", "location": "Phòng họp số 1"}
    response = cast.client(cast.secretary).post("/api/v1/meetings/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    meeting = Meeting.objects.get(pk=body["id"])
    assert (meeting.title, meeting.kind, meeting.status, meeting.location) == (
        payload["title"], "thematic", "draft", "Phòng họp số 1")
    assert body["status"] == "draft"
    assert meeting.participants.get().user == cast.secretary
    assert meeting.participants.get().role == Participant.Role.SECRETARY
    listed = {m["id"] for m in cast.client(cast.secretary).get("/api/v1/meetings/").json()["results"]}
    assert meeting.pk in listed
    assert meeting.pk not in {m["id"] for m in cast.client(cast.member).get("/api/v1/meetings/").json()["results"]}


@pytest.mark.parametrize("role", ["member", "pm", "archivist", "outsider", "admin"])
def test_it_forbids_everyone_but_the_secretariat_to_create_a_session(cast, role):
    count = Meeting.objects.count()
    response = cast.client(getattr(cast, role)).post(
        "/api/v1/meetings/", {"title": "Phiên họp", "kind": "regular", "starts_at": in_days(2).isoformat()},
        format="json")
    assert_error(response, 403, "forbidden")
    assert Meeting.objects.count() == count


@pytest.mark.parametrize(("payload", "field"), [
    ({"kind": "regular", "starts_at": "2025-12-04T08:00:00+07:00"}, "title"),
    ({"title": "   ", "kind": "regular", "starts_at": "2025-12-04T08:00:00+07:00"}, "title"),
    ({"title": "Phiên họp", "kind": "secret", "starts_at": "2025-12-04T08:00:00+07:00"}, "kind"),
    ({"title": "Phiên họp", "kind": "regular", "starts_at": "thứ Năm tuần sau"}, "starts_at"),
    ({"title": "Phiên họp", "kind": "regular"}, "starts_at"),
])
def test_it_names_the_field_of_an_invalid_session(cast, payload, field):
    response = cast.client(cast.secretary).post("/api/v1/meetings/", payload, format="json")
    body = assert_error(response, 400, "invalid")
    assert body["field"] == field
    assert body["detail"].startswith(f"{field}: ")


# --- participants and substitutes -------------------------------------------------------------------

def test_it_invites_a_participant_who_then_sees_the_published_session(cast):
    newcomer = UserFactory(username="member03", full_name="Lê Văn Tân")
    cast.set_status("published")
    assert cast.client(newcomer).get(url(cast.meeting)).status_code == 404
    response = cast.client(cast.secretary).post(url(cast.meeting, "participants"),
                                                {"username": "member03", "role": "member"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "member03" and response.json()["role"] == "member"
    assert cast.client(newcomer).get(url(cast.meeting)).status_code == 200
    assert Notification.objects.filter(user=newcomer, kind="meeting.invitation").count() == 1


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({"username": "member01", "role": "member"}, 409, "already_participant"),
    ({"username": "member03", "role": "chair"}, 409, "chair_exists"),
    ({"username": "nobody-here", "role": "member"}, 400, "unknown_user"),
    ({"username": "member03", "role": "minister"}, 400, "invalid"),
    ({"username": "member03", "role": "substitute"}, 400, "substitute_for_required"),
    ({"username": "member03", "role": "substitute", "substitute_for": "guest"}, 400, "substitute_for_not_member"),
    ({"username": "member03", "role": "substitute", "substitute_for": "outsider"}, 400, "substitute_for_not_member"),
    ({"username": "member03", "role": "observer", "substitute_for": "member02"}, 400, "substitute_for_unexpected"),
])
def test_it_refuses_a_wrong_invitation_with_its_code(cast, payload, status, code):
    UserFactory(username="member03")
    before = list(Participant.objects.values_list("user__username", "role"))
    response = cast.client(cast.secretary).post(url(cast.meeting, "participants"), payload, format="json")
    assert_error(response, status, code)
    assert list(Participant.objects.values_list("user__username", "role")) == before


@pytest.fixture
def substitute(cast):
    """deputy02 invited to stand in for member02 in a published session, not yet approved."""
    deputy = UserFactory(username="deputy02", full_name="Bùi Văn Thay")
    cast.set_status("published")
    response = cast.client(cast.secretary).post(
        url(cast.meeting, "participants"),
        {"username": "deputy02", "role": "substitute", "substitute_for": "member02"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["approved"] is False and response.json()["substitute_for"] == "member02"
    return deputy


def test_it_gives_a_substitute_no_access_until_the_chair_approves(cast, substitute):
    client = cast.client(substitute)
    assert client.get(url(cast.meeting)).status_code == 404
    assert cast.meeting.pk not in {m["id"] for m in client.get("/api/v1/meetings/").json()["results"]}
    assert client.get(f"/api/v1/documents/{cast.internal_doc.pk}/download/").status_code == 404
    assert not Notification.objects.filter(user=substitute).exists()

    response = cast.client(cast.pm).post(url(cast.meeting, "participants/deputy02/approve"), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["approved"] is True
    assert client.get(url(cast.meeting)).status_code == 200
    assert client.get(f"/api/v1/documents/{cast.internal_doc.pk}/download/").status_code == 200
    assert client.get(f"/api/v1/documents/{cast.restricted_doc.pk}/download/").status_code == 404
    assert Notification.objects.filter(user=substitute, kind="meeting.invitation").count() == 1
    participant = Participant.objects.get(user=substitute)
    assert participant.substitute_approved_by == cast.pm


@pytest.mark.parametrize("role", ["secretary", "member", "member2", "observer"])
def test_it_lets_only_the_chair_approve_a_substitute(cast, substitute, role):
    response = cast.client(getattr(cast, role)).post(url(cast.meeting, "participants/deputy02/approve"))
    assert_error(response, 403, "forbidden")
    assert Participant.objects.get(user=substitute).substitute_approved_at is None
    assert cast.client(substitute).get(url(cast.meeting)).status_code == 404


def test_it_approves_a_substitute_once(cast, substitute):
    pm = cast.client(cast.pm)
    assert pm.post(url(cast.meeting, "participants/deputy02/approve")).status_code == 200
    assert_error(pm.post(url(cast.meeting, "participants/deputy02/approve")), 409, "already_approved")


def test_it_refuses_a_second_substitute_for_the_same_member(cast, substitute):
    UserFactory(username="deputy02b")
    response = cast.client(cast.secretary).post(
        url(cast.meeting, "participants"),
        {"username": "deputy02b", "role": "substitute", "substitute_for": "member02"}, format="json")
    assert_error(response, 409, "substitute_exists")


def test_it_keeps_a_member_with_a_substitute_until_the_substitute_is_removed(cast, substitute):
    secretary = cast.client(cast.secretary)
    assert_error(secretary.post(url(cast.meeting, "participants/member02/remove")), 409, "has_substitute")
    assert secretary.post(url(cast.meeting, "participants/deputy02/remove")).status_code == 200
    assert secretary.post(url(cast.meeting, "participants/member02/remove")).status_code == 200
    assert cast.client(cast.member2).get(url(cast.meeting)).status_code == 404


def test_it_keeps_the_last_secretary(cast):
    assert_error(cast.client(cast.secretary).post(url(cast.meeting, "participants/secretary/remove")),
                 409, "last_secretary")


# --- attendance -------------------------------------------------------------------------------------

def _attendance(client, meeting, username, status, reason=""):
    return client.post(url(meeting, "attendance"), {"username": username, "status": status, "reason": reason},
                       format="json")


def test_it_requires_a_reason_for_an_absence(cast):
    cast.set_status("in_progress")
    secretary = cast.client(cast.secretary)
    assert_error(_attendance(secretary, cast.meeting, "member02", "absent"), 400, "reason_required")
    assert_error(_attendance(secretary, cast.meeting, "member02", "absent", "   "), 400, "reason_required")
    assert Participant.objects.get(user=cast.member2).attendance == "invited"
    response = _attendance(secretary, cast.meeting, "member02", "absent", "Đi công tác nước ngoài")
    assert response.status_code == 200
    assert response.json()["attendance"] == "absent"
    assert response.json()["absence_reason"] == "Đi công tác nước ngoài"


@pytest.mark.parametrize("runner", ["secretary", "pm"])
@pytest.mark.parametrize("status", ["present", "remote", "absent"])
def test_it_lets_the_secretariat_and_the_chair_record_attendance(cast, runner, status):
    cast.set_status("in_progress")
    response = _attendance(cast.client(getattr(cast, runner)), cast.meeting, "member01", status, "Ốm")
    assert response.status_code == 200, response.content
    assert Participant.objects.get(user=cast.member).attendance == status


def test_it_lets_a_member_confirm_or_send_apologies_for_themselves_while_published(cast):
    cast.set_status("published")
    member = cast.client(cast.member)
    assert _attendance(member, cast.meeting, "member01", "confirmed").status_code == 200
    assert Participant.objects.get(user=cast.member).attendance == "confirmed"
    assert _attendance(member, cast.meeting, "member01", "absent", "Họp Quốc hội").status_code == 200
    assert Participant.objects.get(user=cast.member).absence_reason == "Họp Quốc hội"
    assert_error(_attendance(member, cast.meeting, "member01", "present"), 403, "forbidden")
    assert_error(_attendance(member, cast.meeting, "member02", "confirmed"), 403, "forbidden")
    observer = cast.client(cast.observer)
    assert _attendance(observer, cast.meeting, "guest", "confirmed").status_code == 200


def test_it_stops_members_changing_their_own_attendance_once_the_session_started(cast):
    cast.set_status("in_progress")
    assert_error(_attendance(cast.client(cast.member), cast.meeting, "member01", "confirmed"), 409, "invalid_state")
    assert Participant.objects.get(user=cast.member).attendance == "invited"


def test_it_records_no_attendance_before_publication_or_after_adjournment(cast):
    assert_error(_attendance(cast.client(cast.secretary), cast.meeting, "member01", "present"), 409, "invalid_state")
    cast.set_status("adjourned")
    assert_error(_attendance(cast.client(cast.pm), cast.meeting, "member01", "present"), 409, "invalid_state")


def test_it_answers_404_for_the_attendance_of_someone_not_invited(cast):
    cast.set_status("published")
    response = _attendance(cast.client(cast.secretary), cast.meeting, "outsider", "present")
    assert_error(response, 404, "not_found")


# --- agenda -----------------------------------------------------------------------------------------

def _positions(meeting) -> list[tuple[str, int]]:
    return list(AgendaItem.objects.filter(meeting=meeting).order_by("position").values_list("title", "position"))


def test_it_appends_agenda_items_and_moves_them_keeping_positions_one_to_n(cast):
    secretary = cast.client(cast.secretary)
    ids = [cast.item.pk]
    for title in ("Báo cáo kinh tế - xã hội", "Dự án Luật Đất đai", "Các vấn đề khác"):
        response = secretary.post(url(cast.meeting, "agenda-items"), {"title": title}, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    assert [p for _, p in _positions(cast.meeting)] == [1, 2, 3, 4]

    response = secretary.post(f"/api/v1/agenda-items/{ids[3]}/move/", {"position": 1}, format="json")
    assert response.json() == {"id": ids[3], "position": 1}
    assert _positions(cast.meeting) == [("Các vấn đề khác", 1), ("Dự thảo Nghị định về thuế", 2),
                                        ("Báo cáo kinh tế - xã hội", 3), ("Dự án Luật Đất đai", 4)]
    secretary.post(f"/api/v1/agenda-items/{ids[0]}/move/", {"position": 4}, format="json")
    assert _positions(cast.meeting) == [("Các vấn đề khác", 1), ("Báo cáo kinh tế - xã hội", 2),
                                        ("Dự án Luật Đất đai", 3), ("Dự thảo Nghị định về thuế", 4)]
    detail = secretary.get(url(cast.meeting)).json()
    assert [item["position"] for item in detail["agenda"]] == [1, 2, 3, 4]


def test_it_refuses_a_position_outside_the_agenda(cast):
    secretary = cast.client(cast.secretary)
    assert_error(secretary.post(f"/api/v1/agenda-items/{cast.item.pk}/move/", {"position": 2}, format="json"),
                 400, "invalid_position")
    body = assert_error(secretary.post(f"/api/v1/agenda-items/{cast.item.pk}/move/", {"position": 0},
                                       format="json"), 400, "invalid")
    assert body["field"] == "position"


def test_it_refuses_an_agenda_item_without_a_title_or_with_an_unknown_ministry(cast):
    secretary = cast.client(cast.secretary)
    assert assert_error(secretary.post(url(cast.meeting, "agenda-items"), {"title": ""}, format="json"),
                        400, "invalid")["field"] == "title"
    assert_error(secretary.post(url(cast.meeting, "agenda-items"), {"title": "Mục", "presenter_ministry": "bo-x"},
                                format="json"), 400, "unknown_ministry")
    assert_error(secretary.post(url(cast.meeting, "agenda-items"), {"title": "Mục", "planned_minutes": 0},
                                format="json"), 400, "invalid_minutes")
    assert AgendaItem.objects.filter(meeting=cast.meeting).count() == 1


# --- publication and transitions -------------------------------------------------------------------

def _new_meeting(cast) -> Meeting:
    return services.meeting_create(actor=cast.secretary, title="Phiên họp bất thường", kind="extraordinary",
                                   starts_at=in_days(1))


def test_it_publishes_only_with_an_agenda(cast):
    meeting = _new_meeting(cast)
    services.participant_add(actor=cast.secretary, meeting=meeting, username="pm", role="chair")
    assert_error(cast.client(cast.secretary).post(url(meeting, "publish")), 409, "agenda_empty")
    assert Meeting.objects.get(pk=meeting.pk).status == "draft"


def test_it_publishes_only_with_a_chair(cast):
    meeting = _new_meeting(cast)
    services.agenda_item_add(actor=cast.secretary, meeting=meeting, title="Một mục")
    assert_error(cast.client(cast.secretary).post(url(meeting, "publish")), 409, "no_chair")
    assert Meeting.objects.get(pk=meeting.pk).status == "draft"


def test_it_moves_through_the_states_in_order_only(cast):
    secretary = cast.client(cast.secretary)
    order = ["publish", "start", "adjourn", "close"]
    reached = ["published", "in_progress", "adjourned", "closed"]
    for step, (action, status) in enumerate(zip(order, reached, strict=True)):
        for wrong in order:
            if wrong != action:
                assert_error(secretary.post(url(cast.meeting, wrong)), 409, "invalid_state")
        response = secretary.post(url(cast.meeting, action))
        assert response.status_code == 200, (step, response.content)
        assert response.json()["status"] == status
    cast.meeting.refresh_from_db()
    assert cast.meeting.closed_at and cast.meeting.adjourned_at and cast.meeting.started_at
    for action in order:
        assert_error(secretary.post(url(cast.meeting, action)), 409, "invalid_state")


def test_it_lets_the_chair_run_the_session(cast):
    pm = cast.client(cast.pm)
    for action in ("publish", "start", "adjourn", "close"):
        assert pm.post(url(cast.meeting, action)).status_code == 200


def test_it_notifies_every_invitee_by_email_and_in_the_app_on_publication(cast, django_capture_on_commit_callbacks):
    UserFactory(username="deputy02")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="deputy02", role="substitute",
                             substitute_for="member02")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = cast.client(cast.secretary).post(url(cast.meeting, "publish"))
    assert response.status_code == 200
    invited = {"pm@example.gov.vn", "member01@example.gov.vn", "member02@example.gov.vn", "guest@example.gov.vn"}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(invited)  # one each; not the publisher, not deputy02
    assert all(cast.meeting.title in m.subject for m in mail.outbox)
    assert all(f"/meetings/{cast.meeting.pk}/" in m.body for m in mail.outbox)
    notified = Notification.objects.filter(kind="meeting.invitation").values_list("user__username", flat=True)
    assert sorted(notified) == ["guest", "member01", "member02", "pm"]


def test_it_sends_no_email_when_publication_fails(cast, django_capture_on_commit_callbacks):
    meeting = _new_meeting(cast)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cast.client(cast.secretary).post(url(meeting, "publish"))
    assert mail.outbox == []
    assert not Notification.objects.exists()


# --- authentication and the error format -----------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_it_numbers_agenda_items_added_at_the_same_moment_one_to_n():
    """Two secretaries add an item at once: both succeed, with positions n+1 and n+2 (on PostgreSQL
    the two transactions overlap; without a lock both read the same last position)."""
    first = UserFactory(username="secretary", is_secretariat=True)
    second = UserFactory(username="secretary2", is_secretariat=True)
    meeting = services.meeting_create(actor=first, title="Phiên họp", kind="regular", starts_at=in_days(2))
    services.participant_add(actor=first, meeting=meeting, username="secretary2", role="secretary")
    barrier = threading.Barrier(2)
    responses, errors = [], []

    def add(user, title):
        try:
            client = APIClient()
            client.force_authenticate(user)
            barrier.wait()
            responses.append(client.post(url(meeting, "agenda-items"), {"title": title}, format="json"))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(first, "Mục A")),
               threading.Thread(target=add, args=(second, "Mục B"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(r.status_code for r in responses) == [201, 201], [r.content for r in responses]
    assert sorted(p for _, p in _positions(meeting)) == [1, 2]
