"""The Content-Security-Policy in a real Chromium (issue 15 point 5): the main screens load with zero
violations — the sessions list, an agenda, document reading (PDF.js in the in-app reader), the
live room with its WebSocket (a comment goes out and comes back through the socket), the written
ballots and the minutes — and an inline script without the nonce is refused (so the listener works).

Violations are caught two ways: the ``securitypolicyviolation`` event in every frame (an init script),
and Chromium's console ("Refused to ...").
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.utils import timezone

from demo.cast import DEMO_PASSWORD
from demo.plan import build_plan

pytestmark = pytest.mark.browser

LISTEN = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspReport && window.__cspReport(`${e.violatedDirective} ${e.blockedURI} at ${e.documentURI}`);
}, true);
"""


class Watched:
    def __init__(self, browser, server_url: str, username: str):
        self.server_url = server_url
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.headers: dict[str, str] = {}
        self.context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="vi-VN")
        self.context.set_default_timeout(20_000)
        self.context.expose_binding("__cspReport", lambda _source, text: self.violations.append(text))
        self.context.add_init_script(LISTEN)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("response", self._response)
        self.page.goto(f"{server_url}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        with self.page.expect_navigation():
            self.page.click("form:has(input[name=password]) [type=submit]")
        assert "/login/" not in self.page.url

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.violations.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.request.resource_type in ("document", "iframe"):
            self.headers[response.url] = response.headers.get("content-security-policy", "")

    def visit(self, path: str) -> None:
        response = self.page.goto(f"{self.server_url}{path}")
        assert response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert "'nonce-" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, path
        self.page.wait_for_load_state("networkidle")

    def link(self, selector: str, text: str | None = None) -> str:
        locator = self.page.locator(selector)
        if text is not None:
            locator = locator.filter(has_text=text)
        href = locator.first.get_attribute("href")
        assert href, (selector, text)
        return href


def _titles() -> dict[str, str]:
    return {s.status: s.title for s in build_plan(timezone.localtime())}


@pytest.fixture(scope="module")
def member(browser, server_url):
    watched = Watched(browser, server_url, "member01")
    try:
        yield watched
    finally:
        watched.context.close()


def test_the_main_screens_load_without_a_violation(member):
    titles = _titles()
    member.visit("/")
    agenda = member.link("a[data-meeting-id]", titles["published"])
    member.visit(agenda)
    document = member.link("a.document-link")
    member.visit(document)
    # The in-app reader: PDF.js (module, module worker, fonts, canvas, text layer) under the policy.
    member.page.locator('#reader .reader-page[data-page="1"].reader-page--rendered canvas').wait_for()
    member.visit("/ballots/")
    ballot = member.link("a.ballot-row")
    member.visit(ballot)
    member.visit("/")
    closed = member.link("a[data-meeting-id]", titles["closed"])
    member.visit(closed)
    member.visit(f"{closed}minutes/")
    member.visit("/notifications/")
    assert not member.violations, "\n".join(member.violations)
    assert not member.errors, member.errors


def test_the_live_room_works_under_the_policy(member):
    titles = _titles()
    member.visit("/")
    agenda = member.link("a[data-meeting-id]", titles["published"])
    member.visit(f"{agenda}room/")
    page = member.page
    page.locator("#room-connection[data-state=online]").wait_for()
    page.locator("#room-comment-text").wait_for()
    text = f"Ý kiến kiểm tra chính sách bảo mật {uuid.uuid4().hex[:8]}"
    page.fill("#room-comment-text", text)
    page.click("#room-comment-send")
    # The comment comes back from the server (an event through the socket), with its id.
    page.locator("#room-comment-list li[data-comment-id]").filter(
        has=page.locator(".comment__text", has_text=text)).wait_for()
    assert not member.violations, "\n".join(member.violations)
    assert not member.errors, member.errors


def test_an_inline_script_without_the_nonce_is_refused_and_reported(member):
    member.visit("/")
    member.page.evaluate("""() => {
      const script = document.createElement("script");
      script.textContent = "window.__injected = true";
      document.body.appendChild(script);
    }""")
    member.page.wait_for_timeout(300)
    assert member.page.evaluate("() => window.__injected === undefined")
    assert any(re.search(r"script-src", v) for v in member.violations), member.violations
    member.violations.clear()
