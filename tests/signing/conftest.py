import pytest
from django.core.management import call_command

from ecabinet import pki


@pytest.fixture
def pki_dir(settings, tmp_path):
    settings.PKI_DIR = tmp_path / "pki"
    settings.SIGNING_TRUST_ROOTS = [settings.PKI_DIR / "ca.pem"]
    return settings.PKI_DIR


@pytest.fixture
def dev_pki(db, pki_dir):
    call_command("init_dev_pki", verbosity=0)
    return pki_dir


@pytest.fixture
def trust_roots(dev_pki):
    return pki.load_pem_certs([dev_pki / "ca.pem"])
