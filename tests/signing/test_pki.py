import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.management import call_command
from pyhanko.sign.signers import SimpleSigner

from ecabinet import pki
from ecabinet.settings.signing import _pkcs11_tokens
from tests.factories import UserFactory


def _ca_fingerprint(pki_dir):
    return pki.fingerprint(x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes()))


def test_creates_ca_and_default_keys(dev_pki):
    ca = x509.load_pem_x509_certificate((dev_pki / "ca.pem").read_bytes())
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == pki.DEV_CA_NAME
    assert (ca.not_valid_after_utc - ca.not_valid_before_utc).days >= 3650
    for username in ("secretary", "pm"):
        key, cert, _ = pkcs12.load_key_and_certificates((dev_pki / f"{username}.p12").read_bytes(), b"ecabinet-demo")
        assert key is not None
        assert cert.issuer == ca.subject
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == username
        assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == pki.DEFAULT_ORG


def test_idempotent_and_force(dev_pki):
    first = _ca_fingerprint(dev_pki)
    p12 = (dev_pki / "pm.p12").read_bytes()
    call_command("init_dev_pki", verbosity=0)
    assert _ca_fingerprint(dev_pki) == first
    assert (dev_pki / "pm.p12").read_bytes() == p12
    call_command("init_dev_pki", "--force", verbosity=0)
    assert _ca_fingerprint(dev_pki) != first
    assert (dev_pki / "pm.p12").read_bytes() != p12


def test_extra_users_take_full_name_from_db(dev_pki):
    UserFactory(username="member01", full_name="Nguyễn Văn Khoa")
    call_command("init_dev_pki", "--users", "member01", "ghost", verbosity=0)
    _, cert, _ = pkcs12.load_key_and_certificates((dev_pki / "member01.p12").read_bytes(), b"ecabinet-demo")
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Văn Khoa"
    assert (dev_pki / "ghost.p12").exists()


def test_load_signer(dev_pki):
    signer = pki.load_signer("secretary", "ecabinet-demo")
    assert signer.signing_cert.subject.native["common_name"] == "secretary"


def test_wrong_pin_is_a_clear_error(dev_pki):
    with pytest.raises(pki.WrongPin, match="Wrong PIN"):
        pki.load_signer("secretary", "1234")
    with pytest.raises(pki.WrongPin):
        pki.load_signer("secretary", "")


def test_missing_key_is_a_clear_error(dev_pki):
    with pytest.raises(pki.NoKey, match="nobody"):
        pki.load_signer("nobody", "ecabinet-demo")
    with pytest.raises(pki.NoKey):
        pki.load_signer("../secretary", "ecabinet-demo")


def test_it_writes_and_renews_the_ca_crl(dev_pki):
    ca = x509.load_pem_x509_certificate((dev_pki / "ca.pem").read_bytes())
    crl = pki.load_crl(dev_pki / "ca.crl")
    assert crl.is_signature_valid(ca.public_key()) and crl.issuer == ca.subject
    assert len(crl) == 0
    assert (crl.next_update_utc - crl.last_update_utc).days >= pki.CRL_DAYS
    data = (dev_pki / "ca.crl").read_bytes()
    call_command("init_dev_pki", verbosity=0)
    assert (dev_pki / "ca.crl").read_bytes() == data  # still fresh: kept
    ca_key, ca_cert = pki.load_ca(dev_pki)
    pki.write_crl(dev_pki, pki.issue_crl(ca_key, ca_cert, days=pki.CRL_RENEW_DAYS - 1))
    assert pki.crl_needs_renewal(dev_pki)
    call_command("init_dev_pki", verbosity=0)
    assert not pki.crl_needs_renewal(dev_pki)
    assert [c.issuer for c in pki.crls_from_settings()] == [ca.subject]


def test_signing_session_uses_the_key_file_of_users_without_a_token(dev_pki, settings):
    settings.SIGNING_PKCS11_TOKENS = {"minister": {"token": "t", "key": "k"}}
    with pki.signing_session("secretary", pki.DEMO_PIN) as signer:
        assert isinstance(signer, SimpleSigner)
    with pytest.raises(pki.WrongPin), pki.signing_session("secretary", "1234"):
        pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        ("pm=PM token:signing", {"pm": {"token": "PM token", "key": "signing"}}),
        (" pm = a:b:c , sec=t:k ,", {"pm": {"token": "a:b", "key": "c"}, "sec": {"token": "t", "key": "k"}}),
    ],
)
def test_pkcs11_tokens_setting(value, expected):
    assert _pkcs11_tokens(value) == expected


@pytest.mark.parametrize("value", ["pm", "pm=token", "=t:k", "pm=:k", "pm=t:"])
def test_pkcs11_tokens_setting_rejects_malformed_entries(value):
    with pytest.raises(ValueError, match="SIGNING_PKCS11_TOKENS"):
        _pkcs11_tokens(value)
