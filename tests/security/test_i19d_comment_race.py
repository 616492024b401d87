"""Issue 19d attack on the comment POST without its own savepoint (``comment_post``: ``bulk.save_new``, then
``audit.record`` moving the head by a guessed ``UPDATE … WHERE seq AND hash``, then the event): two members
posting at the same moment, each held between its comment and its audit entry so that both guess the same
head, must both be stored with one audit entry and one event each, the chain whole and the session's event
numbers one after the other; a POST refused after the other's writes stores nothing of its own."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from ecabinet import audit
from ecabinet.models import AuditEntry
from meetings.models import Comment, Event, Meeting

pytestmark = pytest.mark.django_db(transaction=True)
PAUSE = 0.3


def _post(client, item_id: int, text: str, visibility: str = "shared"):
    return client.post(f"/api/v1/agenda-items/{item_id}/comments/", {"text": text, "visibility": visibility},
                       format="json", HTTP_IDEMPOTENCY_KEY=f"race-{text}")


def test_two_comments_at_once_keep_the_chain_and_the_event_numbers(cast, monkeypatch):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    clients = {user.pk: cast.client(user) for user in (cast.member, cast.member2, cast.observer)}
    assert _post(clients[cast.member.pk], cast.item.pk, "warm").status_code == 201  # the process knows the head
    seq_before = Meeting.objects.get(pk=cast.meeting.pk).event_seq
    entries_before = AuditEntry.objects.count()
    real_record = audit.record

    def held_record(actor, action, *args, **kwargs):
        if action == "comment.posted":
            time.sleep(PAUSE)  # both comments inserted, both appends about to guess the same head
        return real_record(actor, action, *args, **kwargs)

    monkeypatch.setattr(audit, "record", held_record)
    answers: dict[str, int] = {}

    def run(user, text: str, visibility: str = "shared") -> None:
        try:
            answers[text] = _post(clients[user.pk], cast.item.pk, text, visibility).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(cast.member, "một")),
               threading.Thread(target=run, args=(cast.member2, "hai")),
               # an observer may not comment for all: refused, nothing of it stored
               threading.Thread(target=run, args=(cast.observer, "ba"))]
    for thread in threads:
        thread.start()
        time.sleep(PAUSE / 4)
    for thread in threads:
        thread.join(timeout=30)
    monkeypatch.undo()
    assert answers == {"một": 201, "hai": 201, "ba": 403}
    assert sorted(Comment.objects.values_list("text", flat=True)) == sorted(["warm", "một", "hai"])
    assert AuditEntry.objects.count() == entries_before + 2
    problem, last_seq, _ = audit.verify_chain()
    assert problem is None and last_seq == AuditEntry.objects.order_by("-seq").values_list("seq", flat=True)[0]
    seqs = sorted(Event.objects.filter(meeting=cast.meeting, seq__gt=seq_before).values_list("seq", flat=True))
    assert seqs == [seq_before + 1, seq_before + 2]
    assert Meeting.objects.get(pk=cast.meeting.pk).event_seq == seq_before + 2
    # The chain still takes the next append from this process (its remembered head may be stale).
    assert _post(clients[cast.member.pk], cast.item.pk, "sau").status_code == 201
    assert audit.verify_chain()[0] is None
