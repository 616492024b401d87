"""Proof of the owner before changing how the account signs in (issue 15, point 1; ecabinet.reauth): an
old token or browser session adds a factor or gets new recovery codes only with the password (or a current
code), and every wrong password counts toward the account's lock. The rest of MFA: tests/test_mfa.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from ecabinet import clock as server_clock
from ecabinet import devices, idle
from ecabinet.models import AuditEntry, Device

from .test_mfa import PASSWORD, enrol, member_with_password

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(cast):
    return member_with_password(cast)


def test_an_old_token_adds_a_factor_only_with_the_password_and_wrong_ones_count_toward_the_lock(member, settings):
    """A stolen tablet's token must not let its holder put their own authenticator app on the account."""
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    device, token = devices.issue_device(user=member, name="tablet")
    Device.objects.filter(pk=device.pk).update(created_at=timezone.now() - dt.timedelta(minutes=11))
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    bare = client.post("/api/v1/auth/mfa/totp/")
    assert (bare.status_code, bare.json()["code"]) == (403, "reauthentication_required")
    wrong = client.post("/api/v1/auth/mfa/totp/", {"password": "guess"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "reauthentication_required")
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert AuditEntry.objects.filter(action="mfa.proof_failed", actor=member).count() == 1
    right = client.post("/api/v1/auth/mfa/totp/", {"password": PASSWORD}, format="json")
    assert right.status_code == 200 and set(right.json()) == {"secret", "otpauth_uri"}
    client.post("/api/v1/auth/mfa/totp/", {"password": "guess"}, format="json")
    client.post("/api/v1/auth/mfa/totp/", {"password": "guess"}, format="json")
    locked = client.post("/api/v1/auth/mfa/totp/", {"password": PASSWORD}, format="json")
    assert (locked.status_code, locked.json()["code"]) == (429, "account_locked")


def test_an_old_browser_session_confirms_before_adding_a_factor_and_guesses_lock(member, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    client = Client()
    client.force_login(member)
    session = client.session
    session[idle.SIGNED_IN] = session[idle.LAST_SEEN] = server_clock.now() - 11 * 60
    session.save()
    page = client.get("/account/security/").content.decode()
    assert 'data-action="confirm-identity"' in page and 'data-action="enrol-totp"' not in page
    client.post("/account/security/totp/")
    assert not TOTPDevice.objects.filter(user=member).exists()
    client.post("/account/security/confirm/", {"password": "guess"})
    assert 'data-action="enrol-totp"' not in client.get("/account/security/").content.decode()
    assert client.post("/account/security/confirm/", {"password": PASSWORD}).status_code == 302
    assert 'data-action="enrol-totp"' in client.get("/account/security/").content.decode()
    assert client.post("/account/security/totp/").status_code == 200
    assert TOTPDevice.objects.filter(user=member, confirmed=False).exists()


def test_new_recovery_codes_cannot_be_had_by_guessing_the_password(member, settings):
    """Each wrong password on the security screen is a failed sign-in of the account: the lock stops
    the guessing, and refuses the right password while it lasts."""
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    enrol(member)
    client = Client()
    client.force_login(member)
    for _ in range(3):
        client.post("/account/security/recovery/", {"password": "guess"})
    client.post("/account/security/recovery/", {"password": PASSWORD})
    assert client.get("/account/security/codes/")["Location"] == "/account/security/"  # no new codes shown
    assert AuditEntry.objects.filter(action="auth.locked_out").count() == 1
    assert AuditEntry.objects.filter(action="mfa.recovery_codes_generated").count() == 1  # the enrolment's only
