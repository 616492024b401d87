"""Verifying a sealed PDF (issue 5, item 5): its signatures and its embedded record.

``verify_sealed_pdf(data, trust_roots=…)`` needs nothing but the file and the trust roots, so an
archivist can run it decades later (``manage.py verify_minutes FILE.pdf``). It reports:

* every signature (``records.signature_verify.verify_pdf``): signer, time, intact, trusted, coverage; the
  last one must cover the whole file, so any changed byte or appended update fails;
* the embedded record: ``record.json`` and ``record.akn.xml`` are there as associated files; the
  sha256 of ``record.json`` equals the one written into the signed document's keywords; the XML is
  valid Akoma Ntoso 3.0 and is exactly what the JSON record gives; the signers' certificates
  name the people the record says must sign, in that order.

``check_against_database`` adds what only the live system can say: the file is one we issued (its
record hash is stored), and the audit chain still holds the printed checkpoint — so the log was not
rewritten since.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field

import pikepdf

from .. import signature_verify
from ..record_akn import akoma_ntoso, validate_akoma_ntoso
from .render import KEYWORD_PREFIX, RECORD_JSON, RECORD_XML

__all__ = ["Verification", "check_against_database", "embedded_files", "verify_sealed_pdf"]


@dataclass
class Verification:
    signatures: signature_verify.Report
    record: dict | None = None
    record_sha256: str | None = None
    record_problems: list[str] = field(default_factory=list)
    database: dict | None = None
    database_problems: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [*self.signatures.problems, *(p for s in self.signatures.signatures for p in s.problems),
                *self.record_problems, *self.database_problems]

    @property
    def ok(self) -> bool:
        return self.signatures.ok and not self.record_problems and not self.database_problems

    def as_dict(self) -> dict:
        document = (self.record or {}).get("document") or {}
        checkpoint = (self.record or {}).get("audit_checkpoint")
        return {
            "ok": self.ok,
            "document": {k: document.get(k) for k in ("kind", "number", "title", "issued_at")} if document else None,
            "signatures": self.signatures.as_dict()["signatures"],
            "record": {"present": self.record is not None, "sha256": self.record_sha256,
                       "matches": self.record is not None and not self.record_problems,
                       "audit_checkpoint": checkpoint},
            "database": self.database,
            "problems": self.problems,
        }


def embedded_files(data: bytes) -> dict[str, bytes]:
    """The embedded files of a PDF by name (empty when it has none or cannot be read)."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
    except Exception:  # any damage means "no readable attachments"
        return {}


def _keywords(data: bytes) -> str:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return str(pdf.docinfo.get("/Keywords", ""))
    except Exception:
        return ""


def _check_record(data: bytes, report: signature_verify.Report, result: Verification) -> None:
    files = embedded_files(data)
    raw_json, raw_xml = files.get(RECORD_JSON), files.get(RECORD_XML)
    problems = result.record_problems
    if raw_json is None:
        problems.append(f"the embedded record {RECORD_JSON} is missing")
        return
    result.record_sha256 = hashlib.sha256(raw_json).hexdigest()
    try:
        record = json.loads(raw_json)
        if not isinstance(record, dict) or "document" not in record or "session" not in record:
            raise ValueError("not a sealed document record")
        result.record = record
    except ValueError as exc:
        problems.append(f"the embedded record {RECORD_JSON} cannot be read: {exc}")
        return
    printed = _keywords(data)
    if printed != KEYWORD_PREFIX + result.record_sha256:
        problems.append(f"the embedded record {RECORD_JSON} is not the one the signed text refers to "
                        f"(its sha256 is {result.record_sha256}, the document says “{printed or 'nothing'}”)")
    if raw_xml is None:
        problems.append(f"the embedded record {RECORD_XML} is missing")
    else:
        errors = validate_akoma_ntoso(raw_xml)
        if errors:
            problems.append(f"the embedded {RECORD_XML} is not valid Akoma Ntoso 3.0: {errors[0]}")
        elif raw_xml != akoma_ntoso(record):
            problems.append(f"the embedded {RECORD_XML} does not match {RECORD_JSON}")
    expected = [s.get("full_name") for s in record.get("signers") or []]
    actual = [s.signer for s in report.signatures]
    if report.signatures and expected[: len(actual)] != actual:
        problems.append(f"the signatures are by {actual}, the record names {expected} as signers")


def _der_length(blob: bytes) -> int | None:
    """The length of the DER value at the start of ``blob`` (tag, length, content)."""
    if len(blob) < 2:
        return None
    first = blob[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(blob) < 2 + count:
        return None
    return 2 + count + int.from_bytes(blob[2:2 + count], "big")


def _unsigned_bytes_problems(data: bytes) -> list[str]:
    """The only bytes a signature does not cover are its own ``/Contents`` hex string. Check that it
    holds exactly the DER signature followed by zero padding, so no byte anywhere can change."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    problems = []
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        for emb in reader.embedded_signatures:
            start, first, second, _ = (int(x) for x in emb.sig_object["/ByteRange"])
            gap = data[start + first:second]
            contents = bytes(emb.sig_object.get_object()["/Contents"])
            length = _der_length(contents)
            if length is None or 2 + 2 * length > len(gap):
                problems.append(f"signature {emb.field_name}: the signature value cannot be read")
                continue
            padding = b"0" * (len(gap) - 2 - 2 * length)
            expected = b"<" + contents[:length].hex().encode() + padding + b">"
            if gap not in (expected, expected.upper()):
                problems.append(f"signature {emb.field_name}: bytes in the signature's own value were changed")
    except Exception as exc:  # a damaged file fails in many ways deep in the parser
        problems.append(f"The signatures cannot be read: {exc!r}")
    return problems


def verify_sealed_pdf(data: bytes, *, trust_roots: list, tsa_roots: list = (), complete: bool = True) -> Verification:
    """Check the signatures and the embedded record of ``data``. With ``complete``, every signer the
    record names must have signed (a sealed document); otherwise a partly signed one may pass."""
    try:
        report = signature_verify.verify_pdf(data, trust_roots=trust_roots, tsa_roots=tsa_roots)
    except Exception as exc:  # a damaged file fails in many ways deep in the parser
        report = signature_verify.Report(signatures=[], problems=[f"The file cannot be read as a signed PDF: {exc!r}"])
    result = Verification(signatures=report)
    if report.signatures:
        report.problems.extend(_unsigned_bytes_problems(data))
    _check_record(data, report, result)
    if complete and result.record is not None:
        expected = len(result.record.get("signers") or [])
        if len(report.signatures) < expected:
            result.record_problems.append(
                f"{len(report.signatures)} of the {expected} signatures the record requires are present")
    return result


def check_against_database(result: Verification) -> None:
    """Compare with what this system issued and with its audit chain (adds to ``result``)."""
    from ecabinet.models import AuditEntry
    from meetings.models import SealedDocument

    if result.record is None:
        return
    issued = SealedDocument.objects.filter(record_sha256=result.record_sha256).first()
    checkpoint = result.record.get("audit_checkpoint") or {}
    entry = AuditEntry.objects.filter(seq=checkpoint.get("seq")).only("hash").first()
    if checkpoint.get("seq") == 0:
        chain_holds = checkpoint.get("hash") == "0" * 64
    else:
        chain_holds = entry is not None and entry.hash == checkpoint.get("hash")
    result.database = {"issued_here": issued is not None, "document_id": issued.pk if issued else None,
                       "audit_checkpoint_in_chain": chain_holds}
    if issued is None:
        result.database_problems.append("this system has no record of issuing this document")
    if not chain_holds:
        result.database_problems.append(
            f"the audit log no longer holds entry {checkpoint.get('seq')} with the printed hash: "
            "the log was rewritten after the document was issued")
