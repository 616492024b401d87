"""Development PKI: a local root CA and per-user signing keys in PKCS#12 files.

Pure helpers (no ORM): create a CA, issue a signing certificate, write and read PKCS#12, and load a
pyHanko signer for a username and PIN. The CA made here is for development and demos only; its name
says so. Production keys come from the officials' own tokens (PKCS#11), never from here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEV_CA_NAME = "e-Cabinet DEVELOPMENT CA — not for production use"
DEFAULT_ORG = "Chính phủ nước CHXHCN Việt Nam"
DEMO_PIN = "ecabinet-demo"
CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"


class PkiError(Exception):
    """A signing key could not be loaded; the message is meant for the user."""


class NoKey(PkiError):
    pass


class WrongPin(PkiError):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])


def create_ca(common_name: str = DEV_CA_NAME, years: int = 10) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed root CA (EC P-256) valid for ``years`` years."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name, "e-Cabinet")
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years + years // 4))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_signing_cert(
    ca_key, ca_cert: x509.Certificate, *, common_name: str, organization: str = DEFAULT_ORG, years: int = 3
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A document-signing certificate (digitalSignature + nonRepudiation) issued by ``ca_cert``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization or DEFAULT_ORG))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=365 * years), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def write_ca(pki_dir: Path, key, cert: x509.Certificate) -> None:
    pki_dir.mkdir(parents=True, exist_ok=True)
    (pki_dir / CA_CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = pki_dir / CA_KEY_FILE
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


def load_ca(pki_dir: Path):
    """The (key, cert) of the CA in ``pki_dir``, or None when it has not been created."""
    cert_path, key_path = pki_dir / CA_CERT_FILE, pki_dir / CA_KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        return None
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return key, cert


def load_pem_certs(paths) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in paths:
        certs.extend(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    return certs


def write_p12(path: Path, key, cert: x509.Certificate, ca_cert: x509.Certificate, pin: str = DEMO_PIN) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = pkcs12.serialize_key_and_certificates(
        name=path.stem.encode(), key=key, cert=cert, cas=[ca_cert],
        encryption_algorithm=serialization.BestAvailableEncryption(pin.encode()),
    )
    path.write_bytes(data)
    path.chmod(0o600)


def p12_path(pki_dir: Path, username: str) -> Path:
    if not username or "/" in username or username.startswith("."):
        raise NoKey(f"No signing key for “{username}”.")
    return Path(pki_dir) / f"{username}.p12"


def load_signer(username: str, pin: str, *, pki_dir: Path | None = None):
    """A pyHanko ``SimpleSigner`` from PKI_DIR/<username>.p12, or NoKey / WrongPin."""
    if pki_dir is None:
        from django.conf import settings

        pki_dir = Path(settings.PKI_DIR)
    path = p12_path(pki_dir, username)
    if not path.exists():
        raise NoKey(f"No signing key for “{username}”: {path.name} was not found. Run “manage.py init_dev_pki”.")
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(path.read_bytes(), (pin or "").encode())
    except ValueError as exc:
        raise WrongPin(f"Wrong PIN for the signing key of “{username}”.") from exc
    if key is None or cert is None:
        raise NoKey(f"The key file of “{username}” holds no private key and certificate.")
    return simple_signer(key, cert, extra)


def simple_signer(key, cert: x509.Certificate, chain=()):
    """Wrap ``cryptography`` objects as a pyHanko ``SimpleSigner``."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    der = serialization.Encoding.DER
    signing_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    signing_cert = asn1_x509.Certificate.load(cert.public_bytes(der))
    registry = SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(c.public_bytes(der)) for c in chain or ()])
    return signers.SimpleSigner(signing_cert=signing_cert, signing_key=signing_key, cert_registry=registry)
