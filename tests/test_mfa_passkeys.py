"""Passkeys without a browser (issue 15): registration, the second step of sign-in and signing, with
a software authenticator (tests/webauthn_soft.py) against the real py_webauthn verification."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from ecabinet import mfa
from ecabinet.models import AuditEntry, PasskeyCredential

from .test_mfa import PASSWORD
from .webauthn_soft import SoftAuthenticator

pytestmark = pytest.mark.django_db


def post_json(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def register(client, authenticator, name="Máy tính bảng"):
    options = post_json(client, "/account/security/passkey/options/").json()
    assert options["rp"]["id"] == "testserver" and options["authenticatorSelection"]["userVerification"] == "required"
    return post_json(client, "/account/security/passkey/", {"name": name, "credential": authenticator.create(options)})


@pytest.fixture
def member(cast):
    cast.member.set_password(PASSWORD)
    cast.member.save()
    return cast.member


def test_register_then_sign_in_with_the_passkey(member):
    authenticator = SoftAuthenticator()
    client = Client()
    client.force_login(member)
    response = register(client, authenticator)
    assert response.status_code == 200 and response.json()["redirect"] == "/account/security/codes/"
    passkey = PasskeyCredential.objects.get(user=member)
    assert passkey.name == "Máy tính bảng" and bytes(passkey.credential_id) == authenticator.credential_id
    assert mfa.has_second_factor(member) and mfa.factors(member).recovery_left == 10
    assert AuditEntry.objects.filter(actor=member, action="mfa.passkey_registered").exists()

    fresh = Client()
    fresh.post("/login/", {"username": member.username, "password": PASSWORD, "next": "/ballots/"})
    assert "_auth_user_id" not in fresh.session
    options = post_json(fresh, "/login/verify/passkey/options/").json()
    assert [c["id"] for c in options["allowCredentials"]] == [authenticator.get(options)["id"]]
    answer = authenticator.get(options)
    done = post_json(fresh, "/login/verify/passkey/", {"credential": answer})
    assert done.status_code == 200 and done.json()["redirect"] == "/ballots/"
    assert fresh.session["_auth_user_id"] == str(member.pk)
    passkey.refresh_from_db()
    assert passkey.sign_count == authenticator.count and passkey.last_used_at is not None

    # the same answer again (its challenge is spent) does not sign anyone in
    replay = Client()
    replay.post("/login/", {"username": member.username, "password": PASSWORD})
    post_json(replay, "/login/verify/passkey/options/")
    refused = post_json(replay, "/login/verify/passkey/", {"credential": answer})
    assert (refused.status_code, refused.json()["code"]) == (401, "mfa_failed")
    assert "_auth_user_id" not in replay.session
    assert AuditEntry.objects.filter(actor=member, action="mfa.failed", data__factor="passkey").exists()


def test_another_authenticator_or_a_wrong_origin_is_refused(member, cast):
    client = Client()
    client.force_login(member)
    assert register(client, SoftAuthenticator()).status_code == 200
    wrong_origin = register(client, SoftAuthenticator(origin="http://evil.example"))
    assert (wrong_origin.status_code, wrong_origin.json()["code"]) == (400, "invalid_passkey")
    assert PasskeyCredential.objects.filter(user=member).count() == 1
    too_long = post_json(client, "/account/security/passkey/", {"name": "x" * 61, "credential": {}})
    assert too_long.json()["code"] == "invalid_name"

    stranger = SoftAuthenticator()
    login = Client()
    login.post("/login/", {"username": member.username, "password": PASSWORD})
    options = post_json(login, "/login/verify/passkey/options/").json()
    refused = post_json(login, "/login/verify/passkey/", {"credential": stranger.get(options)})
    assert refused.status_code == 401 and "_auth_user_id" not in login.session


def test_passkey_login_needs_the_password_step_first(member):
    response = post_json(Client(), "/login/verify/passkey/options/")
    assert (response.status_code, response.json()["code"]) == (401, "mfa_expired")


def test_a_passkey_proof_is_only_good_for_its_own_user(cast):
    client = Client()
    client.force_login(cast.member)
    register(client, SoftAuthenticator())
    with pytest.raises(mfa.MFARequired):
        mfa.require_fresh_factor(user=cast.member, otp=mfa.PasskeyProof(cast.member2.pk))
    mfa.require_fresh_factor(user=cast.member, otp=mfa.PasskeyProof(cast.member.pk))
    with pytest.raises(mfa.MFARequired):
        mfa.require_fresh_factor(user=cast.member, otp=None)


def test_removing_a_passkey_needs_the_password(member):
    client = Client()
    client.force_login(member)
    register(client, SoftAuthenticator(), name="Cũ")
    passkey = PasskeyCredential.objects.get(user=member)
    page = client.get("/account/security/").content.decode()
    assert 'data-passkey="Cũ"' in page and f'value="passkey:{passkey.pk}"' in page
    client.post("/account/security/remove/", {"factor": f"passkey:{passkey.pk}", "password": "wrong"})
    assert PasskeyCredential.objects.filter(pk=passkey.pk).exists()
    client.post("/account/security/remove/", {"factor": f"passkey:{passkey.pk}", "password": PASSWORD})
    assert not PasskeyCredential.objects.filter(pk=passkey.pk).exists() and not mfa.has_second_factor(member)
    entry = AuditEntry.objects.filter(actor=member, action="mfa.factor_removed").get()
    assert entry.data == {"factor": "passkey", "name": "Cũ"}
    # someone else's passkey is not "a factor on your account"
    other = Client()
    other.force_login(member)
    register(other, SoftAuthenticator())
    theirs = PasskeyCredential.objects.get(user=member)
    intruder = Client()
    from ecabinet.models import User

    stranger = User.objects.exclude(pk=member.pk).first()
    intruder.force_login(stranger)
    response = intruder.post("/account/security/remove/", {"factor": f"passkey:{theirs.pk}", "password": PASSWORD},
                             follow=True)
    assert 'data-code="no_such_factor"' in response.content.decode()
    assert PasskeyCredential.objects.filter(pk=theirs.pk).exists()
