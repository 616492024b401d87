"""``Idempotency-Key`` on the POSTs of API v1 (DESIGN.md §5.2): a repeat by the same caller returns
the first response and changes nothing, also when the two copies arrive at the same moment.

The concurrent tests need two real database connections that wait for each other's locks, hence
``transaction=True`` and a test database in a file (see ``django_db_modify_db_settings`` in
conftest.py). Run them on PostgreSQL with ``DATABASE_URL=postgres://…``.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from ecabinet.models import AuditEntry, IdempotencyRecord
from meetings import services
from meetings.models import Document, Meeting

from .factories import UserFactory
from .pdfs import make_pdf

PAYLOAD = {"title": "Phiên họp Chính phủ thường kỳ tháng 12", "kind": "regular",
           "starts_at": "2025-12-30T08:00:00+07:00", "location": "Nhà Quốc hội"}


def create(client, key: str, payload: dict | None = None):
    return client.post("/api/v1/meetings/", payload or PAYLOAD, format="json", HTTP_IDEMPOTENCY_KEY=key)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def secretary(db):
    return UserFactory(username="secretary", full_name="Trần Thị Thư", is_secretariat=True)


def test_it_creates_once_and_replays_the_first_response(secretary):
    client = client_for(secretary)
    first = create(client, "tao-phien-hop-1")
    audit_after_first = AuditEntry.objects.count()
    second = create(client, "tao-phien-hop-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert Meeting.objects.filter(title=PAYLOAD["title"]).count() == 1
    assert AuditEntry.objects.count() == audit_after_first


def test_it_refuses_the_same_key_for_a_different_request(secretary):
    client = client_for(secretary)
    create(client, "k-1")
    other = create(client, "k-1", {**PAYLOAD, "title": "Phiên họp khác"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert not Meeting.objects.filter(title="Phiên họp khác").exists()
    other_path = client.post(f"/api/v1/meetings/{Meeting.objects.get().pk}/agenda-items/", {"title": "Mục"},
                             format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other_path.json()["code"] == "idempotency_key_reused"


def test_it_keeps_the_keys_of_different_callers_apart(secretary):
    colleague = UserFactory(username="secretary2", is_secretariat=True)
    first = create(client_for(secretary), "shared-key")
    second = create(client_for(colleague), "shared-key")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second
    assert Meeting.objects.count() == 2


def test_it_does_not_store_a_refused_request_so_a_corrected_retry_succeeds(secretary):
    client = client_for(secretary)
    refused = create(client, "retry-me", {**PAYLOAD, "kind": "weekly"})
    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    corrected = create(client, "retry-me")
    assert corrected.status_code == 201
    assert "Idempotent-Replayed" not in corrected


def test_it_does_not_store_a_refused_transition(cast):
    client = cast.client(cast.secretary)
    meeting = services.meeting_create(actor=cast.secretary, title="Phiên họp bất thường", kind="extraordinary",
                                      starts_at=cast.meeting.starts_at)
    services.participant_add(actor=cast.secretary, meeting=meeting, username="pm", role="chair")
    refused = client.post(f"/api/v1/meetings/{meeting.pk}/publish/", HTTP_IDEMPOTENCY_KEY="publish-1")
    assert refused.json()["code"] == "agenda_empty"
    services.agenda_item_add(actor=cast.secretary, meeting=meeting, title="Một mục")
    published = client.post(f"/api/v1/meetings/{meeting.pk}/publish/", HTTP_IDEMPOTENCY_KEY="publish-1")
    assert published.status_code == 200
    # A repeat of the successful publish is its replay, not "invalid state".
    again = client.post(f"/api/v1/meetings/{meeting.pk}/publish/", HTTP_IDEMPOTENCY_KEY="publish-1")
    assert (again.status_code, again.json()) == (200, published.json())


def test_it_refuses_an_overlong_key(secretary):
    response = create(client_for(secretary), "k" * 201)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_idempotency_key")
    assert not Meeting.objects.exists()


def test_it_forgets_a_key_after_its_time_to_live(secretary, settings):
    client = client_for(secretary)
    create(client, "old-key")
    IdempotencyRecord.objects.update(
        created_at=IdempotencyRecord.objects.get().created_at - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1))
    again = create(client, "old-key")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Meeting.objects.count() == 2


def _upload(client, item, data: bytes, key: str):
    return client.post(f"/api/v1/agenda-items/{item.pk}/documents/",
                       {"file": SimpleUploadedFile("to-trinh.pdf", data, content_type="application/pdf"),
                        "title": "Tờ trình", "classification": "internal"},
                       format="multipart", HTTP_IDEMPOTENCY_KEY=key)


def test_it_replays_a_repeated_upload(cast):
    client = cast.client(cast.secretary)
    data = make_pdf(["Tờ trình số 1"])
    first = _upload(client, cast.item, data, "upload-1")
    second = _upload(client, cast.item, data, "upload-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert Document.objects.filter(title="Tờ trình").count() == 1


def test_it_refuses_the_key_of_an_upload_for_a_different_file(cast):
    # Multipart bodies differ on every send (random boundary), so the key is matched on the fields and
    # the file's bytes: another file under the same key is a different request, not a replay.
    client = cast.client(cast.secretary)
    assert _upload(client, cast.item, make_pdf(["Tờ trình số 1"]), "upload-2").status_code == 201
    other = _upload(client, cast.item, make_pdf(["Tờ trình số 2"]), "upload-2")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert Document.objects.filter(title="Tờ trình").count() == 1


# --- concurrency ----------------------------------------------------------------------------------

def _race(requests: list, monkeypatch, delay: float = 0.3) -> tuple[list, int]:
    """Run ``requests`` (callables returning a response) in threads released together. The service
    is slowed down after its write so that the two requests overlap inside the database."""
    original = services.meeting_create
    calls = []

    def slow_create(**kwargs):
        meeting = original(**kwargs)
        calls.append(meeting.pk)
        time.sleep(delay)
        return meeting

    monkeypatch.setattr(services, "meeting_create", slow_create)
    barrier = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)
    errors: list = []

    def run(index, request):
        try:
            barrier.wait()
            responses[index] = request()
        except Exception as exc:  # reported below, with the thread's traceback
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return responses, len(calls)


@pytest.mark.django_db(transaction=True)
def test_it_creates_one_session_when_two_copies_of_a_request_arrive_at_once(monkeypatch):
    secretary = UserFactory(username="secretary", is_secretariat=True)
    responses, calls = _race([lambda: create(client_for(secretary), "double-tap"),
                              lambda: create(client_for(secretary), "double-tap")], monkeypatch)
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted("Idempotent-Replayed" in r for r in responses) == [False, True]
    assert Meeting.objects.filter(title=PAYLOAD["title"]).count() == 1
    assert IdempotencyRecord.objects.count() == 1
    # Both copies ran the service (neither saw the other's record in advance); the database's unique
    # (user, key) constraint undid the second. With one call the test would not have raced at all.
    assert calls == 2
    assert AuditEntry.objects.filter(action="meeting.created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_creates_two_sessions_for_two_keys_sent_at_once(monkeypatch):
    secretary = UserFactory(username="secretary", is_secretariat=True)
    responses, calls = _race([lambda: create(client_for(secretary), "first"),
                              lambda: create(client_for(secretary), "second")], monkeypatch, delay=0.1)
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json()["id"] != responses[1].json()["id"]
    assert Meeting.objects.count() == 2 and calls == 2
    from ecabinet.audit import verify_chain

    assert verify_chain()[0] is None
