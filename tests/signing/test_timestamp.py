"""Timestamped signatures (PAdES B-LT) against a real RFC 3161 server on 127.0.0.1."""

import io
import shutil
import subprocess

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko_certvalidator import ValidationContext

from ecabinet import pki
from records.signature_verify import verify_pdf
from records.signing import SigningFailed, sign_pdf, timestamper_from_settings
from tests.pdfs import make_pdf
from tests.signing.tsa import unused_url

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


@pytest.fixture
def tsa_settings(settings, dev_pki, local_tsa):
    """The settings a deployment with a TSA has: TSA_URL, the TSA's root, and its CA's CRL next to ours."""
    (dev_pki / "tsa-ca.pem").write_bytes(local_tsa.ca_cert.public_bytes(PEM))
    (dev_pki / "tsa-ca.crl").write_bytes(local_tsa.crl.public_bytes(PEM))
    settings.TSA_URL = local_tsa.url
    settings.SIGNING_TSA_ROOTS = [dev_pki / "tsa-ca.pem"]
    settings.SIGNING_CRLS = [dev_pki / "ca.crl", dev_pki / "tsa-ca.crl"]
    return settings


def sign_as(data, username, field_name, *, timestamper=None, crls=None):
    """Sign the way the minutes code does, everything from the settings."""
    with pki.signing_session(username, pki.DEMO_PIN) as signer:
        return sign_pdf(
            data, signer=signer, field_name=field_name, reason="Ký biên bản", location="Hà Nội",
            timestamper=timestamper or timestamper_from_settings(),
            trust_roots=pki.trust_roots_from_settings() + pki.tsa_roots_from_settings(),
            crls=pki.crls_from_settings() if crls is None else crls,
        )


def verify(data):
    return verify_pdf(data, trust_roots=pki.trust_roots_from_settings(), tsa_roots=pki.tsa_roots_from_settings())


@pytest.fixture
def signed_lt(tsa_settings):
    return sign_as(sign_as(make_pdf(), "secretary", "Sig_secretary"), "pm", "Sig_chair")


def test_it_makes_timestamped_signatures_with_validation_data(signed_lt, local_tsa):
    report = verify(signed_lt)
    assert report.ok, report.as_dict()
    assert report.dss
    for sig in report.signatures:
        assert sig.timestamped and sig.timestamp_valid and sig.timestamp_trusted
        assert sig.timestamp_authority == "e-Cabinet TEST TSA"
        assert sig.timestamp_time is not None
        assert sig.ltv, sig
    assert report.signatures[-1].covers_whole_document
    assert report.as_dict()["signatures"][1]["timestamp_trusted"] is True
    assert b"/DSS" in signed_lt and b"/CRLs" in signed_lt


def test_it_embeds_what_pyhanko_needs_to_validate_offline(signed_lt, local_tsa, trust_roots):
    """pyHanko's own validation, revocation data required, with no fetching and nothing but the DSS."""
    reader = PdfFileReader(io.BytesIO(signed_lt))
    dss = DocumentSecurityStore.read_dss(reader)
    dss_crls = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    issuers = {crl.issuer.native["common_name"] for crl in dss_crls}
    assert issuers == {pki.DEV_CA_NAME, "e-Cabinet TEST TSA CA"}
    roots = [*trust_roots, local_tsa.ca_cert]
    for emb in reader.embedded_regular_signatures:
        assert next(extract_tst_data_iter(emb.signer_info, signed=False), None) is not None
        for crls, expected in ((dss_crls, True), ([], False)):
            vc = ValidationContext(
                trust_roots=[asn1_x509.Certificate.load(c.public_bytes(DER)) for c in roots],
                crls=crls, other_certs=list(dss.load_certs()), allow_fetching=False, revocation_mode="require",
            )
            status = validate_pdf_signature(emb, signer_validation_context=vc)
            assert status.bottom_line is expected, status.pretty_print_details()
            if expected:
                assert status.timestamp_validity.trusted


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_pdfsig_reports_timestamped_signatures_valid(signed_lt, tmp_path):
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_lt)
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert output.count("Signature is Valid") == 2, output
    assert "Total document signed" in output.split("Signature #2")[1], output


def test_it_asks_the_configured_tsa(tsa_settings, local_tsa):
    before = local_tsa.requests
    sign_as(make_pdf(), "secretary", "Sig_secretary")
    assert local_tsa.requests > before


def test_a_tsa_that_is_down_fails_clearly(tsa_settings):
    with pytest.raises(SigningFailed, match="timestamp service did not answer"):
        sign_as(make_pdf(), "secretary", "Sig_secretary", timestamper=HTTPTimeStamper(unused_url(), timeout=2))


def test_without_revocation_data_it_refuses_to_sign(tsa_settings):
    with pytest.raises(SigningFailed, match="no current revocation list"):
        sign_as(make_pdf(), "secretary", "Sig_secretary", crls=[])


def test_a_revoked_signer_cannot_sign(tsa_settings, dev_pki):
    ca_key, ca_cert = pki.load_ca(dev_pki)
    with pki.signing_session("pm", pki.DEMO_PIN) as signer:
        pm_cert = x509.load_der_x509_certificate(signer.signing_cert.dump())
    pki.write_crl(dev_pki, pki.issue_crl(ca_key, ca_cert, revoked=[pm_cert]))
    sign_as(make_pdf(), "secretary", "Sig_secretary")  # the others still can
    with pytest.raises(SigningFailed, match="has been revoked"):
        sign_as(make_pdf(), "pm", "Sig_chair")


def test_a_timestamp_from_an_unknown_authority_fails(signed_lt, trust_roots):
    report = verify_pdf(signed_lt, trust_roots=trust_roots)  # no tsa_roots
    assert not report.ok
    assert all(s.timestamp_valid and s.timestamp_trusted is False for s in report.signatures)
    assert any("not trusted" in p for p in report.signatures[0].problems)


def test_a_forged_timestamp_fails_but_the_signature_stays_intact(signed_lt):
    # The timestamp token sits in the unsigned attributes, inside /Contents, which the byte range of the
    # signature excludes: changing it leaves the signature intact and must still be caught.
    emb = PdfFileReader(io.BytesIO(signed_lt)).embedded_regular_signatures[-1]
    tst = next(extract_tst_data_iter(emb.signer_info, signed=False))
    tsa_signature = tst["signer_infos"][0]["signature"].native.hex().encode()
    at = signed_lt.lower().index(tsa_signature) + 10
    forged = bytearray(signed_lt)
    forged[at : at + 1] = b"0" if forged[at : at + 1] != b"0" else b"1"
    report = verify(bytes(forged))
    assert not report.ok
    last = report.signatures[-1]
    assert last.intact and last.valid and last.trusted
    assert last.timestamp_valid is False and not last.ltv
    assert any("timestamp is damaged" in p for p in last.problems)


def test_without_a_timestamper_it_stays_b_b(tsa_settings):
    tsa_settings.TSA_URL = ""
    assert timestamper_from_settings() is None
    data = sign_as(make_pdf(), "secretary", "Sig_secretary")
    report = verify(data)
    assert report.ok and not report.dss
    assert not report.signatures[0].timestamped and report.signatures[0].timestamp_valid is None
    assert not report.signatures[0].ltv


def test_a_timestamp_without_validation_data_is_not_ltv(tsa_settings, local_tsa):
    """A PAdES B-T file (timestamp, no DSS) made by pyHanko directly: valid, but not LTV-enabled."""
    with pki.signing_session("secretary", pki.DEMO_PIN) as signer:
        meta = signers.PdfSignatureMetadata(field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES)
        writer = IncrementalPdfFileWriter(io.BytesIO(make_pdf()))
        data = signers.sign_pdf(writer, meta, signer=signer, timestamper=HTTPTimeStamper(local_tsa.url)).getvalue()
    report = verify(data)
    assert report.ok, report.as_dict()
    assert report.signatures[0].timestamp_trusted and not report.dss and not report.signatures[0].ltv


def test_timestamper_from_settings(settings):
    settings.TSA_URL = "http://tsa.example/"
    assert timestamper_from_settings().url == "http://tsa.example/"


def test_a_timestamp_needs_trust_roots(dev_pki, local_tsa):
    with pki.signing_session("pm", pki.DEMO_PIN) as signer, pytest.raises(ValueError, match="trust_roots"):
        sign_pdf(make_pdf(), signer=signer, field_name="S", reason="r", location="l",
                 timestamper=HTTPTimeStamper(local_tsa.url))


def test_a_signer_from_an_unknown_ca_cannot_make_a_b_lt_signature(tsa_settings):
    ca_key, ca_cert = pki.create_ca("Some Other CA")
    signer = pki.simple_signer(*pki.issue_signing_cert(ca_key, ca_cert, common_name="Mallory"), [ca_cert])
    with pytest.raises(SigningFailed, match="not issued by a trusted certification authority"):
        sign_pdf(make_pdf(), signer=signer, field_name="S", reason="r", location="l",
                 timestamper=timestamper_from_settings(),
                 trust_roots=pki.trust_roots_from_settings() + pki.tsa_roots_from_settings(),
                 crls=[*pki.crls_from_settings(), pki.issue_crl(ca_key, ca_cert)])
