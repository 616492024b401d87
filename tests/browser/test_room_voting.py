"""A named vote in the live room, on three tablets (issue #4, item 4).

The chair (pm, portrait 820×1180) starts the seeded published session if an earlier test has not,
puts a named motion on the item now shown and opens it from the room. member01 (landscape 1024×768)
and member02 (portrait), recorded present by the secretariat through the API, vote from their tablets.
What this proves:

1. The chair's tablet draws the tally as a chart that follows the votes live: 1 in favour, then 1 in
   favour and 1 against, with "N of M present members have voted".
2. A member's vote goes through the outbox (an Idempotency-Key on the request) and the member then
   sees "your vote" and the receipt the server returned once — kept on that tablet, so a reload still
   shows it.
3. After the chair closes the vote (with a confirmation), every tablet shows the frozen result: adopted
   or not, in words, with the quorum, the rule and its legal citation — in Vietnamese, diacritics intact.

Screenshots at both viewports go to /tmp/vote-shots/.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from tests.browser.test_room_two_tablets import LANDSCAPE, PORTRAIT, Tablet, _norm, _published_title

pytestmark = pytest.mark.browser

VOTE_SHOTS = Path("/tmp/vote-shots")


def _shot(page, name: str) -> None:
    VOTE_SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(VOTE_SHOTS / f"{name}-{size['width']}x{size['height']}.png"), full_page=True)


def _api(page, path: str, body: dict) -> dict:
    """A write through the API with this tablet's session (CSRF token from the cookie)."""
    return page.evaluate("""async ([path, body]) => {
      const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
      const response = await fetch(path, { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-CSRFToken": decodeURIComponent(csrf),
                   "Idempotency-Key": crypto.randomUUID() } });
      return { status: response.status, body: await response.json() };
    }""", [path, body])


def _motion(tablet, title: str):
    return tablet.page.locator("#room-motion-list li[data-motion-id]").filter(has_text=title)


def test_a_named_vote_is_charted_live_for_the_chair_and_its_result_reaches_every_tablet(browser, server_url):
    title = _published_title()
    chair = Tablet(browser, server_url, "pm", PORTRAIT)
    secretary = Tablet(browser, server_url, "secretary", LANDSCAPE)
    one = Tablet(browser, server_url, "member01", LANDSCAPE)
    two = Tablet(browser, server_url, "member02", PORTRAIT)
    tablets = (chair, one, two)
    try:
        chair.open_room(title)
        meeting_path = chair.page.url.removeprefix(server_url).removesuffix("room/")
        if chair.page.locator("#room-status").get_attribute("data-status") == "published":
            chair.page.goto(f"{server_url}{meeting_path}")
            with chair.page.expect_navigation():
                chair.page.click("button[data-action=start]")
            with chair.page.expect_navigation():
                chair.page.click("a#open-room")
            chair.wait_online()
        chair.page.locator("#room-status[data-status=in_progress]").wait_for()

        meeting_id = int(re.search(r"/meetings/(\d+)/", meeting_path).group(1))
        secretary.page.goto(f"{server_url}{meeting_path}")
        for username in ("member01", "member02"):
            answer = _api(secretary.page, f"/api/v1/meetings/{meeting_id}/attendance/",
                          {"username": username, "status": "present"})
            assert answer["status"] == 200, answer

        for tablet in (one, two):
            tablet.open_room(title)
        item = chair.selected_item
        for tablet in (one, two):
            tablet.page.locator(f"#room-agenda li.is-selected[data-item-id='{item}']").wait_for()

        # The chair puts a named motion and opens it.
        motion_title = f"Thông qua dự thảo Nghị quyết phiên họp {uuid.uuid4().hex[:6]}"
        chair.page.fill("#room-motion-title", motion_title)
        chair.page.select_option("#room-motion-method", "named")
        chair.page.click("#room-motion-create")
        chair_motion = _motion(chair, motion_title)
        chair_motion.locator("[data-action=open-motion]").click()
        chair_motion.locator(".vote-chart[data-voted='0']").wait_for()
        assert "Đang biểu quyết" in _norm(chair_motion.locator(".badge--motion").text_content())

        # member01 votes in favour: the request carries an Idempotency-Key (the outbox).
        one_motion = _motion(one, motion_title)
        with one.page.expect_request(re.compile(r".*/api/v1/motions/\d+/votes/$")) as request:
            one_motion.locator("[data-action=vote-yes]").click()
        assert request.value.headers.get("idempotency-key")
        chart = chair_motion.locator(".vote-chart")
        chair_motion.locator(".vote-chart[data-voted='1'][data-yes='1']").wait_for()
        assert chart.get_attribute("aria-live") == "polite"
        assert chart.locator("svg .vote-bar--yes").get_attribute("data-value") == "1"
        assert re.search(r"1 / \d+|1 trên \d+", _norm(chart.text_content())), chart.text_content()

        one_motion.locator(".vote-mine[data-choice=yes]").wait_for()
        assert "Tán thành" in _norm(one_motion.locator(".vote-mine").text_content())
        receipt = one_motion.locator(".vote-receipt__code")
        receipt.wait_for()
        token = receipt.text_content().strip()
        assert len(token) >= 16
        assert one_motion.locator("[data-action^=vote-]").count() == 0, "a member votes once"
        _shot(one.page, "member01-voted")

        # member02 votes against: the chair's chart goes to 2.
        two_motion = _motion(two, motion_title)
        buttons = two_motion.locator("[data-action^=vote-]")
        buttons.first.wait_for()
        assert [_norm(t) for t in buttons.all_text_contents()] == ["Tán thành", "Không tán thành", "Không biểu quyết"]
        assert all(buttons.nth(i).bounding_box()["height"] >= 44 for i in range(3))
        _shot(two.page, "member02-ballot")
        two_motion.locator("[data-action=vote-no]").click()
        chair_motion.locator(".vote-chart[data-voted='2'][data-yes='1'][data-no='1']").wait_for()
        two_motion.locator(".vote-mine[data-choice=no]").wait_for()
        assert chart.locator("svg .vote-bar--no").get_attribute("data-value") == "1"
        _shot(chair.page, "pm-tally")
        _shot(two.page, "member02-voted")

        # The receipt stays on member01's tablet through a reload.
        one.page.reload()
        one.wait_online()
        _motion(one, motion_title).locator(".vote-receipt__code").wait_for()
        assert _motion(one, motion_title).locator(".vote-receipt__code").text_content().strip() == token

        # The chair closes (after confirming): every tablet shows the frozen result.
        chair.page.once("dialog", lambda dialog: dialog.accept())
        chair_motion.locator("[data-action=close-motion]").click()
        for tablet in tablets:
            result = _motion(tablet, motion_title).locator(".vote-result")
            result.wait_for()
            text = _norm(result.text_content())
            adopted = result.get_attribute("data-adopted") == "true"
            assert ("Được thông qua" if adopted else "Không được thông qua") in text, text
            # The demo's session is dated after 1 March 2025: the 2025 law (voting.legal).
            assert "Luật Tổ chức Chính phủ số 63/2025/QH15, Điều 25, Điều 26" in text, text
            assert "Túc số" in text, text
            assert result.locator("svg .vote-bar--yes").get_attribute("data-value") == "1"
            assert result.locator("svg .vote-bar--no").get_attribute("data-value") == "1"
            assert _motion(tablet, motion_title).locator("[data-action^=vote-]").count() == 0
        assert _motion(one, motion_title).locator(".vote-mine[data-choice=yes]").count() == 1
        _shot(chair.page, "pm-result")
        _shot(one.page, "member01-result")
        _shot(two.page, "member02-result")
    finally:
        for tablet in (chair, secretary, one, two):
            tablet.close()
