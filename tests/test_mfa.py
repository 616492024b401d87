"""Multi-factor sign-in (issue 15, point 1): services, the API contract, the two-step HTML login, the
admin login, enforcement by role, the security screens, the administrator's reset, the audit entries."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from ecabinet import clock as server_clock
from ecabinet import devices, idle, mfa
from ecabinet.errors import Forbidden
from ecabinet.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def code_for(device: TOTPDevice, *, reset: bool = True) -> str:
    """The device's current code, computed with django-otp's own TOTP. ``reset`` forgets the last code
    used and the failure throttle, so one test can sign in more than once in the same 30 s."""
    device.refresh_from_db()
    if reset:
        device.last_t = -1
        device.throttling_failure_count = 0
        device.throttling_failure_timestamp = None
        device.save()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def unthrottle_recovery(user) -> None:
    """django-otp throttles recovery codes too (a wrong one makes the next wait 1 s, 2 s, 4 s…)."""
    StaticDevice.objects.get(user=user).throttle_reset()


def signed_in_request(user):
    """A request of ``user`` just after a full sign-in (``ecabinet.reauth``: enrolment needs one)."""
    request = RequestFactory().post("/")
    request.user, request.session = user, SessionStore()
    request.session[idle.SIGNED_IN] = server_clock.now()
    return request


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = mfa.start_totp(actor=user, request=signed_in_request(user))
    codes = mfa.confirm_totp(actor=user, code=code_for(device))
    device.refresh_from_db()
    return device, codes


def actions(user) -> list[str]:
    return list(AuditEntry.objects.filter(actor=user, action__startswith="mfa.").values_list("action", flat=True))


def member_with_password(cast):
    """The cast's member, whose password is PASSWORD."""
    cast.member.set_password(PASSWORD)
    cast.member.save()
    return cast.member


@pytest.fixture
def member(cast):
    return member_with_password(cast)


def token_call(user, **extra):
    return APIClient().post("/api/v1/auth/token", {"username": user.username, "password": PASSWORD, **extra},
                            format="json")


# --- API contract -----------------------------------------------------------------------------------

def fresh_token_client(user) -> APIClient:
    """A client with a token just issued by a sign-in: recent enough to add a factor (``ecabinet.reauth``)."""
    _, token = devices.issue_device(user=user, name="tablet")
    return APIClient(HTTP_AUTHORIZATION=f"Token {token}")


def test_totp_enrolment_over_the_api_then_the_token_needs_the_code(member):
    client = fresh_token_client(member)
    first = client.post("/api/v1/auth/mfa/totp/").json()
    assert set(first) == {"secret", "otpauth_uri"} and first["otpauth_uri"].startswith("otpauth://totp/e-Cabinet")
    assert f"secret={first['secret']}" in first["otpauth_uri"]
    again = client.post("/api/v1/auth/mfa/totp/").json()
    assert again["secret"] != first["secret"]
    assert TOTPDevice.objects.filter(user=member).count() == 1  # the repeat replaced the unconfirmed one
    assert token_call(member).status_code == 200  # not on until confirmed

    device = TOTPDevice.objects.get(user=member)
    wrong = client.post("/api/v1/auth/mfa/totp/confirm/", {"code": "000000" if code_for(device) != "000000"
                                                           else "111111"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_code")
    assert not TOTPDevice.objects.get(user=member).confirmed
    confirmed = client.post("/api/v1/auth/mfa/totp/confirm/", {"code": code_for(device)}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 == len(set(codes)) and all(len(c) == 8 for c in codes)

    missing = token_call(member)
    assert (missing.status_code, missing.json()["code"]) == (401, "mfa_required")
    bad = token_call(member, otp="12345x")
    assert (bad.status_code, bad.json()["code"]) == (401, "mfa_required")
    assert bad.json()["detail"] != missing.json()["detail"]
    good = token_call(member, otp=code_for(device))
    assert good.status_code == 200 and good.json()["token"]
    # a recovery code is accepted as otp, once (after the throttle's wait that the wrong one above started)
    assert token_call(member, otp=codes[0]).status_code == 401
    unthrottle_recovery(member)
    assert token_call(member, otp=codes[0].upper()).status_code == 200
    reused = token_call(member, otp=codes[0])
    assert (reused.status_code, reused.json()["code"]) == (401, "mfa_required")
    assert "mfa.recovery_code_used" in actions(member) and "mfa.failed" in actions(member)
    assert actions(member)[:4] == ["mfa.totp_enrolment_started", "mfa.totp_enrolment_started", "mfa.failed",
                                   "mfa.totp_confirmed"]


def test_a_totp_code_is_accepted_once_and_failures_are_throttled(member):
    device, _codes = enrol(member)
    code = code_for(device)
    assert token_call(member, otp=code).status_code == 200
    assert token_call(member, otp=code).status_code == 401  # replay of the same code
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # while throttled (django-otp: 2^(n-1) s after n failures) even the right code is refused
    assert token_call(member, otp=code_for(device, reset=False)).status_code == 401


def test_totp_cannot_be_enrolled_twice_and_endpoints_need_a_signed_in_caller(member):
    enrol(member)
    client = fresh_token_client(member)
    again = client.post("/api/v1/auth/mfa/totp/")
    assert (again.status_code, again.json()["code"]) == (409, "totp_already_enrolled")
    assert APIClient().post("/api/v1/auth/mfa/totp/").status_code == 401
    assert APIClient().post("/api/v1/auth/mfa/totp/confirm/", {"code": "1"}, format="json").status_code == 401
    no_pending = client.post("/api/v1/auth/mfa/totp/confirm/", {"code": "123456"}, format="json")
    assert (no_pending.status_code, no_pending.json()["code"]) == (400, "no_pending_totp")
    too_long = client.post("/api/v1/auth/mfa/totp/confirm/", {"code": "1" * 40}, format="json")
    assert too_long.status_code == 400


def test_wrong_password_is_still_invalid_credentials_before_any_mfa(member):
    enrol(member)
    response = APIClient().post("/api/v1/auth/token", {"username": member.username, "password": "nope"},
                                format="json")
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")


def test_without_a_factor_the_password_alone_still_gives_a_token(member):
    assert token_call(member).status_code == 200
    assert not mfa.has_second_factor(member)


# --- enforcement by role --------------------------------------------------------------------------

def test_enforcement_by_role(cast, member, settings):
    settings.MFA_ENFORCE = True
    refused = token_call(member)
    assert (refused.status_code, refused.json()["code"]) == (401, "mfa_enrolment_required")
    assert "Security" in refused.json()["detail"]
    cast.outsider.set_password(PASSWORD)
    cast.outsider.save()
    assert token_call(cast.outsider).status_code == 200  # no role that must use MFA
    assert mfa.user_roles(cast.admin) >= {"staff"} and mfa.user_roles(cast.archivist) >= {"archivist"}
    assert mfa.user_roles(cast.observer) >= {"participant"} and mfa.user_roles(cast.secretary) >= {"secretariat"}
    settings.MFA_REQUIRED_ROLES = ["staff"]
    assert token_call(member).status_code == 200
    settings.MFA_ENFORCE = False
    settings.MFA_REQUIRED_ROLES = ["participant"]
    assert token_call(member).status_code == 200


def test_enforced_screens_send_the_user_to_enrol_first(cast, member, settings):
    settings.MFA_ENFORCE = True
    client = Client()
    response = client.post("/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/account/security/"
    assert client.get(f"/meetings/{cast.meeting.pk}/").status_code == 302
    api = client.get("/api/v1/meetings/")
    assert (api.status_code, api.json()["code"]) == (403, "mfa_enrolment_required")
    page = client.get("/account/security/")
    assert page.status_code == 200 and 'data-code="mfa_enrolment_required"' in page.content.decode()
    enrol(member)
    assert client.get("/").status_code == 200


# --- the two-step HTML login and the admin login ----------------------------------------------------

def test_html_login_is_two_steps_with_a_factor(cast, member):
    device, codes = enrol(member)
    client = Client()
    response = client.post("/login/", {"username": member.username, "password": PASSWORD,
                                       "next": f"/meetings/{cast.meeting.pk}/"})
    assert response.status_code == 302 and response["Location"] == "/login/verify/"
    assert "_auth_user_id" not in client.session  # not logged in before the second factor
    assert client.get("/").status_code == 302
    page = client.get("/login/verify/")
    assert page.status_code == 200 and 'name="otp"' in page.content.decode()
    wrong = client.post("/login/verify/", {"otp": "abcdefgh"})
    assert wrong.status_code == 400 and "_auth_user_id" not in client.session
    done = client.post("/login/verify/", {"otp": code_for(device)})
    assert done.status_code == 302 and done["Location"] == f"/meetings/{cast.meeting.pk}/"
    assert client.session["_auth_user_id"] == str(member.pk)
    assert client.get("/").status_code == 200
    assert "mfa.recovery_code_used" not in actions(member)
    # a recovery code works in place of the app
    unthrottle_recovery(member)
    other = Client()
    other.post("/login/", {"username": member.username, "password": PASSWORD})
    assert other.post("/login/verify/", {"otp": codes[3]}).status_code == 302
    assert other.session["_auth_user_id"] == str(member.pk)


def test_without_a_factor_the_login_is_one_step(member):
    client = Client()
    response = client.post("/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(member.pk)


def test_the_pending_login_is_bounded_in_attempts_and_time(member, settings):
    device, _codes = enrol(member)
    client = Client()
    client.post("/login/", {"username": member.username, "password": PASSWORD})
    for _ in range(settings.MFA_PENDING_MAX_ATTEMPTS - 1):
        assert client.post("/login/verify/", {"otp": "zzzzzzzz"}).status_code == 400
    last = client.post("/login/verify/", {"otp": "zzzzzzzz"})
    assert last.status_code == 302 and last["Location"] == "/login/"
    # the pending login is gone: even the right code no longer logs in
    assert client.post("/login/verify/", {"otp": code_for(device)})["Location"] == "/login/"
    assert "_auth_user_id" not in client.session

    settings.MFA_PENDING_SECONDS = 1
    client = Client()
    client.post("/login/", {"username": member.username, "password": PASSWORD})
    time.sleep(1.1)
    expired = client.post("/login/verify/", {"otp": code_for(device)})
    assert expired.status_code == 302 and expired["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_verify_without_a_password_step_goes_back_to_login(member):
    response = Client().get("/login/verify/")
    assert response.status_code == 302 and response["Location"] == "/login/"


def test_the_admin_login_goes_through_the_second_factor(cast):
    admin = cast.admin
    admin.set_password(PASSWORD)
    admin.save()
    device, _codes = enrol(admin)
    client = Client()
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/admin/"
    # posting the password to the admin's login page does not log in either
    client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    client.post("/login/", {"username": admin.username, "password": PASSWORD, "next": "/admin/"})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    done = client.post("/login/verify/", {"otp": code_for(device)})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- security screens ------------------------------------------------------------------------------

def test_enrolment_and_removal_through_the_screens(member):
    client = Client()
    client.force_login(member)
    page = client.get("/account/security/")
    assert page.status_code == 200 and 'data-action="enrol-totp"' in page.content.decode()
    start = client.post("/account/security/totp/")
    html = start.content.decode()
    assert start.status_code == 200 and "<svg" in html and "data-totp-secret" in html
    device = TOTPDevice.objects.get(user=member, confirmed=False)
    assert mfa.secret_b32(device) in html
    wrong = client.post("/account/security/totp/confirm/", {"code": "99999"})
    assert wrong.status_code == 400 and 'data-code="invalid_code"' in wrong.content.decode()
    confirmed = client.post("/account/security/totp/confirm/", {"code": code_for(device)})
    assert confirmed["Location"] == "/account/security/codes/"
    codes_page = client.get("/account/security/codes/")
    shown = codes_page.content.decode()
    tokens = list(StaticToken.objects.filter(device__user=member).values_list("token", flat=True))
    assert len(tokens) == 10 and all(t in shown for t in tokens)
    assert "no-store" in codes_page["Cache-Control"]
    assert client.get("/account/security/codes/")["Location"] == "/account/security/"  # shown once

    # new codes need the password or a code; the old ones stop working
    refused = client.post("/account/security/recovery/", {"password": "wrong"}, follow=True)
    assert 'data-code="reauthentication_required"' in refused.content.decode()
    assert client.post("/account/security/recovery/", {"password": PASSWORD})["Location"] == \
        "/account/security/codes/"
    new = list(StaticToken.objects.filter(device__user=member).values_list("token", flat=True))
    assert len(new) == 10 and not set(new) & set(tokens)

    # removal needs the password or a current code
    client.post("/account/security/remove/", {"factor": "totp", "password": "wrong"})
    assert mfa.has_second_factor(member)
    client.post("/account/security/remove/", {"factor": "totp", "otp": code_for(device)})
    assert not mfa.has_second_factor(member)
    assert not StaticDevice.objects.filter(user=member).exists()  # the last factor took the codes with it
    assert actions(member)[-1] == "mfa.factor_removed"
    assert "mfa.recovery_codes_generated" in actions(member)


def test_the_header_links_to_the_security_page(member):
    client = Client()
    client.force_login(member)
    assert 'href="/account/security/"' in client.get("/").content.decode()


def test_security_page_in_vietnamese(member):
    client = Client()
    client.force_login(member)
    client.cookies["django_language"] = "vi"
    html = client.get("/account/security/").content.decode()
    assert "Bảo mật" in html and "Ứng dụng xác thực" in html


# --- reset by the administrator or the secretariat -------------------------------------------------

def test_reset_mfa_is_audited_and_not_on_oneself(cast, member):
    enrol(member)
    with pytest.raises(Forbidden):
        mfa.reset_mfa(actor=cast.member2, user=member)
    enrol(cast.admin)
    with pytest.raises(Forbidden):
        mfa.reset_mfa(actor=cast.admin, user=cast.admin)
    mfa.reset_mfa(actor=cast.admin, user=member)
    assert not mfa.has_second_factor(member) and not StaticDevice.objects.filter(user=member).exists()
    entry = AuditEntry.objects.filter(action="mfa.reset").get()
    assert entry.actor_id == cast.admin.pk and entry.object_id == str(member.pk)
    assert mfa.has_second_factor(cast.admin)


def test_reset_from_the_admin_action(cast, member):
    enrol(member)
    client = Client()
    client.force_login(cast.admin)
    response = client.post("/admin/ecabinet/user/", {"action": "reset_second_factor",
                                                     "_selected_action": [member.pk]})
    assert response.status_code == 302
    assert not mfa.has_second_factor(member)
    assert AuditEntry.objects.filter(action="mfa.reset", actor=cast.admin).exists()


def test_enforced_api_tokens_from_before_reach_nothing_until_enrolment(cast, member, settings):
    _, token = devices.issue_device(user=member, name="tablet")  # issued while MFA was not enforced
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/meetings/").status_code == 200
    settings.MFA_ENFORCE = True
    refused = client.get(f"/api/v1/meetings/{cast.meeting.pk}/")
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_enrolment_required")
    started = client.post("/api/v1/auth/mfa/totp/")  # the enrolment endpoints stay open
    assert started.status_code == 200
    device = TOTPDevice.objects.get(user=member)
    assert client.post("/api/v1/auth/mfa/totp/confirm/", {"code": code_for(device)}, format="json").status_code == 200
    assert client.get("/api/v1/meetings/").status_code == 200


def test_a_recovery_code_of_digits_only_is_still_a_recovery_code(member):
    enrol(member)
    StaticToken.objects.create(device=StaticDevice.objects.get(user=member), token="23456723")
    assert mfa.verify_second_factor(member, "2345-6723")
    assert not StaticToken.objects.filter(token="23456723").exists()
