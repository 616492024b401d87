"""Signing with a key on a PKCS#11 token: a real SoftHSM2 token in a temporary directory.

CI (env CI set) must run these: a missing SoftHSM2 fails there instead of skipping.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pkcs11
import pytest
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.timestamps import HTTPTimeStamper

from ecabinet import pkcs11_dev, pki
from records.signature_verify import verify_pdf
from records.signing import sign_pdf
from tests.pdfs import make_pdf

PIN = "4321-token"
BASE_DIR = Path(__file__).resolve().parents[2]
TOKENS = {"pm": ("ecabinet-pm", "ec"), "minister": ("ecabinet-minister", "rsa")}


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory):
    """A SoftHSM2 set-up of our own with one token per user in TOKENS, certified by a dev CA."""
    module = pkcs11_dev.find_softhsm_module()
    if module is None:
        message = f"SoftHSM2 is not installed; {pkcs11_dev.INSTALL_HINT}"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(message)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("softhsm")
    conf = pkcs11_dev.write_config(directory)
    ca_key, ca_cert = pki.create_ca()
    with pytest.MonkeyPatch.context() as patch:
        # SoftHSM2 reads its configuration when the library is initialised, hence the reload.
        patch.setenv("SOFTHSM2_CONF", str(conf))
        for label, _ in TOKENS.values():
            pkcs11_dev.init_token(conf, label=label, pin=PIN)
        pkcs11_dev.reload_module(module)
        certs = {
            username: pkcs11_dev.provision_key(
                module, token_label=label, pin=PIN, key_label="signing", ca_key=ca_key, ca_cert=ca_cert,
                common_name=f"Token of {username}", key_type=key_type,
            )
            for username, (label, key_type) in TOKENS.items()
        }
        yield {"module": module, "ca_key": ca_key, "ca_cert": ca_cert, "certs": certs}


@pytest.fixture
def token_settings(settings, softhsm, pki_dir):
    settings.SIGNING_PKCS11_MODULE = softhsm["module"]
    settings.SIGNING_PKCS11_TOKENS = {
        username: {"token": label, "key": "signing"} for username, (label, _) in TOKENS.items()
    }
    return settings


def _sign(username, pin=PIN, data=None, **kwargs):
    with pki.signing_session(username, pin) as signer:
        assert isinstance(signer, PKCS11Signer)
        return sign_pdf(
            data or make_pdf(), signer=signer, field_name=f"Sig_{username}", reason="Ký biên bản",
            location="Hà Nội", **kwargs,
        )


def test_it_signs_with_keys_on_tokens(token_settings, softhsm, tmp_path):
    data = _sign("pm")  # EC P-256: SoftHSM2 only signs digests (CKM_ECDSA)
    data = _sign("minister", data=data)  # RSA 2048
    report = verify_pdf(data, trust_roots=[softhsm["ca_cert"]])
    assert report.ok, report.as_dict()
    assert [s.signer for s in report.signatures] == ["Token of pm", "Token of minister"]
    if shutil.which("pdfsig"):
        (tmp_path / "signed.pdf").write_bytes(data)
        result = subprocess.run(["pdfsig", str(tmp_path / "signed.pdf")], capture_output=True, text=True, timeout=60)
        assert (result.stdout + result.stderr).count("Signature is Valid") == 2, result.stdout + result.stderr


def test_a_token_signature_can_be_b_lt(token_settings, softhsm, local_tsa):
    data = _sign(
        "pm", timestamper=HTTPTimeStamper(local_tsa.url), trust_roots=[softhsm["ca_cert"], local_tsa.ca_cert],
        crls=[local_tsa.crl, pki.issue_crl(softhsm["ca_key"], softhsm["ca_cert"])],
    )
    report = verify_pdf(data, trust_roots=[softhsm["ca_cert"]], tsa_roots=[local_tsa.ca_cert])
    assert report.ok, report.as_dict()
    assert report.signatures[0].timestamp_trusted and report.signatures[0].ltv


def test_the_token_session_is_closed_after_signing(token_settings):
    with pki.signing_session("pm", PIN) as signer:
        session = signer.pkcs11_session
        assert signer.signing_cert is not None
    with pytest.raises(pkcs11.exceptions.PKCS11Error):
        session.generate_random(64)


def test_wrong_pin(token_settings):
    with pytest.raises(pki.WrongPin, match="Wrong PIN"):
        _sign("pm", pin="0000-wrong")
    with pytest.raises(pki.WrongPin):
        _sign("pm", pin="")


def test_unknown_key_label(token_settings):
    token_settings.SIGNING_PKCS11_TOKENS = {"pm": {"token": "ecabinet-pm", "key": "nope"}}
    with pytest.raises(pki.NoKey, match="no key named “nope”"):
        _sign("pm")


def test_token_not_connected(token_settings):
    token_settings.SIGNING_PKCS11_TOKENS = {"pm": {"token": "not-plugged-in", "key": "signing"}}
    with pytest.raises(pki.TokenUnavailable, match="is not connected"):
        _sign("pm")


def test_module_not_installed(token_settings, tmp_path):
    token_settings.SIGNING_PKCS11_MODULE = str(tmp_path / "libmissing.so")
    with pytest.raises(pki.TokenUnavailable, match="not installed on the server"):
        _sign("pm")


SIGN_WITH_SETTINGS = """
import django
django.setup()
from ecabinet import pki
from records.signature_verify import verify_pdf
from records.signing import sign_pdf
from tests.pdfs import make_pdf
with pki.signing_session("pm", pki.DEMO_PIN) as signer:
    data = sign_pdf(make_pdf(), signer=signer, field_name="S", reason="r", location="l")
print("verified" if verify_pdf(data, trust_roots=pki.trust_roots_from_settings()).ok else "NOT verified")
"""


def test_init_dev_pkcs11_makes_tokens_the_server_signs_with(softhsm, tmp_path):
    """End to end, in fresh processes as on a demo machine: the command, then a server-like process."""
    pki_dir = tmp_path / "pki"
    pki.write_ca(pki_dir, *pki.create_ca())
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    env.update(PKI_DIR=str(pki_dir), VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="ecabinet.settings")

    def run(*args):
        result = subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    first = run("manage.py", "init_dev_pkcs11", "--users", "pm")
    assert "token ecabinet-pm" in first
    assert "token ecabinet-pm" not in run("manage.py", "init_dev_pkcs11", "--users", "pm")  # kept
    server_env = dict(line.split("=", 1) for line in first.splitlines() if line.startswith(("SOFTHSM2", "SIGNING_")))
    assert server_env["SIGNING_PKCS11_TOKENS"] == "pm=ecabinet-pm:signing"
    env.update(server_env)
    assert run("-c", SIGN_WITH_SETTINGS).strip() == "verified"
