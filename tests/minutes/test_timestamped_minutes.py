"""With TSA_URL set, the minutes' signatures carry an RFC 3161 timestamp and the validation data for
long-term validation (PAdES B-LT), against a real local TSA (tests/signing/tsa.py)."""

from records.minutes import drafting, sealing
from records.minutes.verify import verify_sealed_pdf

from ..signing.test_timestamp import tsa_settings  # noqa: F401 — TSA_URL and roots for the local TSA


def test_sealed_minutes_are_b_lt_with_a_tsa(finalized, tsa_settings, trust_roots):  # noqa: F811
    from ecabinet import pki

    sealing.minutes_sign(actor=finalized.secretary, meeting_id=finalized.meeting.pk, pin=pki.DEMO_PIN)
    document = sealing.minutes_sign(actor=finalized.pm, meeting_id=finalized.meeting.pk, pin=pki.DEMO_PIN)
    report = verify_sealed_pdf(drafting.read_bytes(document), trust_roots=trust_roots,
                               tsa_roots=pki.tsa_roots_from_settings())
    assert report.ok, report.problems
    signatures = report.as_dict()["signatures"]
    assert [s["timestamped"] for s in signatures] == [True, True]
    assert all(s["timestamp_valid"] and s["ltv"] for s in signatures), signatures
