"""Sealed minutes can never change unnoticed (issue 5, items 4–5): flipping any byte of a sealed PDF,
or appending an incremental update after the last signature, makes ``verify_minutes`` fail; the
untouched file passes. Also: the embedded record must be the one the signed text names."""

from __future__ import annotations

import io
import random

import pikepdf
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pyhanko.pdf_utils.generic import NameObject, TextStringObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from records.minutes import drafting, sealing
from records.minutes.verify import verify_sealed_pdf


def run_verify(path, trust) -> int:
    try:
        call_command("verify_minutes", str(path), "--trust-root", str(trust), verbosity=0)
    except CommandError as exc:
        return exc.returncode
    return 0


@pytest.fixture
def sealed_file(sealed, tmp_path, dev_pki):
    data = drafting.read_bytes(sealed.document)
    path = tmp_path / "sealed.pdf"
    path.write_bytes(data)
    sealed.path, sealed.data, sealed.trust = path, data, dev_pki / "ca.pem"
    return sealed


def test_the_untouched_file_passes(sealed_file):
    assert run_verify(sealed_file.path, sealed_file.trust) == 0


def test_any_flipped_byte_fails(sealed_file, tmp_path, trust_roots):
    data = sealed_file.data
    rng = random.Random(5)
    # Bytes everywhere: the header, the signed content, inside each signature's /Contents, the trailer.
    positions = {0, 9, len(data) // 3, len(data) // 2, len(data) - 10, len(data) - 1}
    positions |= {rng.randrange(len(data)) for _ in range(40)}
    # The only bytes no signature digests: each signature's own /Contents (value and zero padding).
    from pyhanko.pdf_utils.reader import PdfFileReader

    for emb in PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures:
        start, first, second, _ = (int(x) for x in emb.sig_object["/ByteRange"])
        positions |= {start + first + 1, start + first + 40, second - 2, second - 100}
    for index, position in enumerate(sorted(positions)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        path = tmp_path / f"flip-{index}.pdf"
        path.write_bytes(bytes(tampered))
        assert not verify_sealed_pdf(bytes(tampered), trust_roots=trust_roots).ok, f"byte {position} flipped"
        if index % 8 == 0:  # the command too, on a sample (each run parses the PDF again)
            assert run_verify(path, sealed_file.trust) == 1


def test_a_damaged_copy_of_a_certificate_inside_a_signature_fails(sealed_file, trust_roots):
    """The certificate set of a CMS signature is not itself signed, and pyHanko builds the chain
    from the trust roots it is given: a damaged copy of the root inside the file must still fail."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = sealed_file.data
    emb = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[-1]  # covered by no later one
    _start, first, second, _ = (int(x) for x in emb.sig_object["/ByteRange"])
    contents = bytes.fromhex(data[first + 1:second - 1].decode())
    root = next(c.chosen for c in emb.signed_data["certificates"] if c.chosen.subject == c.chosen.issuer)
    inside_its_signature = contents.index(root.dump()) + len(root.dump()) - 5
    position = first + 1 + 2 * inside_its_signature
    tampered = bytearray(data)
    tampered[position] = ord("1") if tampered[position] == ord("0") else ord("0")  # still a hex digit
    report = verify_sealed_pdf(bytes(tampered), trust_roots=trust_roots)
    assert not report.ok
    assert any("a certificate it carries was altered" in p for p in report.problems), report.problems


def test_an_update_appended_after_the_last_signature_fails(sealed_file, tmp_path, trust_roots):
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed_file.data))
    writer.document_meta.title = "Biên bản đã bị sửa"
    info = writer.root
    info[NameObject("/ECabinetNote")] = TextStringObject("added later")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / "appended.pdf"
    path.write_bytes(out.getvalue())
    report = verify_sealed_pdf(out.getvalue(), trust_roots=trust_roots)
    assert not report.ok and any("does not cover the whole document" in p for p in report.problems)
    assert run_verify(path, sealed_file.trust) == 1
    # Plain bytes appended (no valid update) fail too.
    path.write_bytes(sealed_file.data + b"\n%tail\n")
    assert run_verify(path, sealed_file.trust) == 1


def test_a_replaced_embedded_record_fails_even_when_rebuilt(sealed_file, trust_roots):
    """Rewriting the file with another record.json (the attacker re-saves the PDF) breaks the
    signatures; and a record that differs from the signed keywords is named as such."""
    with pikepdf.open(io.BytesIO(sealed_file.data)) as pdf:
        spec = pdf.attachments["record.json"]
        forged = spec.get_file().read_bytes().replace(b'"yes": 2', b'"yes": 3')
        pdf.attachments["record.json"] = pikepdf.AttachedFileSpec(pdf, forged, filename="record.json")
        out = io.BytesIO()
        pdf.save(out)
    report = verify_sealed_pdf(out.getvalue(), trust_roots=trust_roots)
    assert not report.ok
    assert any("not the one the signed text refers to" in p for p in report.record_problems)


def test_an_untrusted_root_fails(sealed_file, tmp_path):
    from ecabinet import pki

    _key, other = pki.create_ca("Another CA")
    path = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.serialization import Encoding

    path.write_bytes(other.public_bytes(Encoding.PEM))
    assert run_verify(sealed_file.path, path) == 1


def test_a_partly_signed_document_is_not_valid_as_sealed(finalized, trust_roots):
    document = sealing.minutes_sign(actor=finalized.secretary, meeting_id=finalized.meeting.pk, pin="ecabinet-demo")
    report = verify_sealed_pdf(drafting.read_bytes(document), trust_roots=trust_roots)
    assert not report.ok and any("1 of the 2 signatures" in p for p in report.problems)
    assert verify_sealed_pdf(drafting.read_bytes(document), trust_roots=trust_roots, complete=False).ok


def test_a_rewritten_audit_log_is_caught(sealed_file, trust_roots):
    from ecabinet.models import AuditEntry
    from records.minutes.verify import check_against_database

    entry = AuditEntry.objects.get(seq=sealed_file.document.audit_seq)
    AuditEntry.objects.filter(pk=entry.pk).update(hash="f" * 64)
    report = verify_sealed_pdf(sealed_file.data, trust_roots=trust_roots)
    check_against_database(report)
    assert not report.ok and report.database["audit_checkpoint_in_chain"] is False
