"""Presence in batches (issue 19, the reconnect storm): ``services.presence_apply`` records many
sockets' opens and closes in one transaction, in a bounded number of statements whatever their
number, with the result of recording them one by one — a row per open socket of an open session,
``presence.changed`` for each person whose online state changed (to the secretariat's audience),
the crashed processes' rows swept, ``WS_MAX_SOCKETS_PER_ACCOUNT`` enforced — and the consumer's
connects and disconnects go through it (``hotpath.heartbeats.together``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meetings import permissions, services
from meetings.models import Event, Meeting, Presence
from meetings.snapshot import PRESENCE_TTL
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Read the rows, the closed sessions, delete, insert the rows, take the seqs, insert the events
# (and BEGIN/SAVEPOINTs on SQLite): the same for 1 socket or 60.
MAX_QUERIES_PER_BATCH = 9


def presence_events(meeting) -> list[tuple[str, bool]]:
    rows = Event.objects.filter(meeting=meeting, kind="presence.changed").order_by("seq")
    for event in rows:
        assert sorted(event.audience) == sorted(permissions.PRESENCE_AUDIENCE)
    return [(e.data["username"], e.data["online"]) for e in rows]


def members(cast, n: int) -> list:
    people = []
    for i in range(n):
        user = UserFactory(username=f"batch{i:03}")
        services.participant_add(actor=cast.secretary, meeting=cast.meeting, username=user.username, role="member")
        people.append(user)
    return people


def test_many_sockets_are_recorded_in_a_bounded_number_of_statements(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    people = members(cast, 30)
    opens = [(u, cast.meeting.pk, f"room.{u.username}.{n}", True) for u in people for n in range(2)]
    Event.objects.filter(kind="presence.changed").delete()
    with CaptureQueriesContext(connection) as queries:
        services.presence_apply(changes=opens, keep=8)
    assert len(queries) <= MAX_QUERIES_PER_BATCH, "\n".join(q["sql"] for q in queries)
    assert Presence.objects.count() == 60
    # One event per person who came online, not per socket.
    assert presence_events(cast.meeting) == [(u.username, True) for u in people]
    closes = [(u, m, c, False) for u, m, c, _o in opens]
    with CaptureQueriesContext(connection) as queries:
        services.presence_apply(changes=closes[::2], keep=8)  # the first socket of each
    assert len(queries) <= MAX_QUERIES_PER_BATCH, "\n".join(q["sql"] for q in queries)
    assert len(presence_events(cast.meeting)) == 30  # each still online on their second socket
    services.presence_apply(changes=closes[1::2], keep=8)
    assert not Presence.objects.exists()
    assert presence_events(cast.meeting)[30:] == [(u.username, False) for u in people]


def test_a_socket_that_opens_and_closes_within_one_batch_leaves_nothing(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    Event.objects.filter(kind="presence.changed").delete()
    services.presence_apply(changes=[(cast.member, cast.meeting.pk, "room.a", True),
                                     (cast.member, cast.meeting.pk, "room.a", False)], keep=8)
    assert not Presence.objects.exists()
    assert presence_events(cast.meeting) == []
    # A close before its open is recorded is another socket's business: the open stands.
    services.presence_apply(changes=[(cast.member2, cast.meeting.pk, "room.b", False),
                                     (cast.member2, cast.meeting.pk, "room.c", True)], keep=8)
    assert list(Presence.objects.values_list("channel_name", flat=True)) == ["room.c"]
    assert presence_events(cast.meeting) == [("member02", True)]


def test_the_batch_sweeps_crashed_processes_rows_and_announces_each_change_once(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    long_ago = timezone.now() - PRESENCE_TTL - timedelta(seconds=5)
    for user, channel in ((cast.member2, "dead!1"), (cast.member, "dead!2"), (cast.pm, "dead!3")):
        Presence.objects.create(meeting=cast.meeting, user=user, channel_name=channel, connected_at=long_ago,
                                seen_at=long_ago)
    Presence.objects.create(meeting=cast.meeting, user=cast.pm, channel_name="alive", connected_at=timezone.now(),
                            seen_at=timezone.now())
    Event.objects.filter(kind="presence.changed").delete()
    services.presence_apply(changes=[(cast.member, cast.meeting.pk, "room.m", True),
                                     (cast.secretary, cast.meeting.pk, "room.s", True)], keep=8)
    # member02: swept, offline. member01: swept but back (online: their snapshot-era clients never
    # saw them). pm: still online elsewhere, nothing. secretary: online.
    assert presence_events(cast.meeting) == [("member02", False), ("member01", True), ("secretary", True)]
    assert sorted(Presence.objects.values_list("channel_name", flat=True)) == ["alive", "room.m", "room.s"]


def test_a_closed_session_gets_no_rows_and_no_events(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    services.presence_apply(changes=[(cast.member, cast.meeting.pk, "room.open", True)], keep=8)
    cast.set_status(Meeting.Status.CLOSED)
    before = Event.objects.filter(meeting=cast.meeting).count()
    services.presence_apply(changes=[(cast.member2, cast.meeting.pk, "room.late", True),
                                     (cast.member, cast.meeting.pk, "room.open", False)], keep=8)
    assert not Presence.objects.exists()
    assert Event.objects.filter(meeting=cast.meeting).count() == before


def test_each_account_keeps_its_newest_sockets_and_the_older_are_told_to_close(cast, doorbells):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    earlier = timezone.now() - timedelta(seconds=30)
    Presence.objects.create(meeting=cast.meeting, user=cast.member, channel_name="old", connected_at=earlier,
                            seen_at=timezone.now())
    services.presence_apply(changes=[(cast.member, cast.meeting.pk, f"new.{n}", True) for n in range(3)] + [
        (cast.member2, cast.meeting.pk, "other", True)], keep=2)
    assert sorted(Presence.objects.values_list("channel_name", flat=True)) == ["new.1", "new.2", "other"]
    evictions = [message for _groups, message in doorbells if message["type"] == "room.evict"]
    assert len(evictions) == 1 and sorted(evictions[0]["channels"]) == ["new.0", "old"]
    assert ("member01", False) not in presence_events(cast.meeting)  # still online on its newest
