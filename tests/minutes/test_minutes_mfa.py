"""Signing asks for a fresh second factor where one is enrolled (issue 15): minutes, resolution,
corrections, over the API and on the screen; 401 mfa_required without a valid code, nothing signed."""

import pytest

from ecabinet.models import AuditEntry
from meetings.models import SealedDocument, SignatureStep

from ..test_mfa import code_for, enrol
from .conftest import PIN

pytestmark = pytest.mark.django_db


def test_minutes_signing_needs_the_code_of_an_enrolled_signer(finalized):
    device, _codes = enrol(finalized.secretary)
    client = finalized.client(finalized.secretary)
    base = f"/api/v1/meetings/{finalized.meeting.pk}/minutes/sign/"
    missing = client.post(base, {"pin": PIN}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (401, "mfa_required")
    wrong = client.post(base, {"pin": PIN, "otp": "00000a"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "mfa_required")
    assert SignatureStep.objects.count() == 0
    assert AuditEntry.objects.filter(action="mfa.failed", actor=finalized.secretary).exists()
    assert client.post(base, {"pin": PIN, "otp": code_for(device)}, format="json").status_code == 200
    assert SignatureStep.objects.count() == 1
    # the chair has no second factor: the PIN alone, as before
    sealed = finalized.client(finalized.pm).post(base, {"pin": PIN}, format="json")
    assert sealed.status_code == 200 and sealed.json()["status"] == "sealed"


def test_the_resolution_needs_the_chairs_code(session, dev_pki):
    _device, codes = enrol(session.pm)
    client = session.client(session.pm)
    base = f"/api/v1/meetings/{session.meeting.pk}/resolution/sign/"
    refused = client.post(base, {"pin": PIN}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (401, "mfa_required")
    assert not SealedDocument.objects.filter(kind="resolution").exists()
    # a recovery code is a fresh factor too
    assert client.post(base, {"pin": PIN, "otp": codes[0]}, format="json").status_code == 201


def test_the_signing_screen_asks_for_the_code(finalized):
    from django.test import Client

    device, _codes = enrol(finalized.secretary)
    client = Client()
    client.force_login(finalized.secretary)
    page = client.get(f"/meetings/{finalized.meeting.pk}/minutes/").content.decode()
    assert 'name="otp"' in page
    base = f"/meetings/{finalized.meeting.pk}/minutes/sign/"
    refused = client.post(base, {"pin": PIN}, follow=True)
    assert 'data-code="mfa_required"' in refused.content.decode()
    assert SignatureStep.objects.count() == 0
    client.post(base, {"pin": PIN, "otp": code_for(device)})
    assert SignatureStep.objects.count() == 1
    client.force_login(finalized.pm)
    assert 'name="otp"' not in client.get(f"/meetings/{finalized.meeting.pk}/minutes/").content.decode()


def test_the_signing_screen_accepts_a_passkey(finalized):
    import json

    from django.test import Client

    from ..webauthn_soft import SoftAuthenticator

    authenticator = SoftAuthenticator()
    client = Client()
    client.force_login(finalized.secretary)

    def post_json(url, body=None):
        return client.post(url, json.dumps(body or {}), content_type="application/json").json()

    options = post_json("/account/security/passkey/options/")
    post_json("/account/security/passkey/", {"name": "Tablet", "credential": authenticator.create(options)})
    page = client.get(f"/meetings/{finalized.meeting.pk}/minutes/").content.decode()
    assert "data-passkey-sign" in page
    base = f"/meetings/{finalized.meeting.pk}/minutes/sign/"
    garbage = client.post(base, {"pin": PIN, "passkey": '{"rawId": "AAAA"}'}, follow=True)
    assert 'data-code="mfa_required"' in garbage.content.decode() and SignatureStep.objects.count() == 0
    answer = authenticator.get(post_json("/account/security/passkey/assert/options/"))
    client.post(base, {"pin": PIN, "passkey": json.dumps(answer)})
    assert SignatureStep.objects.count() == 1
