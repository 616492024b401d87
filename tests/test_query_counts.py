"""``GET /api/v1/meetings/{id}/`` runs a bounded number of SQL queries, whatever the number of agenda
items and documents (issue #2, "Done means"): the same count for 2 items × 2 documents as for 15 items
× 5 documents, for a member (filtered documents, read marks) and for the secretary (everything)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from meetings import services
from meetings.models import Meeting

from .conftest import upload
from .factories import UserFactory, in_days
from .pdfs import make_pdf

CLASSES = ["public", "internal", "restricted", "internal", "public"]


def build_session(*, items: int, documents: int) -> tuple[Meeting, dict]:
    """A published session with ``items`` agenda items of ``documents`` documents each (every kind
    of classification, restricted ones for member01), a substitute, and member01 having read some."""
    secretary = UserFactory(username="secretary", is_secretariat=True)
    people = {"secretary": secretary}
    meeting = services.meeting_create(actor=secretary, title=f"Phiên họp {items}×{documents}", kind="regular",
                                      starts_at=in_days(2))
    for username, role in (("pm", "chair"), ("member01", "member"), ("member02", "member"), ("guest", "observer")):
        people[username] = UserFactory(username=username)
        services.participant_add(actor=secretary, meeting=meeting, username=username, role=role)
    UserFactory(username="deputy02")
    services.participant_add(actor=secretary, meeting=meeting, username="deputy02", role="substitute",
                             substitute_for="member02")
    pdf = make_pdf(["Dự thảo"])
    uploaded = []
    for i in range(items):
        item = services.agenda_item_add(actor=secretary, meeting=meeting, title=f"Mục {i + 1}",
                                        planned_minutes=15)
        for j in range(documents):
            classification = CLASSES[j % len(CLASSES)]
            uploaded.append(services.document_upload(
                actor=secretary, item=item, title=f"Tài liệu {i + 1}.{j + 1}", classification=classification,
                upload=upload(data=pdf), recipients=["member01"] if classification == "restricted" else ()))
    services.meeting_publish(actor=secretary, meeting=meeting)
    for document in uploaded[::3]:
        services.document_issue_copy(actor=people["member01"], document_id=document.pk)
    return meeting, people


def count_queries(user, meeting) -> tuple[int, int, list[str]]:
    client = APIClient()
    client.force_authenticate(user)
    with CaptureQueriesContext(connection) as context:
        response = client.get(f"/api/v1/meetings/{meeting.pk}/")
    assert response.status_code == 200
    documents = sum(len(item["documents"]) for item in response.json()["agenda"])
    return len(context.captured_queries), documents, [q["sql"] for q in context.captured_queries]


@pytest.mark.parametrize("username", ["member01", "secretary", "guest"])
def test_it_reads_a_session_in_the_same_number_of_queries_whatever_its_size(db, username):
    # Both sessions live in one database; the accounts are shared (the factory gets them by username).
    small_meeting, small_people = build_session(items=2, documents=2)
    small, small_docs, small_sql = count_queries(small_people[username], small_meeting)
    large_meeting, large_people = build_session(items=15, documents=5)
    large, large_docs, large_sql = count_queries(large_people[username], large_meeting)
    assert large_docs > small_docs  # the large session really shows more
    assert large == small, "\n".join(large_sql)
    assert small <= 20, "\n".join(small_sql)
