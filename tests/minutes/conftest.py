import pytest

from ecabinet import pki
from records.minutes import drafting, sealing

from ..record.test_session_record import session  # noqa: F401 — the adjourned session fixture
from ..signing.conftest import dev_pki, local_tsa, pki_dir, trust_roots  # noqa: F401

PIN = pki.DEMO_PIN


@pytest.fixture
def drafted(session, dev_pki):  # noqa: F811
    """The adjourned session with draft minutes."""
    session.minutes, _ = drafting.minutes_generate(actor=session.secretary, meeting_id=session.meeting.pk)
    return session


@pytest.fixture
def finalized(drafted):
    sealing.minutes_finalize(actor=drafted.secretary, meeting_id=drafted.meeting.pk,
                             revision=drafted.minutes.revision)
    return drafted


@pytest.fixture
def sealed(finalized):
    sealing.minutes_sign(actor=finalized.secretary, meeting_id=finalized.meeting.pk, pin=PIN)
    finalized.document = sealing.minutes_sign(actor=finalized.pm, meeting_id=finalized.meeting.pk, pin=PIN)
    return finalized
