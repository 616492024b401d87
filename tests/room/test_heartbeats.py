"""Heartbeats in batches (``meetings.room.heartbeats`` and ``hotpath.heartbeats``): each
ping gets the answer it would get alone — the session's head, or None when access is gone — and
all of them cost a few queries together."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from hotpath import heartbeats
from meetings import room, services
from meetings.models import Meeting, Presence

pytestmark = pytest.mark.django_db(transaction=True)  # heartbeats tidy their thread's connection


@pytest.fixture
def batch_sizes(monkeypatch) -> list[int]:
    """The batch query replaced by one that answers 7 to every ping: the size of each batch it gets."""
    sizes: list[int] = []

    def recorded(pings):
        sizes.append(len(pings))
        return [7] * len(pings)

    monkeypatch.setattr(room, "heartbeats", recorded)
    return sizes


def present(cast, user, channel: str) -> None:
    Presence.objects.create(meeting=cast.meeting, user=user, channel_name=channel, connected_at=timezone.now(),
                            seen_at=timezone.now() - timedelta(seconds=30))


def test_a_batch_of_pings_answers_each_as_alone_in_a_few_queries(cast, django_assert_max_num_queries):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    people = [cast.pm, cast.secretary, cast.member, cast.member2, cast.observer, cast.outsider]
    for n, user in enumerate(people):
        present(cast, user, f"room.{n}")
    services.participant_remove(actor=cast.secretary, meeting=cast.meeting, username=cast.member2.username)
    cast.observer.is_active = False  # deactivated by an administrator since the socket opened
    type(cast.observer).objects.filter(pk=cast.observer.pk).update(is_active=False)
    cast.observer.is_active = True  # the socket's own copy still says active
    pings = [(user, cast.meeting.pk, f"room.{n}") for n, user in enumerate(people)]
    head = Meeting.objects.get(pk=cast.meeting.pk).event_seq
    with django_assert_max_num_queries(6):
        heads = room.heartbeats(pings)
    assert heads == [head, head, head, None, None, None]
    alone = [room.heartbeat(user, cast.meeting.pk, f"room.{n}") for n, user in enumerate(people)]
    assert alone == heads
    assert cast.observer.is_active is False  # the socket's user was refreshed
    fresh = timezone.now() - timedelta(seconds=5)
    touched = set(Presence.objects.filter(seen_at__gte=fresh).values_list("channel_name", flat=True))
    assert touched == {"room.0", "room.1", "room.2"}


def test_the_sockets_pings_wait_for_each_other_while_a_batch_is_at_the_database(cast, batch_sizes):
    cast.set_status(Meeting.Status.IN_PROGRESS)

    async def scenario():
        beats = heartbeats.Heartbeats(room.heartbeats)
        return await asyncio.gather(*(beats.beat(cast.member, cast.meeting.pk, f"room.{n}") for n in range(20)))

    assert asyncio.run(scenario()) == [7] * 20
    assert batch_sizes == [20]  # pings that arrive together go in one trip


def test_pings_arriving_one_by_one_wait_for_each_other_a_moment(cast, batch_sizes, monkeypatch):
    """Tablets ping at their own times: those within ``GATHER_SECONDS`` of the first go in one trip."""
    cast.set_status(Meeting.Status.IN_PROGRESS)
    monkeypatch.setattr(heartbeats, "GATHER_SECONDS", 1.0)

    async def scenario():
        beats = heartbeats.Heartbeats(room.heartbeats)
        pending = []
        for n in range(10):
            pending.append(asyncio.ensure_future(beats.beat(cast.member, cast.meeting.pk, f"room.{n}")))
            await asyncio.sleep(0.02)
        return await asyncio.gather(*pending)

    assert asyncio.run(scenario()) == [7] * 10
    assert batch_sizes == [10]


def test_a_failing_batch_fails_each_of_its_pings(cast, monkeypatch):
    def broken(pings):
        raise RuntimeError("database away")

    monkeypatch.setattr(room, "heartbeats", broken)

    async def scenario():
        beats = heartbeats.Heartbeats(room.heartbeats)
        return await asyncio.gather(*(beats.beat(cast.member, cast.meeting.pk, "room.x") for _ in range(3)),
                                    return_exceptions=True)

    assert [type(r) for r in asyncio.run(scenario())] == [RuntimeError] * 3
