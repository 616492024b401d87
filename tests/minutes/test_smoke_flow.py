from meetings.minutes import services as minutes
from meetings.minutes.verify import verify_sealed_pdf


def test_sealed_minutes_verify(sealed, trust_roots):
    data = minutes.read_bytes(sealed.document)
    result = verify_sealed_pdf(data, trust_roots=trust_roots)
    assert result.ok, result.as_dict()
    open("/tmp/minutes.pdf", "wb").write(data)
