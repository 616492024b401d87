import io
import re
import shutil
import subprocess

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from ecabinet import pki
from records.signature_verify import verify_pdf
from records.signing import sign_pdf
from tests.pdfs import make_pdf


def _sign(data, username, field_name):
    signer = pki.load_signer(username, pki.DEMO_PIN)
    return sign_pdf(data, signer=signer, field_name=field_name, reason="Ký biên bản", location="Hà Nội")


@pytest.fixture
def signed(dev_pki):
    data = _sign(make_pdf(), "secretary", "Sig_secretary")
    return _sign(data, "pm", "Sig_chair")


def test_two_signatures_verify(signed, trust_roots):
    report = verify_pdf(signed, trust_roots=trust_roots)
    assert report.ok, report.as_dict()
    assert [s.field_name for s in report.signatures] == ["Sig_secretary", "Sig_chair"]
    assert [s.signer for s in report.signatures] == ["secretary", "pm"]
    assert all(s.intact and s.valid and s.trusted for s in report.signatures)
    assert not report.signatures[0].covers_whole_document
    assert report.signatures[1].covers_whole_document
    assert all(s.signing_time is not None for s in report.signatures)
    assert b"/ETSI.CAdES.detached" in signed


def test_signing_is_incremental(dev_pki):
    original = make_pdf()
    data = _sign(original, "secretary", "Sig_secretary")
    assert data.startswith(original)


def test_flipped_byte_in_page_content_fails(signed, trust_roots):
    # the page's content stream (object 11 from reportlab), well outside any /Contents hex string
    obj = signed.index(b"\n11 0 obj")
    start = signed.index(b"stream\n", obj) + len(b"stream\n") + 20
    tampered = bytearray(signed)
    tampered[start] ^= 0x01
    report = verify_pdf(bytes(tampered), trust_roots=trust_roots)
    assert not report.ok
    assert not any(s.intact for s in report.signatures)


def test_flipped_byte_in_chair_revision_fails(signed, trust_roots):
    # a byte of the secretary-signed file that only the chair's signature covers: its /Reason string
    match = list(re.finditer(rb"/Reason \(", signed))[-1]
    tampered = bytearray(signed)
    tampered[match.end()] ^= 0x01
    report = verify_pdf(bytes(tampered), trust_roots=trust_roots)
    assert not report.ok
    assert report.signatures[0].intact and not report.signatures[1].intact


def test_incremental_update_after_last_signature_fails(signed, trust_roots):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    appended = out.getvalue()
    assert appended.startswith(signed)
    report = verify_pdf(appended, trust_roots=trust_roots)
    assert not report.ok
    assert not report.signatures[-1].covers_whole_document
    assert any("does not cover the whole document" in p for p in report.signatures[-1].problems)


def test_raw_bytes_appended_fail(signed, trust_roots):
    report = verify_pdf(signed + b"\n% appended\n", trust_roots=trust_roots)
    assert not report.ok


def test_other_ca_is_not_trusted(dev_pki, trust_roots):
    ca_key, ca_cert = pki.create_ca("Some Other CA")
    key, cert = pki.issue_signing_cert(ca_key, ca_cert, common_name="Mallory")
    signer = pki.simple_signer(key, cert, [ca_cert])
    data = sign_pdf(make_pdf(), signer=signer, field_name="Sig1", reason="r", location="l")
    report = verify_pdf(data, trust_roots=trust_roots)
    assert not report.ok
    assert report.signatures[0].intact and not report.signatures[0].trusted
    # and the same file is fine against its own CA
    assert verify_pdf(data, trust_roots=[ca_cert]).ok


def test_unsigned_pdf_is_not_ok(dev_pki, trust_roots):
    report = verify_pdf(make_pdf(), trust_roots=trust_roots)
    assert not report.ok and report.problems


def test_garbage_is_not_ok(trust_roots):
    assert not verify_pdf(b"not a pdf", trust_roots=trust_roots).ok


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_pdfsig_reports_both_signatures_valid(signed, tmp_path):
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert output.count("Signature is Valid") == 2, output
    assert "Total document signed" in output.split("Signature #2")[1], output
