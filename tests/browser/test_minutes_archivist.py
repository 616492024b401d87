"""An archivist on a tablet opens the closed demo session's minutes, checks the signatures on screen
and gets the signed PDF — the minutes the demo sealed with the development PKI (``seed_demo``)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from demo.plan import build_plan

from .test_tablet_member import LANDSCAPE, PORTRAIT, log_in, session_link

pytestmark = pytest.mark.browser

CLOSED = {s.status: s for s in build_plan(timezone.localtime())}["closed"]


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_the_archivist_verifies_the_sealed_minutes(browser, server_url, viewport):
    context, page = log_in(browser, server_url, "archivist", viewport)
    try:
        link = session_link(page, CLOSED.title)
        assert link.count() == 1
        with page.expect_navigation():
            link.click()
        with page.expect_navigation():
            page.get_by_role("link", name="Biên bản").click()
        assert page.locator("[data-minutes-status]").get_attribute("data-minutes-status") == "sealed"
        assert page.locator(".signatures li").count() == 2
        with page.expect_navigation():
            page.locator("[data-action=verify]").click()
        report = page.locator(".verification").first
        assert report.get_attribute("data-ok") == "true", report.inner_text()
        assert "Hợp lệ" in report.inner_text()
        pdf = context.request.get(server_url + page.locator("[data-action=open-pdf]").get_attribute("href"))
        assert pdf.ok and pdf.body().startswith(b"%PDF-")
        assert page.locator("[data-action=archive]").count() == 1
        page.screenshot(path=f"/tmp/browser-shots/minutes-archivist-{viewport['width']}.png", full_page=True)
    finally:
        context.close()
