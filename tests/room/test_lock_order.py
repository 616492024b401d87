"""Two writers at once must not deadlock (DESIGN.md §4: the same code on SQLite and PostgreSQL).

A service that writes an audit entry and an event locks two rows: the audit head (``audit.record``)
and the session row (``events.emit`` takes the next ``seq`` there). On PostgreSQL, two transactions
that take them in opposite orders deadlock and one of them fails. The tests hold each writer
between its two locks, so that the two overlap every time rather than once in a while; SQLite's
IMMEDIATE transactions serialise writers, so there they always pass.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from ecabinet import audit
from meetings import events, services
from meetings.models import Comment, Meeting

pytestmark = pytest.mark.django_db(transaction=True)

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
PAUSE = 0.4


def race(first, second, monkeypatch, *, audit_action: str, event_kind: str) -> list[Exception]:
    """Run ``first``, then ``second`` shortly after; pause ``audit_action``'s audit entry and
    ``event_kind``'s event, so that each writer waits between its two locks."""
    real_record, real_emit = audit.record, events.emit

    def slow_record(actor, action, *args, **kwargs):
        if action == audit_action:
            time.sleep(PAUSE)
        return real_record(actor, action, *args, **kwargs)

    def slow_emit(meeting, kind, *args, **kwargs):
        if kind == event_kind:
            time.sleep(PAUSE)
        return real_emit(meeting, kind, *args, **kwargs)

    monkeypatch.setattr(audit, "record", slow_record)
    monkeypatch.setattr(events, "emit", slow_emit)
    errors: list[Exception] = []

    def run(write):
        try:
            write()
        except Exception as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(write,)) for write in (first, second)]
    threads[0].start()
    time.sleep(PAUSE / 3)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_it_lets_the_chair_move_the_agenda_while_a_member_comments(cast, monkeypatch):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    errors = race(
        lambda: services.agenda_set_current(actor=cast.pm, meeting_id=cast.meeting.pk, item_id=cast.item.pk),
        lambda: services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Cùng lúc"),
        monkeypatch, audit_action="agenda.current", event_kind="comment.posted")
    assert errors == []
    assert Meeting.objects.get(pk=cast.meeting.pk).current_item_id == cast.item.pk
    assert Comment.objects.filter(text="Cùng lúc").exists()


def test_it_lets_the_session_start_while_a_member_comments(cast, monkeypatch):
    cast.set_status(Meeting.Status.PUBLISHED)
    errors = race(
        lambda: services.meeting_start(actor=cast.pm, meeting=cast.meeting),
        lambda: services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Trước giờ khai mạc"),
        monkeypatch, audit_action="meeting.status", event_kind="comment.posted")
    assert errors == []
    assert Meeting.objects.get(pk=cast.meeting.pk).status == "in_progress"
