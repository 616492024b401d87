"""The ballot answers limit (``RATE_BALLOT_ANSWERS_PER_MINUTE``, ``ecabinet.limits``) and the upload
limit on a ballot's PDF drafts."""

from __future__ import annotations

import pytest

from ecabinet import clock as server_clock

from .conftest import pdf_upload, snapshot

T0 = 1_800_000_000 + 10


@pytest.fixture(autouse=True)
def _window(monkeypatch):
    monkeypatch.setattr(server_clock, "now", lambda: T0)


def answer(bcast, user, choice: str):
    return bcast.api(user).post(f"/api/v1/ballots/{bcast.ballot.pk}/answers/",
                                {"question": bcast.questions[0].pk, "choice": choice}, format="json")


def test_the_answer_after_the_limit_is_refused_and_changes_nothing(bcast, settings):
    settings.RATE_BALLOT_ANSWERS_PER_MINUTE = 2
    bcast.issue()
    assert [answer(bcast, bcast.member, c).status_code for c in ("agree", "agree")] == [200, 200]
    before = snapshot(bcast.ballot)
    response = answer(bcast, bcast.member, "other")
    assert response.status_code == 429 and response["Retry-After"] == "50"
    assert response.json()["code"] == "rate_limited"
    assert snapshot(bcast.ballot) == before
    assert answer(bcast, bcast.member2, "agree").status_code == 200


def test_ballot_drafts_count_as_uploads(bcast, settings):
    settings.RATE_UPLOADS_PER_HOUR = 1
    path = f"/api/v1/ballots/{bcast.ballot.pk}/documents/"
    client = bcast.api(bcast.secretary)
    assert client.post(path, {"title": "Phụ lục", "file": pdf_upload()}, format="multipart").status_code == 201
    before = snapshot(bcast.ballot)
    response = client.post(path, {"title": "Phụ lục 2", "file": pdf_upload()}, format="multipart")
    assert response.status_code == 429 and response["Retry-After"] == "3590"
    assert snapshot(bcast.ballot) == before
