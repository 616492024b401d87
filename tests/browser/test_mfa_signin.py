"""Multi-factor sign-in in Chromium (issue 15): an authenticator app set up through the screens and
then asked at sign-in; a passkey registered and used through Chromium's virtual authenticator (CDP
``WebAuthn.*``: a platform authenticator with user verification, like a tablet's).

Each test uses a demo account no other browser test signs in with, since it leaves a factor behind.
"""

from __future__ import annotations

import base64
import time

import pytest
from django_otp.oath import TOTP

from demo.cast import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _context(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="vi-VN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # console errors too, except the wrong code's 400 that the TOTP test provokes on purpose
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "status of 400" not in msg.text else None)
    return context, page, errors


def _password_step(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) [type=submit]")


def _code(secret: str, *, after: int = -1) -> tuple[str, int]:
    """The current code for ``secret`` and its time step; waits for a new step if it is ``after``
    (django-otp accepts each code once)."""
    totp = TOTP(base64.b32decode(secret))
    while True:
        totp.time = time.time()
        if totp.t() > after:
            return f"{totp.token():06d}", totp.t()
        time.sleep(0.5)


def test_totp_enrolment_and_sign_in_through_the_screens(browser, server_url, shots):
    context, page, errors = _context(browser)
    _password_step(page, server_url, "member20")
    assert page.url.rstrip("/") == server_url  # no factor yet: one step, as for every demo account
    page.click("a[href='/account/security/']")
    assert page.locator("h1").inner_text() == "Bảo mật tài khoản"
    with page.expect_navigation():
        page.click("[data-action=enrol-totp]")
    assert page.locator("[data-totp-qr] svg").count() == 1  # the QR code, drawn on the server
    page.screenshot(path=str(shots / "mfa-totp-setup.png"), full_page=True)
    secret = page.locator("[data-totp-secret]").inner_text().strip()
    code, step = _code(secret)
    page.fill("input[name=code]", code)
    with page.expect_navigation():
        page.click("[data-action=confirm-totp]")
    assert page.url.endswith("/account/security/codes/")
    recovery = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(recovery) == 10
    context.close()

    context, page, errors = _context(browser)
    _password_step(page, server_url, "member20")
    assert page.url.endswith("/login/verify/")
    page.fill("input[name=otp]", "000000" if code != "000000" else "111111")
    with page.expect_navigation():
        page.click("form:has(input[name=otp]) [type=submit]")
    assert page.locator("[data-code=mfa_failed]").count() == 1
    time.sleep(1.1)  # django-otp throttles after a failure: 1 s
    page.fill("input[name=otp]", _code(secret, after=step)[0])
    with page.expect_navigation():
        page.click("form:has(input[name=otp]) [type=submit]")
    assert page.url.rstrip("/") == server_url and page.locator(".userbox__name").count() == 1
    assert not errors, errors
    context.close()


def test_passkey_registration_and_sign_in_with_the_virtual_authenticator(browser, server_url, shots):
    # WebAuthn needs a secure context and a domain as RP ID: http://localhost is both.
    base = server_url.replace("127.0.0.1", "localhost")
    context, page, errors = _context(browser)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]
    _password_step(page, base, "member21")
    page.goto(f"{base}/account/security/")
    page.fill("#passkey-name", "Máy tính bảng phòng họp")
    with page.expect_navigation(url="**/account/security/codes/"):
        page.click("[data-action=add-passkey]")
    assert len(page.locator("[data-recovery-codes] code").all_inner_texts()) == 10
    page.goto(f"{base}/account/security/")
    assert page.locator("[data-passkey='Máy tính bảng phòng họp']").count() == 1
    assert not page.locator("[data-passkey-error]").is_visible()
    page.screenshot(path=str(shots / "mfa-security.png"), full_page=True)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1

    # sign out, then in again: password, then the passkey (same browser, same virtual authenticator)
    with page.expect_navigation():
        page.click("form[action='/logout/'] button")
    _password_step(page, base, "member21")
    assert page.url.endswith("/login/verify/")
    page.screenshot(path=str(shots / "mfa-verify.png"), full_page=True)
    with page.expect_navigation(url=lambda url: "/login" not in url):
        page.click("[data-passkey-login]")
    assert page.locator(".userbox__name").count() == 1
    after = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert after[0]["signCount"] >= 1
    assert not errors, errors
    context.close()
