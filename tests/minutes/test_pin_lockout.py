"""Wrong signing PINs are counted per signer: after LOCKOUT_PIN_FAILURES of them in the cool-off the
signer's signing is refused — the right PIN too — with 429 ``pin_locked`` and ``Retry-After``, before
the key is touched; each wrong PIN and the lock are audited (issue 15; ecabinet/lockout.py)."""

from __future__ import annotations

import time

import pytest

from ecabinet import pki
from ecabinet.models import AuditEntry
from meetings.models import SealedDocument, SignatureStep
from records.minutes import sealing

PIN = pki.DEMO_PIN


@pytest.fixture
def unlocks(monkeypatch):
    """How many times a signing key was asked to unlock."""
    calls = []
    real = pki.signing_session

    def counting(username, pin, **kwargs):
        calls.append(username)
        return real(username, pin, **kwargs)

    monkeypatch.setattr(pki, "signing_session", counting)
    return calls


def sign(finalized, who, pin):
    return finalized.client(who).post(f"/api/v1/meetings/{finalized.meeting.pk}/minutes/sign/", {"pin": pin},
                                      format="json")


def test_five_wrong_pins_lock_the_signer_even_with_the_right_pin(finalized, unlocks):
    codes = [sign(finalized, finalized.secretary, f"000{n}").json()["code"] for n in range(5)]
    assert codes == ["wrong_pin"] * 5
    assert len(unlocks) == 5
    for pin in ("0009", PIN):
        refused = sign(finalized, finalized.secretary, pin)
        assert refused.status_code == 429 and refused.json()["code"] == "pin_locked"
        assert refused.json()["detail"].startswith("Too many wrong PINs")
        assert 14 * 60 < int(refused["Retry-After"]) <= 15 * 60
    assert len(unlocks) == 5  # refused before the key was touched
    assert SignatureStep.objects.count() == 0
    actions = list(AuditEntry.objects.filter(action__startswith="signing.").values_list("action", "actor_id"))
    assert actions == [("signing.pin_failed", finalized.secretary.pk)] * 5 + [("signing.pin_locked",
                                                                                finalized.secretary.pk)]
    assert AuditEntry.objects.filter(action="signing.pin_failed").last().data == {"failures": 5, "surface": "pin"}


def test_the_lock_is_the_signer_s_own_and_ends_after_the_cool_off(finalized, monkeypatch, settings):
    settings.LOCKOUT_PIN_FAILURES = 2
    for _ in range(2):
        sign(finalized, finalized.secretary, "0000")
    assert sign(finalized, finalized.secretary, PIN).status_code == 429
    # The chair's PIN budget is not the secretary's (here the order refuses the chair, not a lock).
    assert sign(finalized, finalized.pm, PIN).json()["code"] == "secretary_signs_first"
    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert sign(finalized, finalized.secretary, PIN).status_code == 200


def test_a_right_pin_forgets_the_wrong_ones(finalized, settings):
    settings.LOCKOUT_PIN_FAILURES = 3
    for _ in range(2):
        sign(finalized, finalized.secretary, "0000")
    assert sign(finalized, finalized.secretary, PIN).status_code == 200
    for _ in range(2):
        assert sign(finalized, finalized.pm, "0000").json()["code"] == "wrong_pin"
    assert sign(finalized, finalized.pm, PIN).json()["status"] == "sealed"


def test_a_locked_chair_is_refused_before_the_resolution_is_rendered(session, dev_pki, settings, monkeypatch):
    settings.LOCKOUT_PIN_FAILURES = 1
    base = f"/api/v1/meetings/{session.meeting.pk}/resolution/sign/"
    assert session.client(session.pm).post(base, {"pin": "0000"}, format="json").json()["code"] == "wrong_pin"

    def no_render(record):
        raise AssertionError("rendered while locked")

    monkeypatch.setattr(sealing, "_render", no_render)
    refused = session.client(session.pm).post(base, {"pin": PIN}, format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "pin_locked"
    assert not SealedDocument.objects.filter(kind="resolution").exists()


def test_the_signing_screen_says_it(finalized, settings):
    from django.test import Client

    settings.LOCKOUT_PIN_FAILURES = 1
    client = Client()
    client.force_login(finalized.secretary)
    client.cookies["django_language"] = "vi"
    base = f"/meetings/{finalized.meeting.pk}/minutes"
    client.post(f"{base}/sign/", {"pin": "0000"})
    page = client.post(f"{base}/sign/", {"pin": PIN}, follow=True).content.decode()
    assert 'data-code="pin_locked"' in page and "Nhập sai mã PIN quá nhiều lần" in page
    assert SignatureStep.objects.count() == 0
