"""The certificates a signature carries, checked byte for byte.

A CMS signature's certificate set is not covered by the signature itself: it only helps the
verifier build the signer's chain. pyHanko builds the chain from the trust roots it is given, so a
damaged copy of the root inside the file goes unnoticed by the signature check — one flipped bit in
a sealed PDF that ``verify_minutes`` would have passed (tests/minutes/test_verify_tamper.py). Here
every certificate a signature (or its timestamp token) carries must be, byte for byte, one of the
chain it was validated with, or be signed by one of the certificates at hand: a damaged one is
neither.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from pyhanko.sign.general import NonexistentAttributeError, find_unique_cms_attribute

__all__ = ["damaged_certificates", "timestamp_token"]


def damaged_certificates(signed_data, path) -> list[str]:
    """Descriptions of the certificates in ``signed_data`` (a CMS SignedData) that are neither in
    the validation ``path`` nor signed by a certificate of the path or of the set."""
    carried = [choice.chosen for choice in _choices(signed_data) if choice.name == "certificate"]
    chain = {cert.dump() for cert in path.iter_certs(include_root=True)} if path is not None else set()
    issuers = [*_loaded(chain), *_loaded(c.dump() for c in carried)]
    damaged = []
    for cert in carried:
        der = cert.dump()
        if der in chain:
            continue
        try:
            loaded = x509.load_der_x509_certificate(der)
            _issued_by_one_of(loaded, issuers)
        except (ValueError, InvalidSignature, TypeError):
            damaged.append(_describe(cert))
    return damaged


def timestamp_token(signer_info):
    """The SignedData of the signature's timestamp token, or None."""
    try:
        token = find_unique_cms_attribute(signer_info["unsigned_attrs"], "signature_time_stamp_token")
    except (NonexistentAttributeError, KeyError, ValueError):
        return None
    return token["content"]


def _choices(signed_data):
    certificates = signed_data["certificates"]
    return [] if certificates.native is None else list(certificates)


def _loaded(ders) -> list[x509.Certificate]:
    loaded = []
    for der in ders:
        try:
            loaded.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return loaded


def _issued_by_one_of(cert: x509.Certificate, issuers: list[x509.Certificate]) -> None:
    """Returns if one of ``issuers`` (``cert`` itself, if it is self-signed) signed ``cert``; raises
    InvalidSignature otherwise."""
    for issuer in issuers:
        if issuer.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(issuer)
            return
        except (ValueError, TypeError, InvalidSignature):
            continue
    raise InvalidSignature


def _describe(cert) -> str:
    try:
        return cert.subject.human_friendly
    except Exception:  # a damaged name: say so rather than fail
        return "unreadable certificate"
