"""Who sees which screen: every role × every screen × every session state.

A screen the caller may not see answers 404, exactly like a screen of a session that does not exist:
the outsider, the administrator (superuser, not invited) and the archivist before the session is
closed get nothing; the secretariat-only screens do not exist for members.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from meetings.models import Meeting

STATES = ["draft", "published", "in_progress", "adjourned", "closed"]
ROLES = ["pm", "secretary", "member", "member2", "observer", "archivist", "outsider", "admin"]
MISSING = 987654


def sees_session(role: str, state: str) -> bool:
    if role in ("outsider", "admin"):
        return False
    if role == "archivist":
        return state == "closed"
    if state == "draft":
        return role in ("pm", "secretary")
    return True


def sees_document(role: str, state: str, classification: str) -> bool:
    if not sees_session(role, state):
        return False
    if role in ("secretary", "archivist") or classification == "public":
        return True
    if classification == "internal":
        return role != "observer"
    return role == "member"  # the restricted document's only recipient


def _page(response, pk: int) -> str:
    html = response.content.decode().replace(f"/meetings/{pk}/", "/meetings/ID/")
    html = re.sub(r' nonce="[^"]+"', "", html)  # the Content-Security-Policy nonce, new on every response
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _screens(cast) -> dict[str, tuple[str, callable]]:
    """Screen name → (URL, who may open it as a function of (role, state))."""
    m = cast.meeting.pk
    return {
        "agenda": (f"/meetings/{m}/", sees_session),
        "prepare": (f"/meetings/{m}/prepare/", lambda r, s: sees_session(r, s) and r == "secretary"),
        "participants": (f"/meetings/{m}/participants/", lambda r, s: sees_session(r, s) and r in ("secretary", "pm")),
        "receipts": (f"/meetings/{m}/receipts/", lambda r, s: sees_session(r, s) and r == "secretary"),
        "public document": (f"/documents/{cast.public_doc.pk}/",
                            lambda r, s: sees_document(r, s, "public")),
        "internal document": (f"/documents/{cast.internal_doc.pk}/",
                              lambda r, s: sees_document(r, s, "internal")),
        "restricted document": (f"/documents/{cast.restricted_doc.pk}/",
                                lambda r, s: sees_document(r, s, "restricted")),
        "restricted compare": (f"/documents/{cast.restricted_doc.pk}/compare/",
                               lambda r, s: sees_document(r, s, "restricted")),
        "internal file": (f"/documents/{cast.internal_doc.pk}/file/?inline=1",
                          lambda r, s: sees_document(r, s, "internal")),
    }


@pytest.mark.parametrize("state", STATES)
def test_it_shows_each_screen_only_to_the_roles_that_may_see_it(cast, state):
    cast.set_status(state)
    problems = []
    for role in ROLES:
        client = client_for(getattr(cast, role))
        for name, (url, allowed) in _screens(cast).items():
            status = client.get(url).status_code
            expected = 200 if allowed(role, state) else 404
            if status != expected:
                problems.append(f"{role} {name} ({state}): {status}, expected {expected}")
    assert not problems, "\n".join(problems)


def test_it_answers_404_for_missing_objects_like_for_forbidden_ones(cast):
    client = client_for(cast.secretary)
    for url in (f"/meetings/{MISSING}/", f"/meetings/{MISSING}/prepare/", f"/meetings/{MISSING}/receipts/",
                f"/meetings/{MISSING}/participants/", f"/documents/{MISSING}/", f"/documents/{MISSING}/file/",
                f"/documents/{MISSING}/compare/"):
        assert client.get(url).status_code == 404, url
    forbidden = client_for(cast.outsider).get(f"/meetings/{cast.meeting.pk}/")
    missing = client_for(cast.outsider).get(f"/meetings/{MISSING}/")
    assert forbidden.status_code == missing.status_code == 404
    # The same page, but for the address itself (echoed in the language switch's "next"), the
    # per-response masking of the CSRF token and the script nonce.
    assert _page(forbidden, cast.meeting.pk) == _page(missing, MISSING)


def test_it_sends_anonymous_visitors_to_the_login_page(cast):
    for url in ("/", f"/meetings/{cast.meeting.pk}/", f"/documents/{cast.public_doc.pk}/", "/notifications/",
                f"/documents/{cast.public_doc.pk}/file/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_it_lists_my_sessions_as_links(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    other = cast.meeting.__class__.objects.create(title="Phiên họp không mời", kind="regular",
                                                  starts_at=cast.meeting.starts_at, created_by=cast.secretary)
    html = client_for(cast.member).get("/").content.decode()
    assert f'data-meeting-id="{cast.meeting.pk}" href="/meetings/{cast.meeting.pk}/"' in html
    assert cast.meeting.title in html and other.title not in html
    assert "New session" not in html
    assert "New session" in client_for(cast.secretary).get("/").content.decode()
    assert cast.meeting.title not in client_for(cast.admin).get("/").content.decode()
    assert cast.meeting.title not in client_for(cast.outsider).get("/").content.decode()


def test_it_shows_a_draft_only_to_its_secretary_and_chair_on_the_home_page(cast):
    assert cast.meeting.title in client_for(cast.pm).get("/").content.decode()
    assert cast.meeting.title not in client_for(cast.member).get("/").content.decode()


def test_it_hides_the_new_session_form_from_non_secretariat(cast):
    assert client_for(cast.member).get("/meetings/new/").status_code == 404
    assert client_for(cast.admin).get("/meetings/new/").status_code == 404
    assert client_for(cast.secretary).get("/meetings/new/").status_code == 200


def test_it_shows_only_visible_documents_on_the_agenda(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    html = client_for(cast.member2).get(f"/meetings/{cast.meeting.pk}/").content.decode()
    assert f'class="document-link" href="/documents/{cast.public_doc.pk}/"' in html
    assert f'href="/documents/{cast.internal_doc.pk}/"' in html
    assert cast.restricted_doc.title not in html
    html = client_for(cast.observer).get(f"/meetings/{cast.meeting.pk}/").content.decode()
    assert cast.public_doc.title in html and cast.internal_doc.title not in html


def test_it_offers_secretariat_tabs_and_buttons_only_to_those_who_may_use_them(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    url = f"/meetings/{cast.meeting.pk}/"
    member = client_for(cast.member).get(url).content.decode()
    assert "/prepare/" not in member and "/receipts/" not in member and "/status/start/" not in member
    chair = client_for(cast.pm).get(url).content.decode()
    assert "/participants/" in chair and "/status/start/" in chair and "/prepare/" not in chair
    secretary = client_for(cast.secretary).get(url).content.decode()
    assert "/prepare/" in secretary and "/receipts/" in secretary and "/status/start/" in secretary


def test_it_records_an_audit_entry_when_a_session_or_document_page_is_opened(cast):
    from ecabinet.models import AuditEntry

    cast.set_status(Meeting.Status.PUBLISHED)
    client = client_for(cast.member)
    client.get(f"/meetings/{cast.meeting.pk}/")
    client.get(f"/documents/{cast.public_doc.pk}/")
    actions = list(AuditEntry.objects.filter(actor=cast.member).values_list("action", flat=True))
    assert actions == ["meeting.viewed", "document.viewed"]
