"""PAdES signing and verification of PDFs with pyHanko (no ORM, no network).

Rules:
- Every signature is added as an incremental update: the bytes already signed are never rewritten.
  The signature is PAdES (``/SubFilter /ETSI.CAdES.detached``) over SHA-256. With a ``timestamper`` the
  signature also carries an RFC 3161 timestamp.
- A document verifies (``Report.ok``) only when it has at least one signature, every signature is intact
  (its digest matches the bytes it covers) and cryptographically valid, every signer's certificate chains
  to one of the given trust roots, no signature's later modifications are disallowed, and the LAST
  signature covers the entire file. So any byte changed in signed content, and any incremental update
  appended after the last signature, make it fail.
- Verification never fetches anything (``allow_fetching=False``): the trust roots are given by the caller.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext


class SigningFailed(Exception):
    """The document could not be signed; the message is meant for the user."""


def sign_pdf(
    data: bytes,
    *,
    signer: signers.Signer,
    field_name: str,
    reason: str,
    location: str,
    certify: bool = False,
    timestamper=None,
) -> bytes:
    """``data`` with one more PAdES signature by ``signer`` in the (new or empty) field ``field_name``."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        out = signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper)
    except (SigningError, ValueError) as exc:
        raise SigningFailed(f"The PDF could not be signed: {exc}") from exc
    return out.getvalue()


@dataclass
class SignatureReport:
    field_name: str
    signer: str
    signing_time: dt.datetime | None
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_document: bool
    coverage: str
    modification_level: str
    timestamped: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Report:
    signatures: list[SignatureReport]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and not self.problems and all(s.ok for s in self.signatures)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "signatures": [
                {
                    "field_name": s.field_name,
                    "signer": s.signer,
                    "signing_time": s.signing_time.isoformat() if s.signing_time else None,
                    "intact": s.intact,
                    "valid": s.valid,
                    "trusted": s.trusted,
                    "covers_whole_document": s.covers_whole_document,
                    "coverage": s.coverage,
                    "modification_level": s.modification_level,
                    "timestamped": s.timestamped,
                    "ok": s.ok,
                    "problems": s.problems,
                }
                for s in self.signatures
            ],
        }


def _as_asn1(cert) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, bytes):
        return asn1_x509.Certificate.load(cert)
    from cryptography.hazmat.primitives.serialization import Encoding

    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _signer_name(cert) -> str:
    if cert is None:
        return ""
    subject = cert.subject.native
    return subject.get("common_name") or cert.subject.human_friendly


def verify_pdf(data: bytes, *, trust_roots: list) -> Report:
    """Check every signature of ``data`` against ``trust_roots`` (cryptography or asn1crypto certificates)."""
    roots = [_as_asn1(c) for c in trust_roots]
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # any parse failure means "not a verifiable PDF"
        return Report(signatures=[], problems=[f"The file cannot be read as a PDF: {exc}"])
    if not embedded:
        return Report(signatures=[], problems=["The document has no signature."])
    reports = []
    for index, emb in enumerate(embedded):
        is_last = index == len(embedded) - 1
        vc = ValidationContext(trust_roots=roots, allow_fetching=False)
        reports.append(_check(emb, vc, is_last))
    return Report(signatures=reports)


def _check(emb, vc: ValidationContext, is_last: bool) -> SignatureReport:
    name = emb.field_name or "?"
    try:
        status = validate_pdf_signature(emb, signer_validation_context=vc)
    except (SignatureValidationError, ValueError, KeyError) as exc:
        return SignatureReport(
            field_name=name, signer=_signer_name(getattr(emb, "signer_cert", None)), signing_time=None,
            intact=False, valid=False, trusted=False, covers_whole_document=False, coverage="unknown",
            modification_level="unknown", problems=[f"signature {name} cannot be validated: {exc}"],
        )
    coverage = status.coverage.name if status.coverage is not None else "unknown"
    covers_all = coverage == "ENTIRE_FILE"
    level = status.modification_level.name if status.modification_level is not None else "unknown"
    problems = []
    if not status.intact:
        problems.append(f"signature {name}: the signed content was changed (digest mismatch)")
    elif not status.valid:
        problems.append(f"signature {name}: the cryptographic signature is invalid")
    if not status.trusted:
        problems.append(f"signature {name}: the signer's certificate does not chain to a trusted root")
    if status.docmdp_ok is False:
        problems.append(f"signature {name}: the document was modified in a way this signature forbids ({level})")
    if is_last and not covers_all:
        problems.append(
            f"signature {name} is the last one but does not cover the whole document (coverage {coverage}):"
            " data was appended after it"
        )
    ts = getattr(status, "timestamp_validity", None)
    return SignatureReport(
        field_name=name,
        signer=_signer_name(status.signing_cert),
        signing_time=status.signer_reported_dt,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_document=covers_all,
        coverage=coverage,
        modification_level=level,
        timestamped=ts is not None,
        problems=problems,
    )
