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
# fewer). A member's was 35 before issue 19's cuts, a secretary's (who also reads presence) one more;
# 22 (23) since the credential is checked with the access and the presence row is written in a batch
# (``services.presence_apply``, issue 19 second round).
MAX_QUERIES_PER_CONNECT = 23


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


# A connect while the session's shared read (``meetings.snapshot.Shared``) is warm — every tablet of
# a reconnect storm but the first at each ``seq``: the account and the device, the access (twice:
# for the audience at the handshake, with the credential, and again once the socket is in its
# groups), and the presence batch (here of one socket: its rows read, the closed sessions, the row,
# its event); of the snapshot, only the kinds of the events since the shared read (the previous
# tablet's presence.changed) and, for the secretariat, who is online. A cold connect costs 22
# statements (23 for the secretariat), a warm one 13 (14).
MAX_QUERIES_PER_WARM_CONNECT = 14


@pytest.mark.parametrize("who", ["member", "secretary"])
def test_a_connect_after_another_reader_at_the_same_seq_reads_nothing_of_the_session_again(cast, who, captured):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    grow(cast, participants=55, items=20)
    connect_queries(cast, cast.member2, captured)  # warms the shared read, and moves the seq (presence)
    warm = connect_queries(cast, getattr(cast, who), captured)
    assert len(warm) <= MAX_QUERIES_PER_WARM_CONNECT, "\n".join(warm)
    assert not any('FROM "meetings_comment"' in sql or 'FROM "meetings_agendaitem"' in sql for sql in warm), \
        "\n".join(warm)
