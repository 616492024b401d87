"""Limits of the room socket per account (issue 14 point 6; ``ecabinet.limits``, docs/protocol.md §3):

* messages: beyond ``RATE_WS_MESSAGES_PER_MINUTE`` the flooding socket is closed with 4429 and a
  reason that says when to come back, while the other accounts' sockets carry on;
* connections: beyond ``RATE_WS_CONNECTS_PER_MINUTE`` a new socket is accepted and closed at once
  with 4429, before any database work;
* sockets open at once: beyond ``WS_MAX_SOCKETS_PER_ACCOUNT`` the account's OLDEST socket is closed
  with 4409 and the new one stays; sockets that stopped sending heartbeats do not count.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ecabinet import clock as server_clock
from meetings import services
from meetings.models import Meeting, Presence
from meetings.snapshot import PRESENCE_TTL

from ..factories import in_days
from .wsclient import Tablet, call, close_all, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_800_000_000 + 10


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(server_clock, "now", lambda: T0)


def test_a_flooding_socket_is_closed_with_4429_and_the_others_stay(cast, clock, settings):
    settings.RATE_WS_MESSAGES_PER_MINUTE = 5
    cast.set_status(Meeting.Status.IN_PROGRESS)
    member_h, other_h = token_headers(cast.member), token_headers(cast.member2)

    async def scenario():
        flood = await Tablet(member_h, cast.meeting.pk).join()
        other = await Tablet(other_h, cast.meeting.pk).join()
        for _ in range(5):
            assert await flood.pong()
        await flood.send({"type": "ping"})
        close = await flood.close_message()
        assert close["code"] == 4429
        assert close["reason"] == "rate_limited retry_after=50"
        assert await call(Presence.objects.filter(user=cast.member).count)() == 0
        # The other account's socket is untouched and still answered.
        assert await other.pong()
        await other.close()

    run(scenario)


def test_connections_beyond_the_limit_are_closed_with_4429_at_once(cast, clock, settings):
    settings.RATE_WS_CONNECTS_PER_MINUTE = 2
    cast.set_status(Meeting.Status.IN_PROGRESS)
    member_h, other_h = token_headers(cast.member), token_headers(cast.member2)

    async def scenario():
        first = await Tablet(member_h, cast.meeting.pk).open()
        second = await Tablet(member_h, cast.meeting.pk).open()
        third = await Tablet(member_h, cast.meeting.pk).open()
        close = await third.close_message()
        assert (close["code"], close["reason"]) == (4429, "rate_limited retry_after=50")
        assert await call(Presence.objects.filter(user=cast.member).count)() == 2
        assert (await first.recv())["type"] == "snapshot" and (await second.recv())["type"] == "snapshot"
        assert await first.pong() and await second.pong()
        # Another account connects as usual.
        other = await Tablet(other_h, cast.meeting.pk).join()
        await close_all(first, second, other)

    run(scenario)


def test_a_socket_beyond_the_cap_closes_the_oldest_and_stays(cast, settings):
    settings.WS_MAX_SOCKETS_PER_ACCOUNT = 2
    cast.set_status(Meeting.Status.IN_PROGRESS)
    member_h, other_h = token_headers(cast.member), token_headers(cast.member2)

    async def scenario():
        oldest = await Tablet(member_h, cast.meeting.pk).join()
        middle = await Tablet(member_h, cast.meeting.pk).join()
        newest = await Tablet(member_h, cast.meeting.pk).join()
        close = await oldest.close_message()
        assert close["code"] == 4409
        assert await middle.pong() and await newest.pong()
        names = await call(lambda: sorted(Presence.objects.filter(user=cast.member)
                                          .values_list("channel_name", flat=True)))()
        assert len(names) == 2
        # Another account is not counted with this one.
        other = await Tablet(other_h, cast.meeting.pk).join()
        assert await middle.pong()
        await close_all(middle, newest, other)

    run(scenario)


def test_sockets_without_a_heartbeat_do_not_count_against_the_cap(cast, settings):
    """A tablet on flaky Wi-Fi leaves half-open sockets behind: they stop counting once their
    heartbeats stop, so reconnecting never shuts out the tablet's live sockets."""
    settings.WS_MAX_SOCKETS_PER_ACCOUNT = 2
    cast.set_status(Meeting.Status.IN_PROGRESS)
    member_h = token_headers(cast.member)

    other = services.meeting_create(actor=cast.secretary, title="Phiên họp chuyên đề", kind="regular",
                                    starts_at=in_days(5))

    def ghosts():
        """Sockets opened after ``first`` whose heartbeats stopped (newer, so they would be kept
        and ``first`` closed, were they counted), in another session (a connection sweeps its own
        session's stale rows first)."""
        stale = timezone.now() - PRESENCE_TTL - timedelta(seconds=1)
        for n in range(5):
            Presence.objects.create(meeting=other, user=cast.member, channel_name=f"room.ghost{n}",
                                    connected_at=timezone.now(), seen_at=stale)

    async def scenario():
        first = await Tablet(member_h, cast.meeting.pk).join()
        await call(ghosts)()
        second = await Tablet(member_h, cast.meeting.pk).join()
        assert await first.quiet(0.3)  # not closed
        assert await first.pong() and await second.pong()
        await close_all(first, second)

    run(scenario)
