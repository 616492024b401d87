"""The live room screen, ``/meetings/<id>/room/``: who may open it, what the page gives the tablet
client (``static/room/room.js``), and the Vietnamese of that client.

The page itself is a shell: the socket and the outbox do the rest (tests/browser/test_room_two_tablets.py
drives them in Chromium). Here: the same 404 for everyone who may not see the session as for a missing
one, an audit entry for every opening, and the containers, scripts and cookie the client relies on.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils.translation import trans_real

from ecabinet.models import AuditEntry
from meetings.models import Meeting

MISSING = 987654
CONTAINERS = ("room-status", "room-connection", "room-pending", "room-flash", "room-agenda", "room-detail",
              "room-presence")
ROOM_JS = Path(django_settings.BASE_DIR) / "static" / "room"
LOCALE = Path(django_settings.BASE_DIR) / "locale"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def room_url(cast) -> str:
    return f"/meetings/{cast.meeting.pk}/room/"


@pytest.mark.parametrize("role", ["pm", "secretary", "member", "member2", "observer"])
def test_it_renders_the_room_shell_for_participants(cast, role):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    user = getattr(cast, role)
    response = client_for(user).get(room_url(cast))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="room" class="room" data-meeting-id="{cast.meeting.pk}" data-username="{user.username}"' in html
    for container in CONTAINERS:
        assert f'id="{container}"' in html, container
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    catalogue = html.index(f'<script src="/jsi18n/" nonce="{nonce}"></script>')
    module = html.index(f'<script type="module" src="/static/room/room.js" nonce="{nonce}"></script>')
    assert catalogue < module, "the JavaScript catalogue must be defined before the module runs"
    assert "<noscript>" in html and "needs JavaScript" in html
    assert cast.meeting.title in html


@pytest.mark.parametrize("state", ["published", "in_progress", "adjourned", "closed"])
@pytest.mark.parametrize("role", ["outsider", "admin"])
def test_it_answers_404_to_people_not_invited(cast, role, state):
    cast.set_status(state)
    assert client_for(getattr(cast, role)).get(room_url(cast)).status_code == 404


@pytest.mark.parametrize("state", ["draft", "published", "in_progress", "adjourned"])
def test_it_answers_404_to_the_archivist_until_the_session_is_closed(cast, state):
    cast.set_status(state)
    assert client_for(cast.archivist).get(room_url(cast)).status_code == 404


def test_it_lets_the_archivist_read_the_room_of_a_closed_session(cast):
    cast.set_status(Meeting.Status.CLOSED)
    assert client_for(cast.archivist).get(room_url(cast)).status_code == 200


@pytest.mark.parametrize("role", ["member", "member2", "observer"])
def test_it_answers_404_for_a_draft_to_members_and_guests(cast, role):
    assert cast.meeting.status == Meeting.Status.DRAFT
    assert client_for(getattr(cast, role)).get(room_url(cast)).status_code == 404


@pytest.mark.parametrize("role", ["pm", "secretary"])
def test_it_opens_a_draft_to_its_chair_and_secretary(cast, role):
    assert client_for(getattr(cast, role)).get(room_url(cast)).status_code == 200


def test_it_answers_404_for_a_missing_session_like_for_a_forbidden_one(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    missing = client_for(cast.outsider).get(f"/meetings/{MISSING}/room/")
    forbidden = client_for(cast.outsider).get(room_url(cast))
    assert missing.status_code == forbidden.status_code == 404
    assert client_for(cast.secretary).get(f"/meetings/{MISSING}/room/").status_code == 404


def test_it_sends_anonymous_visitors_to_the_login_page(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    response = Client().get(room_url(cast))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_writes_a_meeting_viewed_audit_entry(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    before = AuditEntry.objects.filter(actor=cast.member, action="meeting.viewed").count()
    client_for(cast.member).get(room_url(cast))
    entries = AuditEntry.objects.filter(actor=cast.member, action="meeting.viewed")
    assert entries.count() == before + 1
    assert entries.order_by("-pk").first().meeting_id == cast.meeting.pk


def test_it_writes_no_audit_entry_for_a_refused_opening(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client_for(cast.outsider).get(room_url(cast))
    assert not AuditEntry.objects.filter(actor=cast.outsider, action="meeting.viewed").exists()


def test_it_gives_the_outbox_a_csrf_cookie_it_can_read(cast, settings):
    """The outbox sends ``X-CSRFToken`` from the ``csrftoken`` cookie, so the cookie must exist and must
    not be HttpOnly."""
    cast.set_status(Meeting.Status.PUBLISHED)
    assert not getattr(settings, "CSRF_COOKIE_HTTPONLY", False)
    assert not getattr(settings, "CSRF_USE_SESSIONS", False)
    response = client_for(cast.member).get(room_url(cast))
    cookie = response.cookies[settings.CSRF_COOKIE_NAME]
    assert cookie.value and not cookie["httponly"]


def test_it_links_the_room_from_the_agenda_page(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    html = client_for(cast.member).get(f"/meetings/{cast.meeting.pk}/").content.decode()
    assert f'id="open-room" href="{room_url(cast)}"' in html
    assert html.count(f'href="{room_url(cast)}"') == 2  # the button and the tab


# --- the tablet client's Vietnamese ----------------------------------------------------------------------

def _po_entries(path: Path) -> dict[str, list[str]]:
    """msgid → its msgstr(s), for a .po file written by makemessages (one line per string)."""
    entries: dict[str, list[str]] = {}
    msgid = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            msgid = line[len('msgid "'):-1]
            entries[msgid] = []
        elif line.startswith("msgstr") and msgid is not None:
            entries[msgid].append(line.split(" ", 1)[1][1:-1])
    entries.pop("", None)
    return entries


def test_it_translates_every_string_of_the_tablet_client_into_vietnamese():
    entries = _po_entries(LOCALE / "vi" / "LC_MESSAGES" / "djangojs.po")
    untranslated = [msgid for msgid, strs in entries.items() if not all(strs)]
    assert not untranslated, f"untranslated in djangojs.po: {untranslated}"
    # Every string the client asks for is in the catalogue (makemessages -d djangojs was run).
    source = "\n".join(line for p in sorted(ROOM_JS.glob("*.js"))
                       for line in p.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("//"))
    wanted = set(re.findall(r'\b(?:gettext|ngettext)\("((?:[^"\\]|\\.)*)"', source))
    assert wanted, "no gettext calls found in static/room/"
    missing = sorted(wanted - set(entries))
    assert not missing, f"run makemessages -d djangojs: missing from djangojs.po: {missing}"


@pytest.fixture
def compiled_js_messages():
    po = LOCALE / "vi" / "LC_MESSAGES" / "djangojs.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        msgfmt = shutil.which("msgfmt")
        if msgfmt is None:
            pytest.skip("GNU gettext (msgfmt) is needed to compile the translations")
        subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)
        trans_real._translations = {}
        trans_real._default = None


def test_it_serves_the_clients_strings_in_vietnamese(cast, settings, compiled_js_messages):
    settings.LANGUAGE_CODE = "vi"
    catalogue = Client().get("/jsi18n/").content.decode("utf-8")
    for vietnamese in ("Đăng ký phát biểu", "Ghi chú riêng", "Mất kết nối", "Hiện đang thảo luận"):
        assert vietnamese in catalogue or json.dumps(vietnamese)[1:-1] in catalogue, vietnamese
