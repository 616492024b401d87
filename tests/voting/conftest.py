"""Fixtures of the voting tests: a session in progress with any number of members, built through
the services (the API-only reference scenario builds its own), and real threads for the races.

``both_databases`` marks the tests whose point is how the database serialises concurrent work. They
run on the SQLite test database (a file, see ``tests/conftest.py``) by default and, unchanged, on
PostgreSQL when ``DATABASE_URL=postgres://…`` is set::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ecabinet .venv/bin/pytest tests/voting
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import override_settings
from rest_framework.test import APIClient

from meetings import services
from meetings.models import AgendaItem, Meeting, Participant
from voting.services import motions

from ..factories import UserFactory, in_days


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "both_databases: a concurrency test meant for SQLite and, with DATABASE_URL, PostgreSQL")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@dataclass
class Room:
    """A session in progress: ``chair`` (pm) and ``members`` vote; ``secretary`` runs it."""

    meeting: Meeting
    item: AgendaItem
    chair: object
    secretary: object
    members: list = field(default_factory=list)  # without the chair

    @property
    def voters(self) -> list:
        return [self.chair, *self.members]

    def motion(self, *, method: str = "named", rule: str | None = None, open_it: bool = True):
        motion = motions.motion_create(actor=self.secretary, item_id=self.item.pk, title="Nghị quyết phiên họp",
                                       method=method, rule=rule)
        return motions.motion_open(actor=self.chair, motion_id=motion.pk) if open_it else motion


def build_room(*, members: int, absent: int = 0, prefix: str = "tv", substitutes_may_vote: bool = False,
               votes_may_change: bool = False) -> Room:
    """A session in progress with the chair and ``members`` members, the last ``absent`` of them absent
    and the others present (every other one remotely). Rooms of hundreds (the storms) are above the
    default cap of a session's participants, as in the benchmarks: the cap is raised for them."""
    cap = max(settings.MEETING_MAX_PARTICIPANTS, members + 10)  # the members, the chair, the secretariat
    with override_settings(MEETING_MAX_PARTICIPANTS=cap):
        return _build_room(members=members, absent=absent, prefix=prefix, substitutes_may_vote=substitutes_may_vote,
                           votes_may_change=votes_may_change)


def _build_room(*, members: int, absent: int, prefix: str, substitutes_may_vote: bool, votes_may_change: bool) -> Room:
    secretary = UserFactory(username=f"{prefix}-secretary", is_secretariat=True)
    chair = UserFactory(username=f"{prefix}-pm", full_name="Thủ tướng")
    people = [UserFactory(username=f"{prefix}{i:03d}", full_name=f"Bộ trưởng {i}") for i in range(1, members + 1)]
    meeting = services.meeting_create(actor=secretary, title="Phiên họp Chính phủ", kind="regular",
                                      starts_at=in_days(1))
    services.participant_add(actor=secretary, meeting=meeting, username=chair.username, role="chair")
    for person in people:
        services.participant_add(actor=secretary, meeting=meeting, username=person.username, role="member")
    item = services.agenda_item_add(actor=secretary, meeting=meeting, title="Dự thảo Nghị quyết")
    services.meeting_publish(actor=secretary, meeting=meeting)
    motions.meeting_set_voting_rules(actor=chair, meeting=meeting, rule="vn-government",
                                     substitutes_may_vote=substitutes_may_vote, votes_may_change=votes_may_change)
    services.meeting_start(actor=secretary, meeting=meeting)
    for index, person in enumerate([chair, *people]):
        if index >= len(people) + 1 - absent:
            status, reason = Participant.Attendance.ABSENT, "Công tác nước ngoài"
        else:
            status, reason = (Participant.Attendance.REMOTE if index % 2 else Participant.Attendance.PRESENT), ""
        services.attendance_set(actor=secretary, meeting=meeting, username=person.username, status=status,
                                reason=reason)
    meeting.refresh_from_db()
    return Room(meeting=meeting, item=item, chair=chair, secretary=secretary, members=people)


def max_parallel() -> int:
    """How many threads may hold a database connection at once: unlimited on SQLite; on PostgreSQL
    what ``max_connections`` leaves free (other sessions, a margin for the test's own)."""
    if connection.vendor != "postgresql":
        return 1000
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity")
        free = cursor.fetchone()[0]
    return max(4, free - 10)


def race(calls: list[Callable[[], object]], *, start: threading.Event | None = None,
         late: set[int] = frozenset()) -> list:
    """Run ``calls`` in real threads released together (those whose index is in ``late`` wait for
    ``start`` as well); each thread uses its own database connection and closes it at the end.
    Returns the results in order; a thread's exception fails the test."""
    barrier = threading.Barrier(len(calls))
    gate = threading.BoundedSemaphore(max_parallel())
    results: list = [None] * len(calls)
    errors: list = []

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
            if index in late and start is not None:
                start.wait(timeout=60)
            with gate:
                try:
                    results[index] = call()
                finally:
                    connection.close()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


@pytest.fixture
def room(db) -> Room:
    return build_room(members=4)
