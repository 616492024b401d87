"""Annotations in the reader, two ministers on two tablets (issue 17, "Done means").

member01 on a landscape tablet (1024×768) and member02 on a portrait one (820×1180) open the same
document of the seeded published session in the PDF.js reader. What this proves:

1. member01 highlights a sentence (private by default) and puts a note shared with the session on the
   page; the API lists both for member01.
2. member02 sees the shared note (a named marker at its place, and in the API) and never the private
   highlight: not on the screen, not through the API.
3. With member01's network cut (``context.set_offline``) a new note is shown at once as waiting, its text
   is changed before it could be sent (the queued write is amended, not doubled), and with the network
   back it is applied exactly once, with the changed text.
4. member01 deletes the shared note: member02's list no longer has it after a reload.

Screenshots of both viewports go to /tmp/browser-shots/.
"""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from demo.plan import build_plan
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_tablet_member import LANDSCAPE, PORTRAIT, log_in, open_published_session

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


def _revised_title() -> str:
    from django.utils import timezone

    published = next(s for s in build_plan(timezone.localtime()) if s.status == "published")
    # A public or internal document every member reads (not the restricted report).
    return next(doc.title for item in published.items for doc in item.documents if doc.classification != "restricted")


def open_reader(page, title: str) -> None:
    open_published_session(page)
    with page.expect_navigation():
        page.locator("a.document-link").filter(has_text=title).first.click()
    page.locator("#reader .reader-page canvas").first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#reader .textLayer span").first.wait_for(timeout=TIMEOUT_MS)
    page.locator(".annot-bar").wait_for(timeout=TIMEOUT_MS)


def annotations(page) -> dict:
    url = page.locator("#reader").get_attribute("data-annotations-url")
    response = page.request.get(urljoin(page.url, url))
    assert response.status == 200, response.text()
    return response.json()


def waiting(page) -> int:
    return page.evaluate("""() => (window.ecabinetAnnotations.outbox.items()
        .filter((e) => e.meta && e.meta.kind === 'annotation').length)""")


def wait_sent(page) -> None:
    page.wait_for_function("""() => window.ecabinetAnnotations.outbox.items()
        .filter((e) => e.meta && e.meta.kind === 'annotation').length === 0""", timeout=TIMEOUT_MS)


def select_first_words(page) -> str:
    """Select the text of the first non-empty span of page 1's text layer, as a finger would."""
    return page.evaluate("""() => {
        const span = [...document.querySelectorAll('#reader .textLayer span')]
            .find((s) => s.textContent.trim().length > 8);
        const range = document.createRange();
        range.selectNodeContents(span);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.dispatchEvent(new Event('selectionchange'));
        return span.textContent;
    }""")


def place_note(page, text: str, visibility: str, *, at=(0.5, 0.3)) -> None:
    page.select_option(".annot-bar .annot-visibility", visibility)
    page.click(".annot-bar [data-action=note]")
    layer = page.locator("#reader .annot-layer").first
    box = layer.bounding_box()
    layer.click(position={"x": box["width"] * at[0], "y": box["height"] * at[1]})  # scrolled into view first
    page.locator("dialog.annot-dialog textarea").fill(text)
    page.click("dialog.annot-dialog [data-action=annot-save]")


def test_annotations_are_private_by_default_shared_on_request_and_sent_once_after_offline(browser, server_url, shots):
    title = _revised_title()
    ctx1, page1 = log_in(browser, server_url, "member01", LANDSCAPE)
    ctx2, page2 = log_in(browser, server_url, "member02", PORTRAIT)
    try:
        open_reader(page1, title)

        # 1. A private highlight and a shared note.
        quoted = select_first_words(page1)
        page1.click(".annot-bar [data-action=highlight]")
        place_note(page1, "Đề nghị làm rõ nguồn kinh phí", "shared")
        wait_sent(page1)
        mine = annotations(page1)["results"]
        kinds = {(a["kind"], a["visibility"]) for a in mine}
        assert kinds == {("highlight", "private"), ("note", "shared")}, mine
        highlight = next(a for a in mine if a["kind"] == "highlight")
        assert " ".join(highlight["quote"].split()) == " ".join(quoted.split())
        assert highlight["rects"], "the highlight keeps where it was drawn"
        note = next(a for a in mine if a["kind"] == "note")
        # anchored to the paper's own text, never to this copy's watermark (another copy would not have it)
        assert note["quote"] and "Bản số" not in note["quote"] and "UTC" not in note["quote"], note["quote"]
        page1.locator("#reader .annot-hl").first.wait_for()
        page1.screenshot(path=str(shots / "reader-annotations-member01-1024x768.png"))

        # 2. member02 sees the shared note only.
        open_reader(page2, title)
        theirs = annotations(page2)["results"]
        assert [(a["kind"], a["visibility"], a["mine"]) for a in theirs] == [("note", "shared", False)], theirs
        marker = page2.locator("#reader .annot-marker[data-kind=note]")
        marker.first.wait_for(timeout=TIMEOUT_MS)
        assert "Đề nghị làm rõ nguồn kinh phí" in (marker.first.get_attribute("aria-label") or "")
        assert page2.locator("#reader .annot-hl").count() == 0, "another member's private highlight is drawn"
        assert page2.locator("#reader [data-visibility=private]").count() == 0
        page2.screenshot(path=str(shots / "reader-annotations-member02-820x1180.png"))
        # WCAG 2.2 AA with the annotations drawn, their list open and a note opened (axe-core).
        page2.locator(".annot-panel > summary").click()
        assert_accessible(page2, "reader with annotations, list open")
        marker.first.click()
        page2.locator("dialog.annot-dialog[open]").wait_for()
        assert_accessible(page2, "reader, another member's note opened")
        page2.keyboard.press("Escape")

        # 3. Offline: a note waits, is changed before it is sent, and arrives once with the new text.
        ctx1.set_offline(True)
        place_note(page1, "Bản nháp ngoại tuyến", "private", at=(0.3, 0.6))
        page1.wait_for_function("() => document.querySelector('.annot-waiting').textContent.trim() !== ''")
        assert waiting(page1) == 1
        pending = page1.locator("#reader .annot-marker.is-pending")
        pending.first.wait_for()
        pending.first.click()
        page1.locator("dialog.annot-dialog textarea").fill("Ghi chú viết khi mất mạng")
        page1.click("dialog.annot-dialog [data-action=annot-save]")
        assert waiting(page1) == 1, "an edit of a write not yet sent must amend it, not queue another"
        place_note(page1, "Viết nhầm, sẽ xoá", "private", at=(0.7, 0.8))
        assert waiting(page1) == 2
        page1.locator("#reader .annot-marker.is-pending[aria-label*='Viết nhầm']").click()
        page1.click("dialog.annot-dialog [data-action=annot-delete]")
        assert waiting(page1) == 1, "deleting a write not yet sent withdraws it"
        page1.screenshot(path=str(shots / "reader-annotations-offline-1024x768.png"))
        ctx1.set_offline(False)
        page1.evaluate("() => window.ecabinetAnnotations.outbox.flush()")
        wait_sent(page1)
        notes = [a for a in annotations(page1)["results"] if a["kind"] == "note" and a["visibility"] == "private"]
        assert [a["text"] for a in notes] == ["Ghi chú viết khi mất mạng"], notes

        # 4. member01 deletes the shared note: gone for member02 too.
        shared = next(a for a in annotations(page1)["results"] if a["visibility"] == "shared")
        page1.locator(f"#reader .annot-marker[data-annotation='{shared['id']}']").click()
        page1.click("dialog.annot-dialog [data-action=annot-delete]")
        wait_sent(page1)
        assert not [a for a in annotations(page2)["results"] if a["id"] == shared["id"]]
        page2.reload()
        page2.locator("#reader .reader-page canvas").first.wait_for(timeout=TIMEOUT_MS)
        page2.wait_for_timeout(500)
        assert page2.locator(f"#reader .annot-marker[data-annotation='{shared['id']}']").count() == 0
    finally:
        ctx1.close()
        ctx2.close()
