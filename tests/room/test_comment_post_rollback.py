"""A comment POST that fails after its writes leaves the stored data exactly as it was.

``meetings.services.comment_post`` makes no savepoint of its own inside the API's transaction
(issue 19): whatever fails after the comment, its audit entry or its event were written rolls the
whole request back — the comment, the audit entry and the head it moved, the event and the session's
``seq``, and the ``Idempotency-Key`` record — and the next comment chains onto the audit head as it
is. These tests run with real transactions (``transaction=True``), so the rollback is the database's,
not the test's."""

from __future__ import annotations

import pytest

from ecabinet import audit
from ecabinet.models import AuditEntry, AuditHead, IdempotencyRecord
from meetings import events
from meetings.models import Comment, Event, Meeting


def stored(cast) -> dict:
    head = AuditHead.objects.filter(id=1).values_list("seq", "hash").first()
    return {
        "comments": list(Comment.objects.order_by("pk").values_list("pk", "text")),
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash")),
        "head": head,
        "events": list(Event.objects.order_by("pk").values_list("pk", "seq", "kind")),
        "event_seq": Meeting.objects.get(pk=cast.meeting.pk).event_seq,
        "keys": list(IdempotencyRecord.objects.values_list("key", flat=True)),
    }


def comment(client, item_id: int, text: str, **headers):
    return client.post(f"/api/v1/agenda-items/{item_id}/comments/", {"text": text, "visibility": "shared"},
                       format="json", **headers)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("headers", [{}, {"HTTP_IDEMPOTENCY_KEY": "outbox-7"}], ids=["no key", "with a key"])
@pytest.mark.parametrize("failing", ["event", "audit"])
def test_a_failure_after_the_writes_stores_nothing(cast, monkeypatch, headers, failing):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    client = cast.client(cast.member)
    assert comment(client, cast.item.pk, "trước").status_code == 201  # the process knows the audit head
    before = stored(cast)

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    if failing == "event":  # after the comment and its audit entry were written
        monkeypatch.setattr(events, "emit", broken)
    else:  # after the comment was written; the append fails after moving the head
        real_insert = audit.bulk.insert_objects
        monkeypatch.setattr(audit.bulk, "insert_objects",
                            lambda rows, columns: (real_insert(rows, columns), broken())[1])
    with pytest.raises(RuntimeError):
        comment(client, cast.item.pk, "không được lưu", **headers)
    assert stored(cast) == before
    monkeypatch.undo()

    # The same key, retried: applied now, once; the audit chain is whole.
    assert comment(client, cast.item.pk, "sau", **headers).status_code == 201
    after = stored(cast)
    assert [text for _pk, text in after["comments"]][-2:] == ["trước", "sau"]
    assert after["event_seq"] == before["event_seq"] + 1
    assert after["head"][0] == before["head"][0] + 1
    problem, last_seq, _hash = audit.verify_chain()
    assert problem is None and last_seq == after["head"][0]
