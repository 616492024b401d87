"""Offline sessions on the tablet (issue 17, docs/offline.md): who may keep what (tables over the
personas), the secretariat's settings (service, screens, API), ``GET /api/v1/offline/``, the room
snapshot's ``me.offline``, the manifest, the service worker, the offline page and the logout's
``Clear-Site-Data``. The tablet's side (storing, wiping, reading offline) is tests/browser/test_offline.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client

from ecabinet import clock
from ecabinet.errors import Forbidden, NotFound
from ecabinet.models import AuditEntry
from meetings import offline, permissions, services
from meetings.models import Document, Meeting
from meetings.snapshot import snapshot

S = Meeting.Status
PERSONAS = ("pm", "secretary", "member", "member2", "observer", "archivist", "outsider", "admin")
GONE = "404"  # may not open the session at all


def _refusal(cast, persona: str) -> str | None:
    try:
        access = permissions.meeting_access(getattr(cast, persona), cast.meeting.pk)
    except NotFound:
        return GONE
    return permissions.offline_refusal(access, clock.moment())


# persona → what offline_refusal says, per state of the session.
SESSION_RULE = {
    S.DRAFT: {"pm": "draft", "secretary": "draft", "member": GONE, "member2": GONE, "observer": GONE,
              "archivist": GONE, "outsider": GONE, "admin": GONE},
    S.PUBLISHED: {"pm": None, "secretary": None, "member": None, "member2": None, "observer": None,
                  "archivist": GONE, "outsider": GONE, "admin": GONE},
    S.IN_PROGRESS: {"pm": None, "secretary": None, "member": None, "member2": None, "observer": None,
                    "archivist": GONE, "outsider": GONE, "admin": GONE},
    S.ADJOURNED: {"pm": None, "secretary": None, "member": None, "member2": None, "observer": None,
                  "archivist": GONE, "outsider": GONE, "admin": GONE},
    S.CLOSED: {"pm": None, "secretary": None, "member": None, "member2": None, "observer": None,
               "archivist": "not_participant", "outsider": GONE, "admin": GONE},
}


@pytest.mark.parametrize("status", list(SESSION_RULE))
def test_who_may_keep_the_session_in_each_state(cast, status):
    cast.set_status(status)
    assert {p: _refusal(cast, p) for p in PERSONAS} == SESSION_RULE[status]


def test_a_closed_session_may_be_kept_for_offline_closed_days_then_not(cast, settings, monkeypatch):
    settings.OFFLINE_CLOSED_DAYS = 7
    cast.set_status(S.CLOSED)
    closed = cast.meeting.closed_at
    monkeypatch.setattr(clock, "moment", lambda: closed + timedelta(days=6, hours=23))
    assert _refusal(cast, "member") is None
    monkeypatch.setattr(clock, "moment", lambda: closed + timedelta(days=7))
    assert {p: _refusal(cast, p) for p in ("pm", "member", "observer", "archivist")} == {
        "pm": "closed", "member": "closed", "observer": "closed", "archivist": "not_participant"}


def test_when_the_secretariat_turns_offline_copies_off_nobody_may_keep_it(cast):
    cast.set_status(S.PUBLISHED)
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_copies=False)
    assert {p: _refusal(cast, p) for p in PERSONAS} == {
        "pm": "offline_off", "secretary": "offline_off", "member": "offline_off", "member2": "offline_off",
        "observer": "offline_off", "archivist": GONE, "outsider": GONE, "admin": GONE}


def test_an_unapproved_substitute_may_not_keep_it_until_approved(cast):
    from tests.factories import UserFactory

    deputy = UserFactory(username="deputy09")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="deputy09", role="substitute",
                             substitute_for="member01")
    cast.set_status(S.PUBLISHED)
    with pytest.raises(NotFound):  # not yet approved: does not open the session at all
        permissions.meeting_access(deputy, cast.meeting.pk)
    services.substitute_approve(actor=cast.pm, meeting=cast.meeting, username="deputy09")
    access = permissions.meeting_access(deputy, cast.meeting.pk)
    assert permissions.offline_refusal(access, clock.moment()) is None


# persona → (public, internal, restricted) kept offline, without and with offline_restricted.
# member01 is the restricted paper's named recipient.
DOCUMENT_RULE = {
    False: {"pm": (True, True, False), "secretary": (True, True, False), "member": (True, True, False),
            "member2": (True, True, False), "observer": (True, False, False)},
    True: {"pm": (True, True, False), "secretary": (True, True, True), "member": (True, True, True),
           "member2": (True, True, False), "observer": (True, False, False)},
}


@pytest.mark.parametrize("restricted_allowed", [False, True])
def test_which_documents_may_be_kept_and_the_query_agrees(cast, restricted_allowed):
    cast.set_status(S.PUBLISHED)
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_restricted=restricted_allowed)
    docs = (cast.public_doc, cast.internal_doc, cast.restricted_doc)
    recipients = permissions.recipients_by_document(cast.meeting)
    now = clock.moment()
    for persona, expected in DOCUMENT_RULE[restricted_allowed].items():
        user = getattr(cast, persona)
        access = permissions.meeting_access(user, cast.meeting.pk)
        rule = tuple(permissions.may_keep_document_offline(access, d.classification,
                                                           user.pk in recipients.get(d.pk, ()), now) for d in docs)
        assert rule == expected, persona
        query = set(Document.objects.filter(permissions.offline_documents(access), agenda_item__meeting=cast.meeting)
                    .values_list("pk", flat=True))
        assert query == {d.pk for d, kept in zip(docs, expected, strict=True) if kept}, persona


def test_no_document_is_kept_of_a_session_that_may_not_be_kept(cast):
    cast.set_status(S.PUBLISHED)
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_copies=False)
    access = permissions.meeting_access(cast.member, cast.meeting.pk)
    assert not permissions.may_keep_document_offline(access, "public", False, clock.moment())


# --- the secretariat's settings ---------------------------------------------------------------------

def _offline_audits(cast):
    return list(AuditEntry.objects.filter(action="meeting.offline", meeting_id=cast.meeting.pk).values_list(
        "data", flat=True))


def test_the_secretariat_changes_the_settings_and_each_change_is_audited(cast):
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_copies=False,
                                 offline_restricted=True)
    cast.meeting.refresh_from_db()
    assert (cast.meeting.offline_copies, cast.meeting.offline_restricted) == (False, True)
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_copies=False)  # no change
    assert _offline_audits(cast) == [{"offline_copies": {"from": True, "to": False},
                                      "offline_restricted": {"from": False, "to": True}}]


@pytest.mark.parametrize("persona", ["pm", "member", "observer"])
def test_only_the_secretariat_changes_them(cast, persona):
    cast.set_status(S.PUBLISHED)
    with pytest.raises(Forbidden):
        services.meeting_set_offline(actor=getattr(cast, persona), meeting=cast.meeting, offline_copies=False)
    cast.meeting.refresh_from_db()
    assert cast.meeting.offline_copies is True and not _offline_audits(cast)


@pytest.mark.parametrize("persona", ["outsider", "admin", "archivist"])
def test_someone_who_cannot_see_the_session_gets_not_found(cast, persona):
    with pytest.raises(NotFound):
        services.meeting_set_offline(actor=getattr(cast, persona), meeting=cast.meeting, offline_copies=False)


def test_a_new_session_takes_the_settings_of_the_form(cast):
    client = Client()
    client.force_login(cast.secretary)
    response = client.post("/meetings/new/", {"title": "Phiên họp chuyên đề", "kind": "thematic",
                                              "starts_at": "2026-12-20T08:30", "location": "",
                                              "offline_restricted": "on"})
    assert response.status_code == 302
    meeting = Meeting.objects.get(title="Phiên họp chuyên đề")
    assert (meeting.offline_copies, meeting.offline_restricted) == (False, True)
    assert 'name="offline_copies"' in _get(cast.secretary, "/meetings/new/")


def _get(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_prepare_screen_sets_them(cast):
    page = _get(cast.secretary, f"/meetings/{cast.meeting.pk}/prepare/")
    assert f'action="/meetings/{cast.meeting.pk}/offline/"' in page and 'id="offline_offline_copies" checked' in page
    client = Client()
    client.force_login(cast.secretary)
    response = client.post(f"/meetings/{cast.meeting.pk}/offline/", {"offline_restricted": "on"})
    assert response.status_code == 302 and response["Location"].endswith("#offline-card")
    cast.meeting.refresh_from_db()
    assert (cast.meeting.offline_copies, cast.meeting.offline_restricted) == (False, True)


def test_a_member_cannot_post_the_settings(cast):
    cast.set_status(S.PUBLISHED)
    client = Client()
    client.force_login(cast.member)
    client.post(f"/meetings/{cast.meeting.pk}/offline/", {})
    cast.meeting.refresh_from_db()
    assert cast.meeting.offline_copies is True and not _offline_audits(cast)
    outsider = Client()
    outsider.force_login(cast.outsider)
    assert outsider.post(f"/meetings/{cast.meeting.pk}/offline/", {}).status_code == 404


# --- the session page and the room ---------------------------------------------------------------------

def test_the_session_page_offers_to_keep_it_or_says_why_not(cast, settings):
    settings.LANGUAGE_CODE = "vi"
    cast.set_status(S.PUBLISHED)
    page = _get(cast.member, f"/meetings/{cast.meeting.pk}/")
    assert 'id="offline-keep"' in page and 'data-allowed="true"' in page
    assert "Giữ phiên họp trên máy tính bảng" in page and 'id="offline-keep-button">' in page
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_copies=False)
    for url in (f"/meetings/{cast.meeting.pk}/", f"/meetings/{cast.meeting.pk}/room/"):
        page = _get(cast.member, url)
        assert 'data-allowed="false"' in page and 'id="offline-keep-button" disabled' in page
        assert "không cho phép giữ phiên họp này trên máy tính bảng" in page


def test_the_room_snapshot_says_whether_the_tablet_may_keep_the_session(cast):
    cast.set_status(S.PUBLISHED)
    member = permissions.meeting_access(cast.member, cast.meeting.pk)
    assert snapshot(member)["meeting"]["me"]["offline"] == {"allowed": True}
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_copies=False)
    assert snapshot(member)["meeting"]["me"]["offline"] == {"allowed": False}


# --- GET /api/v1/offline/ ---------------------------------------------------------------------------------

def test_the_listing_names_what_the_tablet_may_keep(cast):
    cast.set_status(S.PUBLISHED)
    response = cast.client(cast.member).get("/api/v1/offline/")
    assert response.status_code == 200
    data = response.json()
    assert data["user"] == cast.member.pk and data["max_sessions"] == 20
    [session] = data["sessions"]
    assert {k: session[k] for k in ("id", "title", "allowed", "reason", "offline_restricted")} == {
        "id": cast.meeting.pk, "title": cast.meeting.title, "allowed": True, "reason": None,
        "offline_restricted": False}
    assert [d["id"] for d in session["documents"]] == [cast.public_doc.pk, cast.internal_doc.pk]  # not restricted
    doc = session["documents"][0]
    assert doc == {"id": cast.public_doc.pk, "title": cast.public_doc.title, "classification": "public",
                   "version": 1, "reader_url": offline.copy_url(cast.public_doc.pk, 1),
                   "annotations_url": f"/api/v1/documents/{cast.public_doc.pk}/annotations/?version=1",
                   "comments_url": f"/api/v1/agenda-items/{cast.public_doc.agenda_item_id}/comments/",
                   "page_url": f"/documents/{cast.public_doc.pk}/"}
    # the very URL the reader asks for (its byte ranges are answered from the kept copy)
    assert doc["reader_url"] == f"/documents/{cast.public_doc.pk}/read/1/"
    assert session["pages"] == [f"/meetings/{cast.meeting.pk}/", f"/meetings/{cast.meeting.pk}/room/",
                                f"/documents/{cast.public_doc.pk}/", f"/documents/{cast.internal_doc.pk}/"]
    assert AuditEntry.objects.filter(action="meetings.offline_listed", actor=cast.member).count() == 1
    # Every URL listed opens for this member (what the tablet will fetch).
    client = Client()
    client.force_login(cast.member)
    for url in [*session["pages"], *(d["reader_url"] for d in session["documents"])]:
        assert client.get(url).status_code == 200, url


def test_the_restricted_paper_is_listed_for_its_recipient_only_once_allowed(cast):
    cast.set_status(S.PUBLISHED)
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_restricted=True)
    listed = {p: [d["id"] for s in cast.client(getattr(cast, p)).get("/api/v1/offline/").json()["sessions"]
                  for d in s["documents"]] for p in ("member", "member2", "observer", "secretary")}
    assert listed == {"member": [cast.public_doc.pk, cast.internal_doc.pk, cast.restricted_doc.pk],
                      "member2": [cast.public_doc.pk, cast.internal_doc.pk],
                      "observer": [cast.public_doc.pk],
                      "secretary": [cast.public_doc.pk, cast.internal_doc.pk, cast.restricted_doc.pk]}


def test_a_session_not_allowed_is_listed_as_such_with_nothing_to_keep(cast, settings):
    settings.LANGUAGE_CODE = "vi"
    cast.set_status(S.PUBLISHED)
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_copies=False)
    [session] = cast.client(cast.member).get("/api/v1/offline/").json()["sessions"]
    assert (session["allowed"], session["reason"], session["documents"], session["pages"]) == (
        False, "offline_off", [], [])
    assert session["reason_text"] == "Văn phòng Chính phủ không cho phép giữ phiên họp này trên máy tính bảng."


def test_drafts_and_sessions_closed_long_ago_are_not_listed(cast, monkeypatch, settings):
    assert cast.client(cast.pm).get("/api/v1/offline/").json()["sessions"] == []  # a draft
    cast.set_status(S.CLOSED)
    assert [s["id"] for s in cast.client(cast.pm).get("/api/v1/offline/").json()["sessions"]] == [cast.meeting.pk]
    later = cast.meeting.closed_at + timedelta(days=settings.OFFLINE_CLOSED_DAYS, seconds=1)
    monkeypatch.setattr(clock, "moment", lambda: later)
    assert cast.client(cast.pm).get("/api/v1/offline/").json()["sessions"] == []


def test_the_listing_is_bounded_running_sessions_first(cast, settings):
    settings.OFFLINE_MAX_SESSIONS = 1
    cast.set_status(S.PUBLISHED)
    running = services.meeting_create(actor=cast.secretary, title="Phiên họp đang diễn ra", kind="regular",
                                      starts_at=cast.meeting.starts_at + timedelta(days=30))
    services.participant_add(actor=cast.secretary, meeting=running, username="pm", role="chair")
    services.participant_add(actor=cast.secretary, meeting=running, username="member01", role="member")
    services.agenda_item_add(actor=cast.secretary, meeting=running, title="Nội dung")
    for step in (services.meeting_publish, services.meeting_start):
        step(actor=cast.secretary, meeting=running)
    sessions = cast.client(cast.member).get("/api/v1/offline/").json()["sessions"]
    assert [s["id"] for s in sessions] == [running.pk]


@pytest.mark.parametrize("persona", [None, "outsider"])
def test_the_listing_refuses_the_signed_out_and_is_empty_for_strangers(cast, persona):
    cast.set_status(S.PUBLISHED)
    if persona is None:
        response = Client().get("/api/v1/offline/")
        assert response.status_code == 401
    else:
        assert cast.client(cast.outsider).get("/api/v1/offline/").json()["sessions"] == []


# --- PATCH /api/v1/meetings/{id}/ --------------------------------------------------------------------------

def _patch(cast, user, body):
    return cast.client(user).patch(f"/api/v1/meetings/{cast.meeting.pk}/", body, format="json",
                                   HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def test_the_api_shows_and_changes_the_settings(cast):
    assert {k: cast.client(cast.secretary).get(f"/api/v1/meetings/{cast.meeting.pk}/").json()[k]
            for k in ("offline_copies", "offline_restricted")} == {"offline_copies": True, "offline_restricted": False}
    response = _patch(cast, cast.secretary, {"offline_restricted": True})
    assert response.status_code == 200
    assert (response.json()["offline_copies"], response.json()["offline_restricted"]) == (True, True)
    assert _offline_audits(cast) == [{"offline_restricted": {"from": False, "to": True}}]


@pytest.mark.parametrize(("body", "code"), [
    ({"title": "Đổi tên"}, "not_editable"),
    ({"offline_copies": False, "status": "closed"}, "not_editable"),
    ({}, "not_editable"),
    ({"offline_copies": "perhaps"}, "invalid"),
])
def test_bad_input_changes_nothing(cast, body, code):
    response = _patch(cast, cast.secretary, body)
    assert response.status_code == 400 and response.json()["code"] == code, response.json()
    cast.meeting.refresh_from_db()
    assert (cast.meeting.title, cast.meeting.status, cast.meeting.offline_copies) == (
        "Phiên họp Chính phủ thường kỳ tháng 11", "draft", True)


def test_the_api_refuses_a_member_and_hides_the_session_from_strangers(cast):
    cast.set_status(S.PUBLISHED)
    assert _patch(cast, cast.member, {"offline_copies": False}).status_code == 403
    assert _patch(cast, cast.outsider, {"offline_copies": False}).status_code == 404
    cast.meeting.refresh_from_db()
    assert cast.meeting.offline_copies is True


# --- the manifest, the service worker, the offline page, the logout --------------------------------------

def test_the_service_worker_is_served_at_the_root_with_the_shell_only(db):
    response = Client().get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-store" in response["Cache-Control"]  # every Django answer (ecabinet.hardening): re-fetched each time
    body = response.content.decode()
    for url in ("/static/css/app.css", "/static/js/offline.js", "/static/js/app.js", "/static/room/live.js",
                "/static/fonts/DejaVuSans.ttf", "/static/img/icon-192.png"):
        assert f'"{url}"' in body, url
    assert "DejaVuSerif" not in body and "package.json" not in body  # only what the pages use
    assert "cache.put(" in body and body.count("cache.put(") == 1  # the offline page, at install; nothing else


def test_the_manifest_names_the_app_in_vietnamese(db, settings):
    from django.contrib.staticfiles import finders

    settings.LANGUAGE_CODE = "vi"
    response = Client().get("/manifest.webmanifest")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/manifest+json")
    data = response.json()
    assert (data["name"], data["short_name"], data["start_url"], data["scope"], data["display"]) == (
        "e-Cabinet", "Họp Chính phủ", "/", "/", "standalone")
    assert data["theme_color"] == "#9e1b1e"
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon


def test_the_offline_page_names_nobody(cast, settings):
    settings.LANGUAGE_CODE = "vi"
    client = Client()
    client.force_login(cast.member)
    page = client.get("/offline/").content.decode()
    assert "Bạn đang ngoại tuyến" in page and cast.member.full_name not in page and "csrfmiddlewaretoken" not in page


def test_logout_tells_the_browser_to_clear_the_tablet(cast):
    client = Client()
    client.force_login(cast.member)
    page = client.get("/").content.decode()
    assert f'name="ecabinet-user" content="{cast.member.pk}"' in page and "data-offline-logout" in page
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Clear-Site-Data"] == '"cache", "storage"'
    assert 'name="ecabinet-user"' not in Client().get("/login/").content.decode()


def test_the_secretariat_may_take_the_copies_back_after_the_close(cast):
    cast.set_status(S.CLOSED)
    assert _refusal(cast, "member") is None
    services.meeting_set_offline(actor=cast.secretary, meeting=cast.meeting, offline_copies=False)
    assert _refusal(cast, "member") == "offline_off"
    assert _offline_audits(cast) == [{"offline_copies": {"from": True, "to": False}}]
