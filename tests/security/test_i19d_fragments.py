"""Issue 19d attack on ``{% fragment %}`` (a per-process store of drawn template parts): one reader's page
must never carry another reader's tabs, CSRF token or nonce, another language, or a session's state, title
or chair from before a change; a title with HTML stays escaped however often it is drawn; the store stays
within ``FRAGMENTS_MAX``."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from meetings import services
from meetings.models import Meeting, Participant
from meetings.templatetags import screens

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


def page(user, meeting_id: int, name: str = "meeting_detail", language: str = "en") -> str:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    response = client.get(reverse(name, args=[meeting_id]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)) | set(
        re.findall(r'nonce="([^"]+)"', html))


def test_one_readers_tabs_and_tokens_never_reach_another(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    prepare = reverse("meeting_prepare", args=[cast.meeting.pk])
    receipts = reverse("meeting_receipts", args=[cast.meeting.pk])
    secretary = page(cast.secretary, cast.meeting.pk)
    assert prepare in secretary and receipts in secretary
    member = page(cast.member, cast.meeting.pk)  # drawn after the secretary's: the store is warm
    assert prepare not in member and receipts not in member
    observer = page(cast.observer, cast.meeting.pk, "meeting_room")
    assert prepare not in observer
    seen = [tokens(secretary), tokens(member), tokens(observer)]
    assert all(seen) and not (seen[0] & seen[1]) and not (seen[1] & seen[2]) and not (seen[0] & seen[2])


def test_a_change_of_state_chair_or_title_shows_at_once_and_html_stays_escaped(cast):
    title = '<script>alert("x")</script> & <b>Phiên</b>'
    Meeting.objects.filter(pk=cast.meeting.pk).update(title=title)
    services.meeting_publish(actor=cast.secretary, meeting=cast.meeting)
    for _ in range(2):  # drawn, then from the store
        html = page(cast.member, cast.meeting.pk)
        assert "<script>alert" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert "<b>Phiên</b>" not in html
        assert 'data-status="published"' in html and cast.pm.get_full_name() in html
    services.meeting_start(actor=cast.pm, meeting=cast.meeting)
    assert 'data-status="in_progress"' in page(cast.member, cast.meeting.pk)
    # A new chair's name appears, the old one's does not (the draft is gone: a fresh session for the swap).
    fresh = services.meeting_create(actor=cast.secretary, title="Phiên mới", kind="regular",
                                    starts_at=cast.meeting.starts_at, location="Phòng 9")
    services.participant_add(actor=cast.secretary, meeting=fresh, username=cast.pm.username,
                             role=Participant.Role.CHAIR)
    assert cast.pm.get_full_name() in page(cast.secretary, fresh.pk)
    services.participant_remove(actor=cast.secretary, meeting=fresh, username=cast.pm.username)
    other = UserFactory(username="chair2", full_name="Chủ Tọa Mới")
    services.participant_add(actor=cast.secretary, meeting=fresh, username=other.username, role="chair")
    html = page(cast.secretary, fresh.pk)
    assert "Chủ Tọa Mới" in html and cast.pm.get_full_name() not in html


def test_each_language_gets_its_own_drawing(cast):
    services.meeting_publish(actor=cast.secretary, meeting=cast.meeting)
    english = page(cast.member, cast.meeting.pk, language="en")
    vietnamese = page(cast.member, cast.meeting.pk, language="vi")
    assert "Agenda and documents" in english and "Agenda and documents" not in vietnamese
    assert "Agenda and documents" in page(cast.member, cast.meeting.pk, language="en")


def test_the_store_never_holds_more_than_its_cap(monkeypatch):
    monkeypatch.setattr(screens, "FRAGMENTS_MAX", 64)
    screens._fragments.clear()
    values = {"allowed": True, "reason": None, "reason_text": "", "offline_restricted": False, "compact": False}
    with translation.override("en"):
        for pk in range(1000):  # attacker-chosen values: each a new entry
            screens.fragment("meetings/_offline_keep.html", meeting_pk=pk, **values)
            assert len(screens._fragments) <= 64
        html = screens.fragment("meetings/_offline_keep.html", meeting_pk="<x>", **values)
    assert 'data-meeting="&lt;x&gt;"' in html
    screens._fragments.clear()
