"""Two ministers' tablets in the live room of the seeded published session (issue #3, "Done means").

member01 on a landscape tablet (1024×768) and member02 on a portrait one (820×1180), each in its own
browser context (its own cookies and localStorage), both with the room open. What this proves:

1. A comment typed on one tablet appears on the other through the socket, without a reload (a marker
   set on ``window`` before survives).
2. With member02's network cut (``context.set_offline(True)``) the badge says so; a comment written
   meanwhile waits in the outbox (pending count 1, shown as waiting, not on member01's tablet); a
   comment member01 posts meanwhile is missed. With the network back the socket reconnects with
   ``?after_seq=N`` (resume), the missed comment arrives, and the outbox sends member02's comment
   once: it shows exactly once on both tablets and the API lists it once.

   Playwright's offline mode refuses new connections and fetches but does not close a WebSocket that
   is already open (checked with Chromium 156). The client itself drops its socket when the browser
   fires ``offline`` (``live.js``, ``Room.dropSocket``), so no test hook is needed: what is exercised
   is the client's own reaction to the browser's offline signal, then a real reconnect and resume.
3. The answer to a write is lost after the server applied it (the request is completed with
   ``route.fetch()`` and the browser is told it failed): the outbox sends it again with the same
   ``Idempotency-Key`` and the comment still exists once.
4. A private note and a comment to the secretariat by member01 never reach member02: not on the
   screen, not in its room state, not through the API — checked after a later shared comment has
   arrived, so the check is not a race.
5. The secretariat sees who is connected, and every tablet follows the chair: "Discuss this item
   now", the speaking queue, the floor with its timer.

Screenshots of both viewports go to /tmp/room-shots/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from demo.cast import DEMO_PASSWORD, account

pytestmark = pytest.mark.browser

LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 820, "height": 1180}
ROOM_SHOTS = Path("/tmp/room-shots")
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session", autouse=True)
def _compiled_messages():
    """The room speaks Vietnamese through /jsi18n/ (djangojs) and the templates (django). The .mo files
    are build products (``make messages``); compile them when missing or stale, before the server
    starts (Python's gettext caches a catalogue per process)."""
    for lang in ("vi", "en"):
        for domain in ("django", "djangojs"):
            po = Path(django_settings.BASE_DIR) / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"
            mo = po.with_suffix(".mo")
            if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
                msgfmt = shutil.which("msgfmt")
                if msgfmt is None:
                    pytest.skip("GNU gettext (msgfmt) is needed to compile the translations")
                subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _shot(page, name: str) -> None:
    ROOM_SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(ROOM_SHOTS / f"{name}-{size['width']}x{size['height']}.png"), full_page=True)


class Tablet:
    """One browser context (one tablet) with the room open."""

    def __init__(self, browser, server_url: str, username: str, viewport: dict):
        self.username = username
        self.server_url = server_url
        self.context = browser.new_context(viewport=viewport, locale="vi-VN", has_touch=True)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(f"{server_url}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        with self.page.expect_navigation():
            self.page.click("form:has(input[name=password]) [type=submit]")
        assert "/login/" not in self.page.url, f"{username} could not log in"

    def open_room(self, session_title: str) -> None:
        """Home → the session → "Open the live room", as a minister would."""
        page = self.page
        link = page.locator("a[data-meeting-id]").filter(has_text=session_title)
        assert link.count() == 1, f"{self.username} does not see the session {session_title!r}"
        with page.expect_navigation():
            link.click()
        with page.expect_navigation():
            page.click("a#open-room")
        assert re.search(r"/meetings/\d+/room/$", page.url), page.url
        self.wait_online()
        page.locator("#room-agenda li.is-selected").wait_for()
        page.locator("#room-comment-text").wait_for()

    def wait_online(self) -> None:
        self.page.locator("#room-connection[data-state=online]").wait_for()

    @property
    def selected_item(self) -> int:
        return int(self.page.locator("#room-agenda li.is-selected").get_attribute("data-item-id"))

    def comment(self, text: str, visibility: str = "shared") -> None:
        self.page.fill("#room-comment-text", text)
        self.page.select_option("#room-comment-visibility", visibility)
        self.page.click("#room-comment-send")

    def comments(self, text: str):
        """The comments the server has sent this tablet with exactly this text (not outbox copies)."""
        return self.page.locator("#room-comment-list li[data-comment-id]").filter(
            has=self.page.locator(".comment__text", has_text=text))

    def state_texts(self) -> list[str]:
        return self.page.evaluate("() => window.ecabinetRoom.state.comments.map((c) => c.text)")

    def api_texts(self, item_id: int) -> list[str]:
        response = self.context.request.get(f"{self.server_url}/api/v1/agenda-items/{item_id}/comments/")
        assert response.status == 200, response.text()
        return [c["text"] for c in response.json()["results"]]

    def close(self) -> None:
        assert not self.errors, f"JavaScript errors on {self.username}'s tablet: {self.errors}"
        self.context.close()


def _published_title() -> str:
    from django.utils import timezone

    from demo.plan import build_plan

    return next(s.title for s in build_plan(timezone.localtime()) if s.status == "published")


@pytest.fixture(scope="module")
def tablets(browser, server_url):
    title = _published_title()
    one = Tablet(browser, server_url, "member01", LANDSCAPE)
    two = Tablet(browser, server_url, "member02", PORTRAIT)
    one.open_room(title)
    two.open_room(title)
    try:
        yield one, two
    finally:
        one.close()
        two.close()


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_it_shows_a_comment_typed_on_one_tablet_on_the_other_without_reload(tablets):
    one, two = tablets
    assert one.selected_item == two.selected_item, "both tablets follow the same item"
    two.page.evaluate("() => { window.__sameDocument = 'yes'; }")
    text = _unique("Đề nghị bổ sung số liệu về đầu tư công")

    one.comment(text)

    two.comments(text).wait_for()
    one.comments(text).wait_for()  # the author's own copy also comes back over the socket
    assert two.comments(text).count() == 1
    assert one.comments(text).count() == 1
    assert two.page.evaluate("() => window.__sameDocument") == "yes", "the page was reloaded"
    # Vietnamese first: the screen is drawn in Vietnamese, with its diacritics intact.
    assert _norm(two.page.locator("#room-connection").text_content()) == "Đã kết nối"
    assert "Danh sách phát biểu" in _norm(two.page.locator("#room-detail").text_content())
    author = two.comments(text).locator(".comment__head strong").text_content()
    assert _norm(author) == _norm(account("member01").full_name)
    _shot(one.page, "member01-room")
    _shot(two.page, "member02-room")


def test_it_keeps_a_comment_written_offline_and_delivers_it_once_after_reconnecting(tablets):
    one, two = tablets
    item = two.selected_item
    connects = two.page.evaluate("() => window.ecabinetRoom.connects")
    offline_text = _unique("Ý kiến viết khi mất mạng")
    missed_text = _unique("Ý kiến đăng trong lúc máy kia mất mạng")

    two.context.set_offline(True)
    badge = two.page.locator("#room-connection")
    two.page.locator("#room-connection[data-state=offline]").wait_for()
    assert "Mất kết nối" in _norm(badge.text_content())
    assert badge.is_visible()
    assert two.page.evaluate("() => window.ecabinetRoom.socket === null"), "the socket was not dropped"

    two.comment(offline_text)
    pending = two.page.locator("#room-pending")
    two.page.locator("#room-pending[data-count='1']").wait_for()
    assert pending.is_visible() and "1" in pending.text_content()
    assert two.page.evaluate("() => window.ecabinetOutbox.pending()") == 1
    waiting = two.page.locator("#room-comment-list li.is-pending").filter(has_text=offline_text)
    waiting.wait_for()  # shown as waiting to be sent
    assert waiting.count() == 1
    one.comment(missed_text)  # member02 misses this one while offline
    one.comments(missed_text).wait_for()
    # The outbox retries every 5 s; offline, every try fails and nothing is sent.
    two.page.wait_for_timeout(6_000)
    assert two.page.evaluate("() => window.ecabinetOutbox.pending()") == 1
    assert one.comments(offline_text).count() == 0
    assert two.comments(missed_text).count() == 0
    _shot(two.page, "member02-room-offline")

    two.context.set_offline(False)

    two.wait_online()
    two.page.locator("#room-pending[data-count='0']").wait_for(state="attached")
    assert not two.page.locator("#room-pending").is_visible()
    one.comments(offline_text).wait_for()
    two.comments(offline_text).wait_for()
    two.comments(missed_text).wait_for()
    after = two.page.evaluate("() => [window.ecabinetRoom.connects, window.ecabinetRoom.lastUrl]")
    assert after[0] > connects, "the socket did not reconnect"
    assert re.search(r"\?after_seq=\d+$", after[1]), f"the reconnect did not resume: {after[1]}"
    # Let any duplicate that might still be on its way arrive before counting.
    two.page.wait_for_timeout(1_500)
    assert one.comments(offline_text).count() == 1
    assert two.comments(offline_text).count() == 1
    assert two.comments(missed_text).count() == 1
    assert two.page.locator("#room-comment-list li.is-pending").count() == 0
    assert two.api_texts(item).count(offline_text) == 1
    assert one.api_texts(item).count(offline_text) == 1
    _shot(two.page, "member02-room-back-online")


def test_it_applies_a_write_once_when_its_answer_is_lost(tablets):
    one, two = tablets
    item = two.selected_item
    text = _unique("Ý kiến có câu trả lời bị mất")
    lost = []

    def complete_then_fail(route):
        # The server receives and applies the write; the tablet never hears back.
        if not lost:
            lost.append(route.request.headers.get("idempotency-key"))
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    two.page.route(re.compile(r".*/api/v1/agenda-items/\d+/comments/$"), complete_then_fail)
    try:
        two.comment(text)
        one.comments(text).wait_for()  # applied on the server, and sent to the other tablet
        # The outbox kept it and sends it again (every 5 s) with the same key: replayed, not re-applied.
        two.page.locator("#room-pending[data-count='0']").wait_for(state="attached", timeout=15_000)
    finally:
        two.page.unroute(re.compile(r".*/api/v1/agenda-items/\d+/comments/$"))
    assert lost and lost[0], "the first answer was not intercepted"
    two.comments(text).wait_for()
    two.page.wait_for_timeout(1_000)
    assert one.comments(text).count() == 1
    assert two.comments(text).count() == 1
    assert two.api_texts(item).count(text) == 1


def test_it_never_shows_a_private_note_or_a_secretariat_comment_to_another_member(tablets):
    one, two = tablets
    item = one.selected_item
    note = _unique("Ghi chú riêng: cần hỏi thêm Bộ Tài chính")
    to_secretariat = _unique("Gửi thư ký: đề nghị bổ sung tài liệu")
    later = _unique("Ý kiến chung gửi sau")

    one.comment(note, "private")
    one.comments(note).wait_for()
    one.comment(to_secretariat, "secretariat")
    one.comments(to_secretariat).wait_for()
    one.comment(later)

    # Events reach a tablet in order: once the later shared comment is there, the earlier ones
    # would have been too.
    two.comments(later).wait_for()
    for text in (note, to_secretariat):
        assert two.comments(text).count() == 0
        assert text not in _norm(two.page.locator("#room").text_content())
        assert text not in two.state_texts()
        assert text not in two.api_texts(item)
        assert text in one.api_texts(item)
    assert one.page.locator("#room-comment-list li[data-visibility=private]").filter(has_text=note).count() == 1
    _shot(one.page, "member01-room-private-note")


def test_it_shows_the_secretariat_who_is_connected_and_every_tablet_follows_the_chair(browser, server_url, tablets):
    one, two = tablets
    title = _published_title()
    secretary = Tablet(browser, server_url, "secretary", LANDSCAPE)
    chair = Tablet(browser, server_url, "pm", PORTRAIT)
    try:
        secretary.open_room(title)
        presence = secretary.page.locator("#room-presence")
        for username in ("member01", "member02"):
            presence.locator(f"li.is-online[data-username={username}]").wait_for()
        assert one.page.locator("#room-presence").is_hidden(), "members do not see who is connected"
        _shot(secretary.page, "secretary-room-presence")

        # The chair starts the session from the agenda page, then moves "now discussing" to item 2.
        chair.page.goto(f"{server_url}{secretary.page.url.removeprefix(server_url).removesuffix('room/')}")
        with chair.page.expect_navigation():
            chair.page.click("button[data-action=start]")
        with chair.page.expect_navigation():
            chair.page.click("a#open-room")
        chair.wait_online()
        second = chair.page.locator("#room-agenda li").nth(1)
        second_id = second.get_attribute("data-item-id")
        second.locator("button").click()
        chair.page.click("[data-action=discuss]")
        for tablet in (one, two):
            tablet.page.locator(f"#room-agenda li.is-current.is-selected[data-item-id='{second_id}']").wait_for()
            assert tablet.page.locator("#room-detail .badge--now").count() == 1

        two.page.click("[data-action=ask-to-speak]")
        one.page.locator("#room-queue li[data-username=member02]").wait_for()
        chair.page.locator("#room-queue li[data-username=member02]").wait_for()
        chair.page.click("[data-action=give-floor]")
        for tablet in (one, two, chair):
            tablet.page.locator(".room-speaking[data-username=member02] .room-timer").wait_for()
        two.page.locator(".room-you-speak").wait_for()
        assert one.page.locator("#room-queue").count() == 0
        chair.page.wait_for_timeout(1_100)
        assert re.fullmatch(r"\d\d:\d\d", chair.page.locator(".room-timer").text_content())
        _shot(chair.page, "pm-room-floor")
        _shot(one.page, "member01-room-floor")
        chair.page.click("[data-action=end-turn]")
        one.page.locator(".room-speaking").wait_for(state="detached")
    finally:
        secretary.close()
        chair.close()
