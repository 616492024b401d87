"""Issue 19 (reconnect storm): one room-socket handshake — authentication, access, audience tokens,
credential check, snapshot, presence — costs a constant number of SQL queries, whatever the number
of participants and agenda items of the session. All of it runs in Channels' one thread for
synchronous code, so a thousand tablets reconnecting at once queue behind each other's queries."""

from __future__ import annotations

import pytest
from django.db.backends import utils

from meetings import services
from meetings.models import Meeting
from tests.factories import UserFactory

from .wsclient import Tablet, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)

# One connect, from the handshake to the snapshot and the presence row (and its event), counting
# every statement sent (on SQLite, the tests' database, two of them are BEGIN; PostgreSQL sends two
# fewer). A member's was 35 before issue 19's cuts, a secretary's (who also reads presence) one more.
MAX_QUERIES_PER_CONNECT = 25


@pytest.fixture
def captured(monkeypatch) -> list[str]:
    """Every SQL statement run, in whichever thread (the consumer's run in Channels' thread for
    synchronous code, with a database connection of its own)."""
    statements: list[str] = []
    original = utils.CursorWrapper._execute_with_wrappers

    def record(self, sql, params, many, executor):
        statements.append(sql)
        return original(self, sql, params, many, executor)

    monkeypatch.setattr(utils.CursorWrapper, "_execute_with_wrappers", record)
    return statements


def grow(cast, participants: int, items: int) -> None:
    for n in range(participants):
        user = UserFactory(username=f"extra{n:03}")
        services.participant_add(actor=cast.secretary, meeting=cast.meeting, username=user.username, role="member")
    for n in range(items):
        services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title=f"Nội dung {n}")


def connect_queries(cast, user, captured) -> list[str]:
    headers = token_headers(user)

    async def scenario():
        tablet = Tablet(headers, cast.meeting.pk)
        captured.clear()
        await tablet.open()
        snapshot = await tablet.recv()
        await tablet.quiet(0.1)  # the presence row, written after the snapshot
        queries = list(captured)
        assert snapshot["type"] == "snapshot"
        await tablet.close()
        scenario.queries = queries

    run(scenario)
    return scenario.queries


@pytest.mark.parametrize("who", ["member", "secretary"])
def test_one_connect_costs_the_same_queries_whatever_the_size_of_the_session(cast, who, captured):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    small = connect_queries(cast, getattr(cast, who), captured)
    grow(cast, participants=55, items=20)
    large = connect_queries(cast, getattr(cast, who), captured)
    assert len(large) == len(small), "\n".join(large)
    assert len(large) <= MAX_QUERIES_PER_CONNECT, "\n".join(large)
