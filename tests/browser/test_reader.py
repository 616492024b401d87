"""The in-app reader (issue 17, contract C3) in Debian's Chromium at both tablet sizes: a member opens a
document of the seeded demo; page 1 is drawn into a canvas from the reader's own copy; next page and "go
to page" move; a search finds a word and moves to its page with the hit highlighted; zoom changes the
scale; a thumbnail moves to its page; the version switch loads the other version's copy; the keyboard
works; and nothing is refused by the Content-Security-Policy or thrown on the page.

Screenshots: /tmp/browser-shots/reader-*.png (looked at by hand: diacritics, layout).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest

from .test_content_security_policy import LISTEN
from .test_tablet_member import LANDSCAPE, PORTRAIT, REVISED, log_in, open_published_session

pytestmark = pytest.mark.browser


# Touch events as a tablet sends them, on the page area: "moves" is a list of steps, each the fingers' points.
TOUCH = """({moves}) => {
  const target = document.querySelector("#reader .reader__pages");
  const touches = (points) => points.map(([x, y], i) => new Touch({identifier: i + 1, target, clientX: x, clientY: y}));
  const send = (type, points, changed) => target.dispatchEvent(new TouchEvent(type, {
    bubbles: true, cancelable: true, touches: touches(points), changedTouches: touches(changed)}));
  send("touchstart", moves[0], moves[0]);
  for (const step of moves.slice(1)) send("touchmove", step, step);
  send("touchend", [], moves[moves.length - 1]);
}"""


def _watch(context, page):
    problems: list[str] = []
    context.expose_binding("__cspReport", lambda _source, text: problems.append(f"csp: {text}"))
    context.add_init_script(LISTEN)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") or "Refused to" in m.text else None)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    return problems


def _open_reader(page, title: str):
    open_published_session(page)
    with page.expect_navigation():
        page.locator("a.document-link").filter(has_text=title).first.click()
    page.locator("#reader.reader--ready").wait_for()
    page.locator('#reader .reader-page[data-page="1"].reader-page--rendered canvas').wait_for()


def _current(page) -> int:
    return int(page.locator("#reader").get_attribute("data-page"))


def _canvas_drawn(page, number: int) -> bool:
    """The canvas of page ``number`` has something other than white on it (the text and the watermark)."""
    return page.evaluate("""(n) => {
      const c = document.querySelector(`#reader .reader-page[data-page="${n}"] canvas`);
      if (!c || !c.width) return false;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4 * 97) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) return true;
      return false;
    }""", number)


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["1024x768", "820x1180"])
def test_a_member_reads_a_document_in_the_reader(browser, server_url, shots, viewport):
    size = f"{viewport['width']}x{viewport['height']}"
    context, page = log_in(browser, server_url, "member01", viewport)
    problems = _watch(context, page)
    ranges: list[str] = []
    page.on("request", lambda r: ranges.append(r.headers.get("range", "")) if "/read/" in r.url else None)
    try:
        _open_reader(page, REVISED.title)
        reader = page.locator("#reader")
        assert _canvas_drawn(page, 1)
        count = page.locator("#reader .reader-page").count()
        assert count >= 2
        # Vietnamese first: the toolbar speaks it.
        assert page.locator("#reader-search").get_attribute("placeholder") == "Tìm trong tài liệu"
        assert page.get_by_role("button", name="Trang sau").count() == 1
        page.screenshot(path=str(shots / f"reader-page1-{size}.png"))

        # Next page, then "go to page".
        page.get_by_role("button", name="Trang sau").click()
        page.wait_for_function("() => document.querySelector('#reader').dataset.page === '2'")
        page.locator('#reader .reader-page[data-page="2"].reader-page--rendered').wait_for()
        assert _canvas_drawn(page, 2)
        page.fill("#reader-page", "1")
        page.press("#reader-page", "Enter")
        page.wait_for_function("() => document.querySelector('#reader').dataset.page === '1'")
        page.wait_for_function(f"() => document.querySelector('#reader-announce').textContent === 'Trang 1 / {count}'")

        # Search a word of the last page: the reader moves there and highlights it.
        last = count
        word = page.evaluate("""async (n) => {
          const r = window.ecabinetReader;
          const t = await r.pageText(r.pages[n - 1]);
          const words = t.text.split(/\\s+/).filter((w) => /^[\\p{L}]{5,}$/u.test(w));
          for (const w of words) {
            let elsewhere = false;
            for (let i = 0; i < n - 1 && !elsewhere; i++) {
              const other = await r.pageText(r.pages[i]);
              if (other.text.toLocaleLowerCase("vi").includes(w.toLocaleLowerCase("vi"))) elsewhere = true;
            }
            if (!elsewhere) return w;
          }
          return null;
        }""", last)
        assert word, "no word found only on the last page"
        page.keyboard.press("Control+f")
        assert page.evaluate("() => document.activeElement.id") == "reader-search"
        page.keyboard.type(word)
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => document.querySelector('#reader').dataset.searchPage === '{last}'")
        page.wait_for_function(f"() => document.querySelector('#reader').dataset.page === '{last}'")
        hit = page.locator(f'#reader .reader-page[data-page="{last}"] mark.reader-hit--current')
        hit.wait_for()
        assert hit.text_content().lower() == word.lower()
        assert re.search(rf"trang {last}", page.locator(".reader__search-status").text_content())
        page.screenshot(path=str(shots / f"reader-search-{size}.png"))

        # Zoom in changes the scale and the page's size; fit width brings it back.
        before = float(reader.get_attribute("data-scale"))
        width_before = page.locator('#reader .reader-page[data-page="1"]').bounding_box()["width"]
        page.get_by_role("button", name="Phóng to").click()
        page.wait_for_function(f"() => Number(document.querySelector('#reader').dataset.scale) > {before}")
        assert page.locator('#reader .reader-page[data-page="1"]').bounding_box()["width"] > width_before
        page.keyboard.press("Escape")
        page.locator("#reader .reader__pages").focus()
        page.keyboard.press("-")
        page.wait_for_function(f"() => Number(document.querySelector('#reader').dataset.scale) <= {before + 0.001}")
        page.get_by_role("button", name="Vừa trang").click()
        assert reader.get_attribute("data-zoom-mode") == "page-fit"
        page.screenshot(path=str(shots / f"reader-fitpage-{size}.png"))
        page.get_by_role("button", name="Vừa chiều ngang").click()

        # Keyboard: Home, End, PageUp.
        page.locator("#reader .reader__pages").focus()
        page.keyboard.press("Home")
        page.wait_for_function("() => document.querySelector('#reader').dataset.page === '1'")
        page.keyboard.press("End")
        page.wait_for_function(f"() => document.querySelector('#reader').dataset.page === '{count}'")
        page.keyboard.press("PageUp")
        page.wait_for_function(f"() => document.querySelector('#reader').dataset.page === '{count - 1}'")

        # Touch: a swipe to the left turns to the next page; two fingers apart zoom in (touch events as a
        # tablet's browser sends them; the fit-width page is not wider than the view, so a swipe turns pages).
        page.get_by_role("button", name="Trang trước").click()
        at = _current(page)
        page.evaluate(TOUCH, {"moves": [[[600, 400]], [[420, 405]], [[300, 410]]]})
        page.wait_for_function(f"() => document.querySelector('#reader').dataset.page === '{at + 1}'")
        before = float(reader.get_attribute("data-scale"))
        page.evaluate(TOUCH, {"moves": [[[500, 400], [560, 400]], [[450, 400], [610, 400]], [[400, 400], [660, 400]]]})
        page.wait_for_function(f"() => Number(document.querySelector('#reader').dataset.scale) > {before * 1.5}")
        page.get_by_role("button", name="Vừa chiều ngang").click()

        # Thumbnails: open them (closed by default on the narrow tablet) and click page 2.
        if page.locator("#reader-thumbs").is_hidden():
            page.get_by_role("button", name="Trang thu nhỏ").click()
        page.locator('#reader-thumbs .reader-thumb[data-page="2"]').click()
        page.wait_for_function("() => document.querySelector('#reader').dataset.page === '2'")
        assert page.locator('#reader-thumbs .reader-thumb[data-page="2"]').get_attribute("aria-current") == "page"
        page.locator('#reader-thumbs .reader-thumb[data-page="1"] canvas').wait_for()
        page.screenshot(path=str(shots / f"reader-thumbs-{size}.png"))

        # The version switch loads the other version's own copy; "What changed" follows it.
        changes = page.locator("#reader-changes")
        assert changes.is_visible() and "from=1&to=2" in changes.get_attribute("href")
        page.select_option("#reader-version", "1")
        page.wait_for_function("() => document.querySelector('#reader').dataset.version === '1'")
        page.locator('#reader .reader-page[data-page="1"].reader-page--rendered canvas').wait_for()
        assert changes.is_hidden()
        resources = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)")
        assert any("/read/1/" in url for url in resources)

        # PDF.js asked for byte ranges (the demo papers are small: it may also take a short file whole).
        assert ranges and all(r == "" or r.startswith("bytes=") for r in ranges), ranges
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_a_member_sees_the_page_comments_in_the_reader(browser, server_url, shots):
    context, page = log_in(browser, server_url, "member01", LANDSCAPE)
    problems = _watch(context, page)
    try:
        open_published_session(page)
        with page.expect_navigation():
            page.locator("a.document-link").filter(has_text=REVISED.title).first.click()
        page.locator("#reader.reader--ready").wait_for()
        document_id = int(page.locator("#reader").get_attribute("data-document"))
        item_url = page.locator("#reader").get_attribute("data-comments-url")
        token = page.evaluate("() => document.cookie.match(/csrftoken=([^;]+)/)?.[1] || ''")
        text = "Ý kiến ở trang 2: đề nghị làm rõ căn cứ pháp lý"
        body = {"text": text, "visibility": "shared", "document": document_id, "page": 2}
        response = page.request.post(urljoin(page.url, item_url), data=body,
                                     headers={"X-CSRFToken": token, "Referer": page.url})
        assert response.status == 201, response.text()
        page.reload()
        marker = page.locator('#reader .reader-page[data-page="2"] .reader-comments__marker')
        marker.wait_for()
        assert marker.get_attribute("aria-expanded") == "false"
        page.locator("#reader-page").fill("2")
        page.press("#reader-page", "Enter")
        marker.click()
        assert page.locator('#reader .reader-page[data-page="2"] .reader-comments__list').is_visible()
        assert text in page.locator('#reader .reader-page[data-page="2"] .reader-comments__list').text_content()
        page.screenshot(path=str(shots / "reader-comments-1024x768.png"))
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_the_written_ballot_shows_its_draft_in_the_reader(browser, server_url, shots):
    context, page = log_in(browser, server_url, "member01", PORTRAIT)
    problems = _watch(context, page)
    try:
        page.goto(f"{server_url}/ballots/")
        with page.expect_navigation():
            page.locator("a.ballot-row").first.click()
        page.locator("#reader.reader--ready").wait_for()
        page.locator('#reader .reader-page[data-page="1"].reader-page--rendered canvas').wait_for()
        assert _canvas_drawn(page, 1)
        assert page.locator("#reader-version").count() == 0  # one draft, no versions to switch
        assert page.locator("#reader-changes").is_hidden()
        page.locator("#reader").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "reader-ballot-820x1180.png"))
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_without_javascript_the_document_page_offers_the_download(browser, server_url, shots):
    from demo.cast import DEMO_PASSWORD

    context = browser.new_context(viewport=LANDSCAPE, locale="vi-VN", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{server_url}/login/")
        page.fill("input[name=username]", "member01")
        page.fill("input[name=password]", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("form:has(input[name=password]) [type=submit]")
        open_published_session(page)
        with page.expect_navigation():
            page.locator("a.document-link").filter(has_text=REVISED.title).first.click()
        assert page.locator("#reader").is_hidden()
        link = page.get_by_role("link", name="Tải tài liệu về")
        assert link.is_visible()
        href = link.get_attribute("href")
        assert href.endswith("/file/")
        response = page.request.get(f"{server_url}{href}")
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        page.screenshot(path=str(shots / "reader-nojs-1024x768.png"))
    finally:
        context.close()
