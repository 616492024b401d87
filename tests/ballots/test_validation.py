"""Every bad input gets a clear error with its own code and leaves the stored data as it was."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ecabinet.models import AuditEntry, Notification
from voting.models import Ballot

from ..pdfs import pdf_with_javascript, state_secret_pdf
from .conftest import snapshot


def assert_refused(bcast, response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert response.json()["detail"]


@pytest.fixture
def issued(bcast):
    bcast.issue()
    return bcast


def post_answers(bcast, user, payload):
    return bcast.api(user).post(f"/api/v1/ballots/{bcast.ballot.pk}/answers/", payload, format="json")


@pytest.mark.parametrize("payload, status, code", [
    ({"question": "Q1", "choice": "disagree"}, 400, "opinion_required"),
    ({"question": "Q1", "choice": "other", "opinion": "   \n "}, 400, "opinion_required"),
    ({"question": "Q1", "choice": "maybe", "opinion": "x"}, 400, "invalid_choice"),
    ({"question": "Q1", "choice": "AGREE"}, 400, "invalid_choice"),
    ({"question": 987654, "choice": "agree"}, 400, "unknown_question"),
    ({"question": "Q1", "choice": "other", "opinion": "x" * 10_001}, 400, "opinion_too_long"),
    ({"answers": []}, 400, "answers_required"),
    ({}, 400, "answers_required"),
    ({"answers": [{"question": "Q1", "choice": "agree"}, {"question": "Q1", "choice": "agree"}]}, 400,
     "duplicate_question"),
    # All or nothing: a valid first answer is not stored when the second one is refused.
    ({"answers": [{"question": "Q1", "choice": "agree"}, {"question": "Q2", "choice": "disagree"}]}, 400,
     "opinion_required"),
    ({"question": "Q1"}, 400, "answers_required"),
    ({"question": "one", "choice": "agree"}, 400, "invalid"),
])
def test_it_refuses_bad_answers_and_changes_nothing(issued, payload, status, code):
    bcast = issued
    bcast.answer(bcast.member, (0, "other", "Ý kiến ban đầu"))
    ids = {"Q1": bcast.questions[0].pk, "Q2": bcast.questions[1].pk}

    def resolve(value):
        if isinstance(value, dict):
            return {k: (ids.get(v, v) if k == "question" else resolve(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    before, audit_before = snapshot(bcast.ballot), AuditEntry.objects.count()
    assert_refused(bcast, post_answers(bcast, bcast.member, resolve(payload)), status, code)
    assert snapshot(bcast.ballot) == before
    assert AuditEntry.objects.count() == audit_before


def test_it_refuses_a_question_of_another_ballot(issued, clock):
    bcast = issued
    from voting.services import ballots as services

    other = services.ballot_create(actor=bcast.secretary, title="Phiếu khác", deadline=clock.now + dt.timedelta(days=1))
    foreign = services.ballot_question_add(actor=bcast.secretary, ballot=other, text="Câu hỏi khác?")
    before = snapshot(bcast.ballot)
    assert_refused(bcast, post_answers(bcast, bcast.member, {"question": foreign.pk, "choice": "agree"}), 400,
                   "unknown_question")
    assert snapshot(bcast.ballot) == before


def test_it_refuses_answers_from_the_deadline_on_even_before_the_scheduler_ran(issued, clock):
    bcast = issued
    q1 = bcast.questions[0].pk
    clock.to(bcast.ballot.deadline - dt.timedelta(seconds=1))
    assert post_answers(bcast, bcast.member, {"question": q1, "choice": "agree"}).status_code == 200
    clock.to(bcast.ballot.deadline)
    before = snapshot(bcast.ballot)
    assert_refused(bcast, post_answers(bcast, bcast.member,
                                       {"question": q1, "choice": "other", "opinion": "Muộn"}), 409, "ballot_closed")
    assert snapshot(bcast.ballot) == before
    assert Ballot.objects.get(pk=bcast.ballot.pk).status == "open"  # nobody recorded the close yet


@pytest.mark.parametrize("payload, code", [
    ({"title": "  ", "deadline": "+2d"}, "title_required"),
    ({"title": "Phiếu", "deadline": "-1h"}, "deadline_in_past"),
    ({"title": "Phiếu", "deadline": "not a date"}, "invalid"),
    ({"title": "Phiếu"}, "invalid"),
])
def test_it_refuses_a_bad_new_ballot(bcast, clock, payload, code):
    deltas = {"+2d": dt.timedelta(days=2), "-1h": dt.timedelta(hours=-1)}
    if payload.get("deadline") in deltas:
        payload = {**payload, "deadline": (clock.now + deltas[payload["deadline"]]).isoformat()}
    count = Ballot.objects.count()
    assert_refused(bcast, bcast.api(bcast.secretary).post("/api/v1/ballots/", payload, format="json"), 400, code)
    assert Ballot.objects.count() == count


def test_it_refuses_to_issue_an_incomplete_ballot_and_changes_nothing(bcast, clock):
    from voting.services import ballots as services

    url = f"/api/v1/ballots/{bcast.ballot.pk}/issue/"
    client = bcast.api(bcast.secretary)
    empty = services.ballot_create(actor=bcast.secretary, title="Phiếu trống",
                                   deadline=clock.now + dt.timedelta(days=1))
    assert_refused(bcast, client.post(f"/api/v1/ballots/{empty.pk}/issue/"), 409, "no_questions")
    services.ballot_question_add(actor=bcast.secretary, ballot=empty, text="Câu hỏi?")
    assert_refused(bcast, client.post(f"/api/v1/ballots/{empty.pk}/issue/"), 409, "no_documents")
    clock.to(bcast.ballot.deadline + dt.timedelta(minutes=1))
    before, notices = snapshot(bcast.ballot), Notification.objects.count()
    assert_refused(bcast, client.post(url), 409, "deadline_passed")
    assert snapshot(bcast.ballot) == before and Notification.objects.count() == notices


def test_it_refuses_recipients_who_are_not_active_members(bcast):
    url = f"/api/v1/ballots/{bcast.ballot.pk}/recipients/"
    client = bcast.api(bcast.secretary)
    before = snapshot(bcast.ballot)
    for recipients, code in ((["pm", "outsider"], "recipient_not_member"), (["nobody"], "recipient_not_member"),
                             ([], "recipients_required"), (["pm", "secretary"], "recipient_not_member")):
        assert_refused(bcast, client.post(url, {"recipients": recipients}, format="json"), 400, code)
    bcast.nonrecipient.is_active = False
    bcast.nonrecipient.save()
    assert_refused(bcast, client.post(url, {"recipients": ["member03"]}, format="json"), 400, "recipient_not_member")
    assert snapshot(bcast.ballot) == before


@pytest.mark.parametrize("data, status, code", [
    (b"not a pdf at all", 415, "not_pdf"),
    (pdf_with_javascript(), 422, "pdf_javascript"),
    (state_secret_pdf(), 422, "state_secret"),
])
def test_it_checks_uploaded_drafts_like_session_documents(bcast, data, status, code):
    before = snapshot(bcast.ballot)
    upload = SimpleUploadedFile("x.pdf", data, content_type="application/pdf")
    response = bcast.api(bcast.secretary).post(f"/api/v1/ballots/{bcast.ballot.pk}/documents/",
                                               {"title": "Phụ lục", "file": upload}, format="multipart")
    assert_refused(bcast, response, status, code)
    assert snapshot(bcast.ballot) == before


def test_it_refuses_the_same_file_twice(bcast):
    with bcast.document.file.open("rb") as handle:
        same = SimpleUploadedFile("copy.pdf", handle.read(), content_type="application/pdf")
    response = bcast.api(bcast.secretary).post(f"/api/v1/ballots/{bcast.ballot.pk}/documents/",
                                               {"title": "Bản sao", "file": same}, format="multipart")
    assert_refused(bcast, response, 409, "duplicate_document")


def test_it_limits_uploads_to_the_document_size_limit(bcast, settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    from .conftest import pdf_upload

    response = bcast.api(bcast.secretary).post(f"/api/v1/ballots/{bcast.ballot.pk}/documents/",
                                               {"title": "Lớn", "file": pdf_upload(lines=["Khác"])},
                                               format="multipart")
    assert_refused(bcast, response, 413, "file_too_large")


def test_it_replays_a_retried_answer_without_a_second_revision(issued):
    bcast = issued
    q1 = bcast.questions[0].pk
    client = bcast.api(bcast.member)
    url = f"/api/v1/ballots/{bcast.ballot.pk}/answers/"
    client.post(url, {"question": q1, "choice": "agree"}, format="json")
    payload = {"question": q1, "choice": "other", "opinion": "Đề nghị chỉnh sửa Điều 3."}
    first = client.post(url, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(url, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert snapshot(bcast.ballot)["revisions"] == 1
    other = client.post(url, {"question": q1, "choice": "agree"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_refused(bcast, other, 422, "idempotency_key_reused")
