"""Paged comments on a tablet (issue 14 §1): the room's snapshot carries the newest comments of an
item; the tablet says how many earlier ones there are, counts them all on the agenda, and loads
them over HTTP when the minister asks — in Vietnamese, at both tablet sizes."""

from __future__ import annotations

import pytest

from demo.cast import DEMO_PASSWORD

from .test_room_two_tablets import LANDSCAPE, PORTRAIT, Tablet, _published_title, _shot, _unique

pytestmark = pytest.mark.browser


# One minister per size: each posts a dozen comments, well within the per-account rate limit alone.
@pytest.mark.parametrize(("username", "viewport"), [("member03", LANDSCAPE), ("member04", PORTRAIT)],
                         ids=["landscape", "portrait"])
def test_it_shows_how_many_earlier_comments_there_are_and_loads_them(browser, server_url, username, viewport):
    tablet = Tablet(browser, server_url, username, viewport)
    try:
        tablet.open_room(_published_title())
        item = tablet.selected_item
        token = tablet.context.request.post(f"{server_url}/api/v1/auth/token",
                                            data={"username": username, "password": DEMO_PASSWORD}).json()["token"]
        window = tablet.page.evaluate("() => window.ecabinetRoom.state.comments_per_item")
        marker = _unique("Ý kiến phân trang")
        for n in range(window + 2):
            response = tablet.context.request.post(
                f"{server_url}/api/v1/agenda-items/{item}/comments/", headers={"Authorization": f"Token {token}"},
                data={"text": f"{marker} số {n}", "visibility": "shared"})
            assert response.status == 201, response.text()
        total = tablet.context.request.get(f"{server_url}/api/v1/agenda-items/{item}/comments/?limit=1",
                                           headers={"Authorization": f"Token {token}"}).json()["total"]
        assert total >= window + 2

        tablet.page.reload()
        tablet.wait_online()
        page = tablet.page
        page.locator("#room-comment-list li[data-comment-id]").first.wait_for()
        assert page.locator("#room-comment-list li[data-comment-id]").count() == window
        earlier = page.locator("[data-action=earlier-comments]")
        assert earlier.inner_text().strip() == f"Xem các ý kiến trước ({total - window})"
        chip = page.locator(f"#room-agenda li[data-item-id='{item}'] .chip").last
        assert chip.inner_text().strip() == f"{total} ý kiến"
        _shot(page, "room-paged")

        earlier.click()
        page.locator("#room-comment-list li[data-comment-id]").nth(min(total, window + 50) - 1).wait_for()
        shown = page.locator("#room-comment-list li[data-comment-id]").count()
        assert shown == min(total, window + 50)
        assert tablet.comments(f"{marker} số 0").count() == 1
        _shot(page, "room-paged-earlier")
    finally:
        tablet.close()
