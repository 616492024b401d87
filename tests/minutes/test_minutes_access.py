"""Who may do what with the minutes, the resolution and corrections (DESIGN.md §2, §5.2), and that
every refusal leaves the stored data exactly as it was."""

from __future__ import annotations

import pytest

from ecabinet.models import AuditHead
from meetings.models import Minutes, MinutesComment, SealedDocument, SignatureStep

PIN = "ecabinet-demo"
PERSONAS = ("pm", "secretary", "member", "observer", "archivist", "outsider", "admin")


def state():
    return (list(Minutes.objects.values_list("status", "revision")), MinutesComment.objects.count(),
            list(SealedDocument.objects.values_list("status", "sha256")), SignatureStep.objects.count())


def user(cast, persona):
    return getattr(cast, persona)


def test_drafting_is_for_the_secretariat_and_comments_for_those_who_sit(session, dev_pki):
    base = f"/api/v1/meetings/{session.meeting.pk}/minutes/"
    expected = {"pm": 403, "member": 403, "observer": 403, "archivist": 404, "outsider": 404, "admin": 404}
    for persona, status in expected.items():
        before = state()
        response = session.client(user(session, persona)).post(base)
        assert response.status_code == status, (persona, response.content)
        assert state() == before
    assert session.client(session.secretary).post(base).status_code == 201
    draft = session.client(session.secretary).get(base).json()
    for persona, status in {"pm": 403, "member": 403, "observer": 403, "outsider": 404}.items():
        before = state()
        response = session.client(user(session, persona)).patch(
            base, {"revision": draft["revision"], "decisions": ["x"]}, format="json")
        assert response.status_code == status, persona
        assert state() == before
    for persona, status in {"pm": 201, "member": 201, "secretary": 201, "observer": 403, "outsider": 404}.items():
        response = session.client(user(session, persona)).post(f"{base}comments/", {"text": "Ý kiến"}, format="json")
        assert response.status_code == status, persona
    # Readers of the draft: every participant; the observer does not see the comments.
    assert session.client(session.observer).get(base).json()["comments"] == []
    assert len(session.client(session.member).get(base).json()["comments"]) == 3
    assert session.client(session.outsider).get(base).status_code == 404


def test_bad_edits_are_refused_with_a_code_and_change_nothing(drafted):
    client = drafted.client(drafted.secretary)
    base = f"/api/v1/meetings/{drafted.meeting.pk}/minutes/"
    revision = client.get(base).json()["revision"]
    cases = [
        ({"revision": revision - 1 if revision > 1 else 99, "decisions": ["a"]}, 409, "stale_revision"),
        ({"revision": revision, "narratives": {"999999": "x"}}, 400, "unknown_item"),
        ({"revision": revision, "recorded_comments": [999999]}, 400, "unknown_comment"),
        ({"revision": revision, "number": "   "}, 400, "invalid"),
        ({"revision": revision}, 400, "nothing_to_change"),
        ({"revision": revision, "opening": "x" * 100_001}, 400, "text_too_long"),
    ]
    for body, status, code in cases:
        before = state()
        response = client.patch(base, body, format="json")
        assert (response.status_code, response.json()["code"]) == (status, code), (body, response.content)
        assert state() == before


def test_signing_order_and_pins(finalized):
    base = f"/api/v1/meetings/{finalized.meeting.pk}/minutes/sign/"
    cases = [(finalized.member, {"pin": PIN}, 403, "forbidden"), (finalized.observer, {"pin": PIN}, 403, "forbidden"),
             (finalized.pm, {"pin": PIN}, 409, "secretary_signs_first"),
             (finalized.secretary, {"pin": "0000"}, 400, "wrong_pin"),
             (finalized.secretary, {}, 400, "invalid"), (finalized.outsider, {"pin": PIN}, 404, "not_found")]
    for who, body, status, code in cases:
        before, head = state(), AuditHead.objects.get().seq
        response = finalized.client(who).post(base, body, format="json")
        assert (response.status_code, response.json()["code"]) == (status, code), (who, response.content)
        # Nothing changes; a wrong PIN is audited (signing.pin_failed, issue 15: tests/minutes/test_pin_lockout.py).
        assert state() == before and AuditHead.objects.get().seq == head + (code == "wrong_pin")
    assert finalized.client(finalized.secretary).post(base, {"pin": PIN}, format="json").status_code == 200
    again = finalized.client(finalized.secretary).post(base, {"pin": PIN}, format="json")
    assert (again.status_code, again.json()["code"]) == (403, "forbidden")
    assert finalized.client(finalized.pm).post(base, {"pin": PIN}, format="json").json()["status"] == "sealed"
    sealed = finalized.client(finalized.pm).post(base, {"pin": PIN}, format="json")
    assert (sealed.status_code, sealed.json()["code"]) == (409, "already_sealed")


def test_a_repeated_sign_request_is_answered_once_and_the_pin_is_not_stored(finalized):
    from ecabinet.models import IdempotencyRecord

    client = finalized.client(finalized.secretary)
    base = f"/api/v1/meetings/{finalized.meeting.pk}/minutes/sign/"
    first = client.post(base, {"pin": PIN}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(base, {"pin": PIN}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 200 and second["Idempotent-Replayed"] == "true"
    assert SignatureStep.objects.count() == 1
    import hashlib

    record = IdempotencyRecord.objects.get(key="k-1")
    assert record.fingerprint == hashlib.sha256(f"POST {base}".encode()).hexdigest()
    assert PIN not in str(record.response)


def test_only_the_chair_signs_the_resolution_and_only_once(session, dev_pki):
    base = f"/api/v1/meetings/{session.meeting.pk}/resolution/sign/"
    for who, status in ((session.secretary, 403), (session.member, 403), (session.outsider, 404)):
        assert session.client(who).post(base, {"pin": PIN}, format="json").status_code == status
    assert SealedDocument.objects.count() == 0
    assert session.client(session.pm).post(base, {"pin": PIN}, format="json").status_code == 201
    again = session.client(session.pm).post(base, {"pin": PIN}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_sealed")
    assert session.client(session.observer).get(f"/api/v1/meetings/{session.meeting.pk}/resolution/pdf/").status_code \
        == 200


def test_nothing_before_adjournment(cast, dev_pki):
    from meetings.models import Meeting

    cast.set_status(Meeting.Status.IN_PROGRESS)
    base = f"/api/v1/meetings/{cast.meeting.pk}"
    response = cast.client(cast.secretary).post(f"{base}/minutes/")
    assert (response.status_code, response.json()["code"]) == (409, "session_not_adjourned")
    response = cast.client(cast.pm).post(f"{base}/resolution/sign/", {"pin": PIN}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "session_not_adjourned")
    assert cast.client(cast.member).get(f"{base}/minutes/pdf/").json()["code"] == "no_minutes"


@pytest.mark.parametrize("persona,status", [("archivist", 200), ("member", 200), ("observer", 200),
                                            ("outsider", 404), ("admin", 404)])
def test_sealed_minutes_are_read_by_participants_and_archivists(sealed, persona, status):
    from meetings.models import Meeting

    sealed.set_status(Meeting.Status.CLOSED)
    client = sealed.client(user(sealed, persona))
    base = f"/api/v1/meetings/{sealed.meeting.pk}/minutes/"
    assert client.get(f"{base}pdf/").status_code == status
    verify = client.get(f"{base}verify/")
    assert verify.status_code == status
    if status == 200:
        assert verify.json()["ok"] is True, verify.json()["problems"]


def test_corrections_reference_the_sealed_minutes_and_leave_them_untouched(sealed, trust_roots):
    from records.minutes import drafting
    from records.minutes.verify import embedded_files, verify_sealed_pdf

    original = SealedDocument.objects.get(kind="minutes")
    before = (original.sha256, drafting.read_bytes(original))
    base = f"/api/v1/meetings/{sealed.meeting.pk}/minutes/corrections/"
    assert sealed.client(sealed.member).post(base, {"text": "Sửa"}, format="json").status_code == 403
    created = sealed.client(sealed.secretary).post(base, {"text": "Sửa số liệu tại mục 1: 2/3 thay vì 3/3."},
                                                   format="json")
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    for who in (sealed.secretary, sealed.pm):
        assert sealed.client(who).post(f"{base}{cid}/sign/", {"pin": PIN}, format="json").status_code == 200
    correction = SealedDocument.objects.get(pk=cid)
    assert correction.status == "sealed" and correction.corrects_id == original.pk
    data = drafting.read_bytes(correction)
    assert verify_sealed_pdf(data, trust_roots=trust_roots).ok
    import json

    record = json.loads(embedded_files(data)["record.json"])
    assert record["corrects"]["sha256"] == original.sha256
    original.refresh_from_db()
    assert (original.sha256, drafting.read_bytes(original)) == before
    assert sealed.client(sealed.member).get(f"{base}{cid}/verify/").json()["ok"] is True


def test_two_signatures_racing_store_only_one(finalized):
    """Two copies of the secretary's signature prepared at the same time (two tablets): the first
    stored wins, the second is refused and stores nothing."""
    from ecabinet.errors import Conflict
    from records.minutes import sealing

    document = SealedDocument.objects.get(kind="minutes")
    first = sealing.plan_document_sign(actor=finalized.secretary, document=document, pin=PIN)
    second = sealing.plan_document_sign(actor=finalized.secretary, document=document, pin=PIN)
    first()
    before = state()
    with pytest.raises(Conflict) as refused:
        second()
    assert refused.value.code == "signed_meanwhile" and state() == before
    assert SignatureStep.objects.count() == 1


def test_a_finalisation_racing_an_edit_is_refused(drafted):
    from ecabinet.errors import Conflict
    from records.minutes import drafting, sealing

    revision = Minutes.objects.get().revision
    commit = sealing.plan_minutes_finalize(actor=drafted.secretary, meeting_id=drafted.meeting.pk, revision=revision)
    drafting.minutes_update(actor=drafted.secretary, meeting_id=drafted.meeting.pk, revision=revision,
                            changes={"decisions": ["Sửa vào phút chót"]})
    before = state()
    with pytest.raises(Conflict):
        commit()
    assert state() == before and SealedDocument.objects.count() == 0
