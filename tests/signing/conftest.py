import pytest
from django.core.management import call_command

from ecabinet import pki
from tests.signing.tsa import LocalTsa


@pytest.fixture
def pki_dir(settings, tmp_path):
    settings.PKI_DIR = tmp_path / "pki"
    settings.SIGNING_TRUST_ROOTS = [settings.PKI_DIR / "ca.pem"]
    settings.SIGNING_CRLS = [settings.PKI_DIR / "ca.crl"]
    settings.SIGNING_TSA_ROOTS = []
    settings.SIGNING_PKCS11_TOKENS = {}
    return settings.PKI_DIR


@pytest.fixture
def dev_pki(db, pki_dir):
    call_command("init_dev_pki", verbosity=0)
    return pki_dir


@pytest.fixture
def trust_roots(dev_pki):
    return pki.load_pem_certs([dev_pki / "ca.pem"])


@pytest.fixture(scope="session")
def local_tsa():
    """A real RFC 3161 server on 127.0.0.1, shared by the session (making its RSA key takes a moment)."""
    with LocalTsa() as tsa:
        yield tsa
