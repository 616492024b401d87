"""A minister on a tablet: log in, find the session, open the agenda and a document.

Runs against the seeded demo (``seed_demo``) served by Daphne; see ``conftest.py``.
"""

from __future__ import annotations

import io
import unicodedata
from urllib.parse import urljoin

import pytest
from django.utils import timezone
from pypdf import PdfReader

from demo.cast import DEMO_PASSWORD, account
from demo.plan import RESTRICTED_RECIPIENTS, build_plan

pytestmark = pytest.mark.browser

LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 820, "height": 1180}


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _plan():
    """The demo as the server seeded it a moment ago (titles carry the month of the session; the
    server runs with the same TIME_ZONE as this process)."""
    sessions = {s.status: s for s in build_plan(timezone.localtime())}
    return sessions["published"], sessions["draft"]


PUBLISHED, DRAFT = _plan()
DOCUMENTS = [doc for item in PUBLISHED.items for doc in item.documents]
RESTRICTED = next(doc for doc in DOCUMENTS if doc.classification == "restricted")
REVISED = next(doc for doc in DOCUMENTS if doc.new_version is not None)


def log_in(browser, server_url: str, username: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="vi-VN", has_touch=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{server_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) [type=submit]")
    assert "/login/" not in page.url, f"{username} could not log in"
    return context, page


def session_link(page, title: str):
    return page.locator("a[data-meeting-id]").filter(has_text=title)


def document_titles(page) -> list[str]:
    return [_norm(text) for text in page.locator("a.document-link").all_text_contents()]


def open_published_session(page):
    link = session_link(page, PUBLISHED.title)
    assert link.count() == 1, f"the published session is not listed: {page.url}"
    with page.expect_navigation():
        link.click()
    page.locator("a.document-link").first.wait_for()


def test_it_lets_a_member_open_the_session_and_a_document_on_a_tablet(browser, server_url, shots):
    member = account("member01")
    assert member.username in RESTRICTED_RECIPIENTS
    context, page = log_in(browser, server_url, member.username, LANDSCAPE)
    try:
        assert session_link(page, PUBLISHED.title).count() == 1
        assert session_link(page, DRAFT.title).count() == 0, "members must not see a draft session"
        page.screenshot(path=str(shots / "member01-sessions-1024x768.png"), full_page=True)

        open_published_session(page)
        body = _norm(page.locator("body").text_content())
        for item in PUBLISHED.items:
            assert _norm(item.title) in body, f"agenda item missing: {item.title}"
        titles = document_titles(page)
        for doc in DOCUMENTS:  # member01 is also a recipient of the restricted report
            assert any(_norm(doc.title) in t for t in titles), f"document missing: {doc.title}"
        page.screenshot(path=str(shots / "member01-agenda-1024x768.png"), full_page=True)

        with page.expect_navigation():
            page.locator("a.document-link").filter(has_text=REVISED.title).first.click()
        # The in-app reader (issue 17) draws the reader's own copy into canvases.
        page.locator('#reader .reader-page[data-page="1"].reader-page--rendered canvas').wait_for()
        page.screenshot(path=str(shots / "member01-document-1024x768.png"))

        response = page.request.get(urljoin(page.url, page.locator("#reader").get_attribute("data-copy-url")))
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/pdf")
        assert "no-store" in response.headers.get("cache-control", "")
        assert response.headers.get("accept-ranges") == "bytes"
        reader = PdfReader(io.BytesIO(response.body()))
        assert len(reader.pages) >= 2
        for number, pdf_page in enumerate(reader.pages, start=1):
            assert _norm(member.full_name) in _norm(pdf_page.extract_text()), f"no watermark on page {number}"
    finally:
        context.close()


def test_it_hides_a_restricted_document_from_other_members(browser, server_url, shots):
    member = account("member12")
    assert member.username not in RESTRICTED_RECIPIENTS
    context, page = log_in(browser, server_url, member.username, PORTRAIT)
    try:
        open_published_session(page)
        titles = document_titles(page)
        assert not any(_norm(RESTRICTED.title) in t for t in titles)
        assert any(_norm(REVISED.title) in t for t in titles)
        page.screenshot(path=str(shots / "member12-agenda-820x1180.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture(scope="module")
def published_path(browser, server_url) -> str:
    context, page = log_in(browser, server_url, "member01", LANDSCAPE)
    try:
        return session_link(page, PUBLISHED.title).get_attribute("href")
    finally:
        context.close()


@pytest.mark.parametrize("username", ["outsider", "admin"])
def test_it_shows_nothing_to_someone_not_invited(browser, server_url, shots, published_path, username):
    context, page = log_in(browser, server_url, username, LANDSCAPE)
    try:
        assert page.locator("a[data-meeting-id]").count() == 0
        page.screenshot(path=str(shots / f"{username}-home-1024x768.png"), full_page=True)
        response = page.goto(urljoin(server_url, published_path))
        assert response.status == 404
    finally:
        context.close()
