"""Verifying the PAdES signatures of a PDF (``verify_pdf``): the rules are in ``records.signing``'s
docstring. Nothing is fetched: the trust roots are given by the caller."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko.sign.validation.ades import ades_with_time_validation
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from . import signature_certs, signing

__all__ = ["Report", "SignatureReport", "verify_pdf"]


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
    # None when the signature has no timestamp
    timestamp_time: dt.datetime | None = None
    timestamp_valid: bool | None = None
    timestamp_trusted: bool | None = None
    timestamp_authority: str = ""
    ltv: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Report:
    signatures: list[SignatureReport]
    problems: list[str] = field(default_factory=list)
    # the document has a Document Security Store (validation data for long-term validation)
    dss: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and not self.problems and all(s.ok for s in self.signatures)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "dss": self.dss,
            "signatures": [
                {
                    "field_name": s.field_name,
                    "signer": s.signer,
                    "signing_time": _iso(s.signing_time),
                    "intact": s.intact,
                    "valid": s.valid,
                    "trusted": s.trusted,
                    "covers_whole_document": s.covers_whole_document,
                    "coverage": s.coverage,
                    "modification_level": s.modification_level,
                    "timestamped": s.timestamped,
                    "timestamp_time": _iso(s.timestamp_time),
                    "timestamp_valid": s.timestamp_valid,
                    "timestamp_trusted": s.timestamp_trusted,
                    "timestamp_authority": s.timestamp_authority,
                    "ltv": s.ltv,
                    "ok": s.ok,
                    "problems": s.problems,
                }
                for s in self.signatures
            ],
        }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _signer_name(cert) -> str:
    if cert is None:
        return ""
    subject = cert.subject.native
    return subject.get("common_name") or cert.subject.human_friendly


def verify_pdf(data: bytes, *, trust_roots: Sequence, tsa_roots: Sequence = ()) -> Report:
    """Check every signature of ``data``: signers against ``trust_roots``, timestamps against ``trust_roots``
    and ``tsa_roots`` (cryptography or asn1crypto certificates)."""
    roots = [signing.as_asn1_certificate(c) for c in trust_roots]
    ts_roots = roots + [signing.as_asn1_certificate(c) for c in tsa_roots]
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # any parse failure means "not a verifiable PDF"
        return Report(signatures=[], problems=[f"The file cannot be read as a PDF: {exc}"])
    if not embedded:
        return Report(signatures=[], problems=["The document has no signature."])
    dss = _embedded_validation_data(reader)
    reports = []
    for index, emb in enumerate(embedded):
        is_last = index == len(embedded) - 1
        vc = ValidationContext(trust_roots=roots, allow_fetching=False)
        ts_vc = ValidationContext(trust_roots=ts_roots, allow_fetching=False)
        report = _check(emb, vc, ts_vc, is_last)
        if dss is not None and report.timestamp_valid and report.timestamp_trusted and report.trusted:
            report.ltv = _validates_from_embedded_data(emb, roots, ts_roots, dss, report.timestamp_time)
        reports.append(report)
    return Report(signatures=reports, dss=dss is not None)


def _check(emb, vc: ValidationContext, ts_vc: ValidationContext, is_last: bool) -> SignatureReport:
    name = emb.field_name or "?"
    try:
        status = validate_pdf_signature(emb, signer_validation_context=vc, ts_validation_context=ts_vc)
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
    ts = status.timestamp_validity
    damaged = signature_certs.damaged_certificates(emb.signed_data, status.validation_path)
    token = signature_certs.timestamp_token(emb.signer_info) if ts is not None else None
    if token is not None:
        damaged += signature_certs.damaged_certificates(token, ts.validation_path)
    if damaged:
        problems.append(f"signature {name}: a certificate it carries was altered ({', '.join(damaged)})")
    if ts is not None and not (ts.intact and ts.valid):
        problems.append(f"signature {name}: its timestamp is damaged or forged")
    elif ts is not None and not ts.trusted:
        problems.append(f"signature {name}: its timestamp comes from an authority that is not trusted")
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
        timestamp_time=ts.timestamp if ts is not None else None,
        timestamp_valid=bool(ts.intact and ts.valid) if ts is not None else None,
        timestamp_trusted=bool(ts.trusted) if ts is not None else None,
        timestamp_authority=_signer_name(ts.signing_cert) if ts is not None else "",
        problems=problems,
    )


def _embedded_validation_data(reader: PdfFileReader) -> LocalKnowledge | None:
    """The certificates, CRLs and OCSP responses of the document's DSS, or None when it has none."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return None
    return LocalKnowledge(
        known_certs=list(dss.load_certs()),
        known_crls=[CRLContainer(asn1_crl.CertificateList.load(ref.get_object().data)) for ref in dss.crls],
        known_ocsps=[
            container
            for ref in dss.ocsps
            for container in OCSPContainer.load_multi(asn1_ocsp.OCSPResponse.load(ref.get_object().data))
        ],
    )


def _validates_from_embedded_data(emb, roots, ts_roots, knowledge: LocalKnowledge, when: dt.datetime) -> bool:
    """Whether the signature and its timestamp validate at ``when`` (the timestamp's time) with revocation data
    required for every certificate and nothing but ``knowledge`` (the DSS) to find it in."""

    def policy(anchors) -> CertValidationPolicySpec:
        return CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=anchors),
            revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
        )

    spec = SignatureValidationSpec(
        cert_validation_policy=policy(roots),
        ts_cert_validation_policy=policy(ts_roots),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
        local_knowledge=knowledge,
    )
    timing = ValidationTimingInfo(validation_time=when, best_signature_time=when, point_in_time_validation=True)
    try:
        result = asyncio.run(
            ades_with_time_validation(emb.signed_data, spec, timing_info=timing, raw_digest=emb.compute_digest())
        )
    except (SignatureValidationError, ValueError):
        return False  # a signature pyHanko cannot evaluate this way is not LTV-enabled
    return result.ades_subindic == AdESPassed.OK
