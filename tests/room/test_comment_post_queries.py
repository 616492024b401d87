"""The comment POST (``POST /api/v1/agenda-items/{id}/comments/``, the event of the fan-out
benchmark) runs a bounded number of SQL statements, the same for the first comment and the
hundredth, and for an item with many comments: the token, the item with the caller's access (one
query, ``meetings.permissions.item_access``), the comment, the audit entry (``ecabinet.audit``: its
savepoint, the head locked, the entry, the head moved on), the event (its ``seq`` taken with
``UPDATE … RETURNING``, the row) and the request's transaction (a savepoint under the test's); the
service makes no savepoint of its own (issue 19: 15 statements before, 3 reads before the write)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from ecabinet import devices
from meetings.models import Comment, Event, Meeting

# Statements of one comment POST, savepoints included (under the test's transaction the request's
# own transaction is a savepoint too).
POST_STATEMENTS = 12
# Of which reads before the comment is written: the device token; the item with the caller's row and the
# chair's and the grants (issue 19; the item, the grants and the participation were three reads before).
READS_BEFORE_WRITE = 2


def post(client, item_id: int, text: str):
    with CaptureQueriesContext(connection) as context:
        response = client.post(f"/api/v1/agenda-items/{item_id}/comments/", {"text": text, "visibility": "shared"},
                               format="json")
    assert response.status_code == 201, response.content
    return [q["sql"] for q in context.captured_queries]


@pytest.mark.django_db
def test_a_comment_post_runs_a_bounded_number_of_statements_whatever_the_item_holds(cast, settings):
    settings.RATE_COMMENTS_PER_MINUTE = settings.RATE_COMMENTS_PER_HOUR = 10_000
    cast.set_status(Meeting.Status.IN_PROGRESS)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {devices.issue_device(user=cast.secretary, name='tablet')[1]}")
    first = post(client, cast.item.pk, "đầu tiên")
    for n in range(30):
        post(client, cast.item.pk, f"bình luận {n}")
    later = post(client, cast.item.pk, "sau cùng")
    assert len(first) == len(later), "\n".join(later)
    assert len(later) <= POST_STATEMENTS, "\n".join(later)
    writes = [n for n, sql in enumerate(later) if sql.startswith(("INSERT", "UPDATE"))]
    reads = [sql for sql in later[:writes[0]] if sql.startswith("SELECT")]
    assert len(reads) <= READS_BEFORE_WRITE, "\n".join(reads)
    # One comment, one event for everyone, in the one transaction.
    assert Comment.objects.filter(agenda_item=cast.item).count() == 32
    assert Event.objects.filter(meeting=cast.meeting, kind="comment.posted").count() == 32
