"""``ecabinet.bulk.insert``: rows written with one prepared statement read back exactly as the
ORM's own ``save`` would have stored them, on SQLite and on PostgreSQL (``make test-postgres``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecabinet import bulk
from ecabinet.models import AuditEntry
from meetings.models import Event

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 2, 4, 30, 15, 123456, tzinfo=UTC)


def fields_of(row, names):
    return {name: getattr(row, name) for name in names}


def test_rows_read_back_as_the_orm_stores_them(cast):
    names = ["meeting_id", "seq", "kind", "data", "audience", "created_at"]
    data = {"motion": 5, "tally": {"yes": 3, "voters": ["pm", "member01"]}, "text": "Nghị quyết “số 1”", "none": None}
    orm = Event.objects.create(meeting=cast.meeting, seq=900, kind="vote.tally", data=data, audience=["all"],
                               created_at=AT)
    Event.objects.filter(pk=orm.pk).update(created_at=AT)
    bulk.insert(Event, ["meeting", "seq", "kind", "data", "audience", "created_at"],
                [(cast.meeting.pk, 901, "vote.tally", data, ["all"], AT)])
    a, b = (Event.objects.get(meeting=cast.meeting, seq=s) for s in (900, 901))
    assert fields_of(a, names) | {"seq": 0} == fields_of(b, names) | {"seq": 0}
    assert b.created_at == AT and b.data == data


def test_it_writes_hundreds_of_rows_in_a_few_statements(cast):
    rows = [AuditEntry(seq=10_000 + n, at=AT, actor_id=cast.member.pk, actor_username="member01", action="vote.cast",
                       object_type="voting.vote", object_id=str(n), meeting_id=cast.meeting.pk,
                       data={"choice": "yes", "n": n}, prev_hash=f"{n:064x}", hash=uuid.uuid4().hex * 2)
            for n in range(500)]
    with CaptureQueriesContext(connection) as captured:
        bulk.insert_objects(rows, ["seq", "at", "actor_id", "actor_username", "action", "object_type", "object_id",
                                   "meeting_id", "data", "prev_hash", "hash"])
    assert len(captured) <= 8  # as many rows per statement as the backend's parameter limit allows
    stored = {e.seq: e for e in AuditEntry.objects.filter(seq__gte=10_000)}
    assert len(stored) == 500
    assert stored[10_123].data == {"choice": "yes", "n": 123} and stored[10_123].at == AT
    assert stored[10_499].actor_id == cast.member.pk


def test_uuid_keys_and_empty_inserts(cast):
    from voting.models import Motion, SecretChoice
    from voting.services import motions

    cast.set_status("in_progress")
    motion = motions.motion_create(actor=cast.secretary, item_id=cast.item.pk, title="Bỏ phiếu kín", method="secret")
    key = uuid.uuid4()
    assert bulk.insert(SecretChoice, ["id", "motion", "choice", "receipt_hash"], []) == 0
    bulk.insert(SecretChoice, ["id", "motion", "choice", "receipt_hash"], [(key, motion.pk, "no", "a" * 64)])
    assert SecretChoice.objects.get(pk=key).motion == Motion.objects.get(pk=motion.pk)


def test_save_new_stores_a_comment_as_create_does_and_reads_back_its_key(cast):
    from meetings.models import Comment

    columns = ("agenda_item_id", "document_id", "page", "author_id", "visibility", "text", "created_at",
               "edited_at", "deleted_at")
    orm = Comment.objects.create(agenda_item=cast.item, author=cast.member, visibility="secretariat",
                                 text="Điều 3 “khoản 2”", created_at=AT)
    new = Comment(agenda_item=cast.item, author=cast.member, visibility="secretariat", text="Điều 3 “khoản 2”",
                  created_at=AT)
    with CaptureQueriesContext(connection) as captured:
        bulk.save_new(new, columns)
    assert len(captured) == 1
    assert new.pk == orm.pk + 1 and not new._state.adding and new._state.db == orm._state.db
    a, b = Comment.objects.get(pk=orm.pk), Comment.objects.get(pk=new.pk)
    assert fields_of(a, columns) == fields_of(b, columns)
    assert b.created_at == AT and b.edited_at is None
