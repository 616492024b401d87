"""Offline sessions on the tablet and remote wipe (issue 17, docs/offline.md), in Debian's Chromium
against the seeded demo served by Daphne (``conftest.py``; ``http://127.0.0.1:<port>`` is a secure
context, so service workers and Cache Storage work).

At both tablet sizes (1024×768 with member11, 820×1180 with member15: both named recipients of the
published session's restricted paper, and used by no other browser test), one minister:

1. keeps the published session from the live room ("Giữ phiên họp trên máy tính bảng"): progress, then
   the stored size; the cache ``ecabinet-session-<user>-<meeting>`` holds the session page, the room,
   each document page and copy — and not the restricted paper, which they may read but which the
   secretariat has not allowed offline;
2. writes a comment in the room with the network cut; reloads the room with no network (served from the
   tablet's store, the comment still waiting in the outbox), reads the session page and a document
   page and its copy (a Range request answered 206) from the store; a page not kept shows the offline
   page, which lists the kept session; back online, the comment arrives exactly once (API);
3. the secretariat turns offline copies off: the button is disabled with the reason, and the kept copy
   is deleted at the next page load; turned on again, kept again;
4. the same minister changes their password on another tablet (ends every other sign-in,
   ``ecabinet.devices.end_access``): at the first tablet's next contact the kept sessions are gone;
5. logging out deletes the kept sessions (the page first, ``Clear-Site-Data`` as well);
6. removed from the session by the secretariat while the room is open: the socket is closed (4403) and
   the tablet deletes the session at once.

Screenshots go to /tmp/browser-shots/offline-*.png.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.utils import timezone

from demo.cast import DEMO_PASSWORD
from demo.plan import build_plan
from tests.browser.test_reader_annotations import place_note

pytestmark = pytest.mark.browser

LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 820, "height": 1180}
TIMEOUT_MS = 30_000
PUBLISHED = next(s for s in build_plan(timezone.localtime()) if s.status == "published")


def _log_in(browser, server_url: str, username: str, viewport: dict, password: str = DEMO_PASSWORD):
    context = browser.new_context(viewport=viewport, locale="vi-VN", has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, server_url, username, password)
    return context, page, errors


def _sign_in(page, server_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{server_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) [type=submit]")
    assert "/login/" not in page.url, f"{username} could not log in"


def _ready(page) -> None:
    """offline.js has made its contact and drawn the control; the service worker controls the page."""
    page.wait_for_function("() => window.ecabinetOffline && window.ecabinetOffline.ready")
    page.evaluate("() => window.ecabinetOffline.ready")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def _caches(page) -> list[str]:
    return page.evaluate("() => caches.keys()")


def _cached_urls(page, name: str) -> list[str]:
    return page.evaluate("""async (name) => {
        const cache = await caches.open(name);
        return (await cache.keys()).map((r) => { const u = new URL(r.url); return u.pathname + u.search; });
    }""", name)


def _shot(page, shots, name: str) -> None:
    size = page.viewport_size
    page.screenshot(path=str(shots / f"offline-{name}-{size['width']}x{size['height']}.png"), full_page=True)


def _secretariat_token(playwright_request, server_url: str) -> str:
    response = playwright_request.post(f"{server_url}/api/v1/auth/token", data={
        "username": "secretary", "password": DEMO_PASSWORD, "device": f"offline test {uuid.uuid4().hex[:6]}"})
    assert response.status == 200, response.text()
    return response.json()["token"]


def _set_offline_copies(context, server_url: str, meeting: int, token: str, value: bool) -> None:
    response = context.request.patch(f"{server_url}/api/v1/meetings/{meeting}/", data={"offline_copies": value},
                                     headers={"Authorization": f"Token {token}",
                                              "Idempotency-Key": str(uuid.uuid4())})
    assert response.status == 200, response.text()
    assert response.json()["offline_copies"] is value


def _change_password(page, server_url: str, old: str, new: str) -> None:
    """On the account's password screen (``ecabinet.devices.change_password``: every other sign-in ends)."""
    page.goto(f"{server_url}/account/password/")
    page.fill("input[name=old_password]", old)
    page.fill("input[name=new_password1]", new)
    page.fill("input[name=new_password2]", new)
    with page.expect_navigation():
        page.click("form:has(input[name=new_password1]) [type=submit]")
    assert page.locator(".flash--success").count() == 1, page.locator("main").inner_text()


def _comments(context, server_url: str, item: int) -> list[str]:
    response = context.request.get(f"{server_url}/api/v1/agenda-items/{item}/comments/?limit=50")
    assert response.status == 200, response.text()
    return [c["text"] for c in response.json()["results"]]


@pytest.mark.parametrize(("viewport", "username"), [(LANDSCAPE, "member11"), (PORTRAIT, "member15")],
                         ids=["landscape", "portrait"])
def test_a_minister_keeps_a_session_reads_it_offline_and_the_tablet_is_wiped(
        browser, server_url, shots, viewport, username):
    context, page, errors = _log_in(browser, server_url, username, viewport)
    listing = context.request.get(f"{server_url}/api/v1/offline/").json()
    me = listing["user"]
    session = next(s for s in listing["sessions"] if s["title"] == PUBLISHED.title)
    assert session["allowed"] is True and not session["offline_restricted"]
    meeting = session["id"]
    name = f"ecabinet-session-{me}-{meeting}"
    kept_documents = session["documents"]
    assert kept_documents and all(d["classification"] != "restricted" for d in kept_documents)
    # The restricted paper: this minister reads it, but it is not listed for the tablet.
    detail = context.request.get(f"{server_url}/api/v1/meetings/{meeting}/").json()
    restricted = [d for item in detail["agenda"] for d in item["documents"] if d["classification"] == "restricted"]
    assert restricted, "the demo's published session has a restricted paper this minister reads"

    # 1. Keep the session from the live room.
    page.goto(f"{server_url}/meetings/{meeting}/room/")
    page.locator("#room-connection[data-state=online]").wait_for()
    _ready(page)
    keep = page.locator("#offline-keep-button")
    assert "Giữ phiên họp trên máy tính bảng" in keep.text_content()
    assert keep.is_enabled()
    keep.click()
    page.locator("#offline-keep[data-kept=true]").wait_for()
    page.locator("#offline-status[data-kind=ok]").wait_for()
    status = page.locator("#offline-status").text_content()
    assert "Đã lưu trên máy tính bảng" in status and re.search(r"\d+([,.]\d+)? (kB|MB)", status), status
    assert page.locator("#offline-remove-button").is_visible()
    assert name in _caches(page)
    stored = set(_cached_urls(page, name))
    assert {f"/meetings/{meeting}/", f"/meetings/{meeting}/room/"} <= stored
    for doc in kept_documents:
        assert {doc["reader_url"], doc["page_url"]} <= stored, doc
    for doc in restricted:
        assert not any(url.startswith(f"/documents/{doc['id']}/") for url in stored), "a restricted paper was kept"
    _shot(page, shots, "room-kept")

    # 2. A comment written with the network cut, a reload from the store, then back online.
    item = int(page.locator("#room-agenda li.is-selected").get_attribute("data-item-id"))
    text = f"Ý kiến viết khi ngoại tuyến {uuid.uuid4().hex[:8]}"
    context.set_offline(True)
    page.locator("#room-connection[data-state=offline]").wait_for()
    page.fill("#room-comment-text", text)
    page.click("#room-comment-send")
    page.locator("#room-pending[data-count='1']").wait_for()
    page.reload()  # no network: the room comes from the tablet's store, the outbox from localStorage
    assert page.evaluate("() => navigator.onLine") is False
    page.locator("#room-pending[data-count='1']").wait_for()
    page.locator("#offline-keep[data-kept=true]").wait_for()  # offline.js read what this tablet keeps
    page.goto(f"{server_url}/meetings/{meeting}/")
    assert PUBLISHED.title in page.locator("h1").first.text_content()
    page.locator("#offline-status[data-kind=ok]").wait_for()
    assert "ngoại tuyến" in page.locator("#offline-status").text_content()
    _shot(page, shots, "session-offline")
    doc = kept_documents[0]
    page.goto(f"{server_url}{doc['page_url']}")
    assert doc["title"] in page.locator("h1").first.text_content()
    copy = page.evaluate("""async (url) => {
        const whole = await fetch(url, { credentials: "same-origin" });
        const head = new Uint8Array(await whole.arrayBuffer()).slice(0, 5);
        const part = await fetch(url, { credentials: "same-origin", headers: { Range: "bytes=0-99" } });
        return { status: whole.status, head: String.fromCharCode(...head), type: whole.headers.get("Content-Type"),
                 partStatus: part.status, partLength: (await part.arrayBuffer()).byteLength,
                 range: part.headers.get("Content-Range") };
    }""", doc["reader_url"])
    assert copy["status"] == 200 and copy["head"] == "%PDF-" and copy["type"] == "application/pdf", copy
    assert copy["partStatus"] == 206 and copy["partLength"] == 100 and copy["range"].startswith("bytes 0-99/"), copy
    # The reader draws the kept copy (its byte ranges answered by the service worker), and a note
    # written now waits in the same outbox as the room's comments.
    page.locator("#reader .reader-page--rendered .textLayer span").first.wait_for()
    note = f"Ghi chú viết khi ngoại tuyến {uuid.uuid4().hex[:8]}"
    place_note(page, note, "private")
    page.locator("#reader .annot-marker.is-pending").first.wait_for()
    _shot(page, shots, "document-offline")
    page.goto(f"{server_url}/notifications/")  # never kept
    assert "Bạn đang ngoại tuyến" in page.locator("h1").text_content()
    page.locator(f"#offline-kept-list a[href='/meetings/{meeting}/']").wait_for()
    _shot(page, shots, "offline-page")

    context.set_offline(False)
    page.goto(f"{server_url}/meetings/{meeting}/room/")
    page.locator("#room-connection[data-state=online]").wait_for()
    page.locator("#room-pending[data-count='0']").wait_for(state="attached")
    page.locator("#room-comment-list li[data-comment-id]").filter(has_text=text).wait_for()
    page.wait_for_timeout(1_500)  # let a duplicate that might be on its way arrive
    assert _comments(context, server_url, item).count(text) == 1
    # The note written offline in the reader was sent by the room (one outbox per person and session), once.
    annotations = context.request.get(f"{server_url}/api/v1/documents/{doc['id']}/annotations/").json()["results"]
    assert [a["text"] for a in annotations].count(note) == 1, annotations

    # 3. The secretariat turns offline copies off: not allowed, and wiped at the next contact.
    token = _secretariat_token(context.request, server_url)
    _set_offline_copies(context, server_url, meeting, token, False)
    try:
        page.goto(f"{server_url}/meetings/{meeting}/")
        _ready(page)
        assert name not in _caches(page)
        assert page.locator("#offline-keep-button").is_disabled()
        assert not page.locator("#offline-remove-button").is_visible()
        reason = page.locator("#offline-keep-reason").text_content()
        assert "Văn phòng" in reason or "không cho phép" in reason, reason
        _shot(page, shots, "not-allowed")
    finally:
        _set_offline_copies(context, server_url, meeting, token, True)
    page.reload()
    _ready(page)
    page.click("#offline-keep-button")
    page.locator("#offline-keep[data-kept=true]").wait_for()
    assert name in _caches(page)

    # 4. The minister's access on this tablet ends (password changed on another tablet): wiped at contact.
    other, other_page, other_errors = _log_in(browser, server_url, username, viewport)
    new_password = f"Ngoai-tuyen-{uuid.uuid4().hex[:10]}"
    try:
        _change_password(other_page, server_url, DEMO_PASSWORD, new_password)
        assert page.evaluate("() => window.ecabinetOffline.contact('test')") is None
        assert not [c for c in _caches(page) if c.startswith("ecabinet-session-")]
    finally:
        assert not other_errors, other_errors
        other.close()

    # 5. Logout clears what is kept. (The demo password cannot be set again: it resembles the account's
    # e-mail address, which the validators refuse; no other browser test signs in as this minister.)
    _sign_in(page, server_url, username, new_password)
    page.goto(f"{server_url}/meetings/{meeting}/")
    _ready(page)
    page.click("#offline-keep-button")
    page.locator("#offline-keep[data-kept=true]").wait_for()
    _shot(page, shots, "session-kept")
    with page.expect_response(lambda r: r.url.endswith("/logout/")) as answer:
        page.click("button[data-offline-logout]")
    assert answer.value.all_headers().get("clear-site-data") == '"cache", "storage"'
    page.wait_for_url(re.compile(r"/login/"))
    assert not [c for c in _caches(page) if c.startswith("ecabinet-session-")]

    # 6. Removed from the session while the room is open: the socket closes (4403), the tablet deletes it.
    _sign_in(page, server_url, username, new_password)
    page.goto(f"{server_url}/meetings/{meeting}/room/")
    page.locator("#room-connection[data-state=online]").wait_for()
    _ready(page)
    page.click("#offline-keep-button")
    page.locator("#offline-keep[data-kept=true]").wait_for()
    response = context.request.post(f"{server_url}/api/v1/meetings/{meeting}/participants/{username}/remove/",
                                    headers={"Authorization": f"Token {token}", "Idempotency-Key": str(uuid.uuid4())})
    assert response.status == 200, response.text()
    page.wait_for_function(f"""() => caches.keys().then((names) => !names.includes("{name}"))""")
    page.locator("#room-flash").wait_for()  # "You no longer have access to this session."
    page.locator("#offline-keep[data-allowed=false]").wait_for()
    assert page.locator("#offline-keep-button").is_disabled()
    assert "không còn được giữ trên máy tính bảng" in page.locator("#offline-status").text_content()
    _shot(page, shots, "room-removed")
    assert not errors, errors
    context.close()


def _kept_json(page, name: str, url: str):
    return page.evaluate("""async ([name, url]) => {
        const hit = await (await caches.open(name)).match(url);
        return hit ? await hit.json() : null;
    }""", [name, url])


def test_an_annotation_withdrawn_by_its_author_leaves_the_other_tablets_at_their_next_contact(
        browser, server_url, shots):
    """A shared note kept on member17's tablet, then made private by its author (member18): at the next
    contact the tablet's kept annotations no longer hold it (they are fetched again every time)."""
    context, page, errors = _log_in(browser, server_url, "member17", LANDSCAPE)
    try:
        listing = context.request.get(f"{server_url}/api/v1/offline/").json()
        session = next(s for s in listing["sessions"] if s["title"] == PUBLISHED.title)
        meeting, doc = session["id"], session["documents"][0]
        name = f"ecabinet-session-{listing['user']}-{meeting}"
        token = context.request.post(f"{server_url}/api/v1/auth/token", data={
            "username": "member18", "password": DEMO_PASSWORD, "device": "offline test"}).json()["token"]
        author = {"Authorization": f"Token {token}"}
        text = f"Ý kiến chia sẻ rồi rút lại {uuid.uuid4().hex[:8]}"
        created = context.request.post(
            f"{server_url}/api/v1/documents/{doc['id']}/annotations/",
            data={"kind": "note", "page": 1, "point": [0.5, 0.5], "visibility": "shared", "text": text},
            headers={**author, "Idempotency-Key": str(uuid.uuid4())})
        assert created.status == 201, created.text()

        page.goto(f"{server_url}/meetings/{meeting}/")
        _ready(page)
        page.click("#offline-keep-button")
        page.locator("#offline-keep[data-kept=true]").wait_for()
        kept = _kept_json(page, name, doc["annotations_url"])
        assert text in [a["text"] for a in kept["results"]], kept

        changed = context.request.patch(f"{server_url}/api/v1/annotations/{created.json()['id']}/",
                                        data={"visibility": "private"},
                                        headers={**author, "Idempotency-Key": str(uuid.uuid4())})
        assert changed.status == 200, changed.text()
        page.reload()
        _ready(page)
        page.evaluate("() => window.ecabinetOffline.contact('test')")
        kept = _kept_json(page, name, doc["annotations_url"])
        assert text not in [a["text"] for a in kept["results"]], "a withdrawn annotation stayed on the tablet"
        assert not errors, errors
    finally:
        context.close()
