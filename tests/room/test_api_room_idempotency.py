"""``Idempotency-Key`` on the writes of the room (issue #3 "Done means"): a tablet's outbox sends
a comment again after a lost answer, or twice at once after a reconnect; the comment is applied
once, with one event, and both copies get the same answer.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from ecabinet import realtime
from ecabinet.models import AuditEntry, IdempotencyRecord
from meetings import services
from meetings.models import Comment, Event, Meeting, Position, SpeakRequest


def post(client, path: str, payload: dict | None, key: str):
    return client.post(path, payload or {}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def comment_path(cast) -> str:
    return f"/api/v1/agenda-items/{cast.item.pk}/comments/"


def seqs(meeting) -> list[int]:
    return list(Event.objects.filter(meeting=meeting).order_by("seq").values_list("seq", flat=True))


def test_it_posts_a_comment_once_for_two_sends_with_one_key(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = cast.client(cast.member)
    payload = {"text": "Đề nghị bổ sung Điều 5", "visibility": "shared"}
    events_before = Event.objects.count()
    first = post(client, comment_path(cast), payload, "outbox-1")
    second = post(client, comment_path(cast), payload, "outbox-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert Comment.objects.filter(text=payload["text"]).count() == 1
    assert Event.objects.count() == events_before + 1
    assert AuditEntry.objects.filter(action="comment.posted").count() == 1
    # Another key is another comment: the key, not the text, says "the same write".
    third = post(client, comment_path(cast), payload, "outbox-2")
    assert third.status_code == 201 and third.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("write", ["speak", "position", "edit", "delete"])
def test_it_applies_every_other_room_write_once(cast, write):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = cast.client(cast.member)
    own = services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Bản đầu")
    path, payload = {
        "speak": (f"/api/v1/agenda-items/{cast.item.pk}/speakers/", None),
        "position": (f"/api/v1/agenda-items/{cast.item.pk}/position/", {"value": "object"}),
        "edit": (f"/api/v1/comments/{own.pk}/edit/", {"text": "Bản sửa"}),
        "delete": (f"/api/v1/comments/{own.pk}/delete/", None),
    }[write]
    events_before = Event.objects.count()
    first = post(client, path, payload, f"{write}-1")
    second = post(client, path, payload, f"{write}-1")
    assert first.status_code in (200, 201) and second.status_code == first.status_code
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert Event.objects.count() == events_before + 1
    assert SpeakRequest.objects.count() == (1 if write == "speak" else 0)
    assert Position.objects.count() == (1 if write == "position" else 0)


@pytest.mark.django_db(transaction=True)
def test_it_posts_once_when_two_copies_arrive_at_the_same_moment(cast, monkeypatch):
    cast.set_status(Meeting.Status.PUBLISHED)
    original = services.comment_post
    calls: list[int] = []

    def slow_comment_post(**kwargs):
        comment = original(**kwargs)
        calls.append(comment.pk)
        time.sleep(0.3)  # hold the transaction open so that the two copies overlap in the database
        return comment

    monkeypatch.setattr(services, "comment_post", slow_comment_post)
    rung: list[int] = []
    ring = realtime._send
    monkeypatch.setattr(realtime, "_send", lambda groups, message: (rung.append(message["seq"]),
                                                                   ring(groups, message)))
    payload = {"text": "Gửi hai lần khi có mạng lại", "visibility": "shared"}
    barrier = threading.Barrier(2)
    responses: list = [None, None]
    errors: list[Exception] = []

    def send(index: int) -> None:
        client = APIClient()
        client.force_authenticate(cast.member)
        try:
            barrier.wait()
            responses[index] = post(client, comment_path(cast), payload, "outbox-race")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    head = Meeting.objects.get(pk=cast.meeting.pk).event_seq
    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted("Idempotent-Replayed" in r for r in responses) == [False, True]
    # Both copies ran the service; the unique (user, key) record undid the second, event included.
    assert len(calls) == 2
    assert Comment.objects.filter(text=payload["text"]).count() == 1
    assert IdempotencyRecord.objects.filter(key="outbox-race").count() == 1
    assert [e.kind for e in Event.objects.filter(meeting=cast.meeting, seq__gt=head)] == ["comment.posted"]
    assert seqs(cast.meeting) == list(range(1, head + 2))  # the undone copy left no hole
    assert Meeting.objects.get(pk=cast.meeting.pk).event_seq == head + 1
    assert rung == [head + 1]  # one doorbell, for the one event
