"""Presence (issue #3 "Chair's control"): the secretariat sees which participants are connected
now. Only the first socket of a person announces them and only the last one to close says they
left; connections of crashed processes (no heartbeat within ``PRESENCE_TTL``) are swept by the
next connection, with an "offline" event.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from meetings.models import Event, Meeting, Presence
from meetings.snapshot import PRESENCE_TTL

from .wsclient import Tablet, call, events_of, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def presence_events(messages: list[dict]) -> list[tuple[str, bool]]:
    return [(e["data"]["username"], e["data"]["online"]) for e in events_of(messages)
            if e["kind"] == "presence.changed"]


def test_it_announces_the_first_socket_and_the_last_to_close_to_the_secretariat_only(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    desk_h, chair_h, member_h = (token_headers(u) for u in (cast.secretary, cast.pm, cast.member))

    async def scenario():
        desk = await Tablet(desk_h, cast.meeting.pk).open()
        chair = await Tablet(chair_h, cast.meeting.pk).open()
        assert presence_events(await desk.until(lambda m: m.get("data", {}).get("username") == "pm")) == [
            ("secretary", True), ("pm", True)]
        assert "presence" not in (await chair.recv())["meeting"]
        tablet = await Tablet(member_h, cast.meeting.pk).open()
        await tablet.recv()
        assert presence_events([await desk.recv()]) == [("member01", True)]
        assert await chair.quiet(0.05) and await tablet.quiet(0.05)
        events_before = await call(Event.objects.count)()
        phone = await Tablet(member_h, cast.meeting.pk).open()
        await phone.recv()
        assert await desk.quiet(0.2)  # already online: a second socket changes nothing
        assert await call(Event.objects.count)() == events_before
        assert await call(Presence.objects.filter(user=cast.member).count)() == 2
        await tablet.close()
        assert await desk.quiet(0.2)  # still online on the phone
        await phone.close()
        assert presence_events([await desk.recv()]) == [("member01", False)]
        assert await chair.quiet(0.05)
        # The secretariat's snapshot lists who is connected now.
        again = await Tablet(desk_h, cast.meeting.pk).open()
        assert (await again.recv())["meeting"]["presence"] == ["pm", "secretary"]
        for socket in (again, desk, chair):
            await socket.close()

    run(scenario)
    assert not Presence.objects.exists()


def test_it_sweeps_connections_of_crashed_processes_on_the_next_connect(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    long_ago = timezone.now() - PRESENCE_TTL - timedelta(seconds=5)
    # member02's tablet was connected through a process that died: its row stayed behind.
    Presence.objects.create(meeting=cast.meeting, user=cast.member2, channel_name="dead.process!1",
                            connected_at=long_ago, seen_at=long_ago)
    headers = token_headers(cast.secretary)

    async def scenario():
        desk = await Tablet(headers, cast.meeting.pk).open()
        snapshot = await desk.recv()
        assert snapshot["meeting"]["presence"] == []  # stale rows never count as online
        assert presence_events([await desk.recv(), await desk.recv()]) == [("member02", False), ("secretary", True)]
        assert await desk.quiet()
        await desk.close()

    run(scenario)
    assert not Presence.objects.exists()


def test_it_keeps_a_socket_online_while_it_pings(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    headers = token_headers(cast.member)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        await tablet.recv()
        almost_stale = timezone.now() - PRESENCE_TTL + timedelta(seconds=5)
        await call(Presence.objects.filter(user=cast.member).update)(seen_at=almost_stale)
        await tablet.send({"type": "ping"})
        assert (await tablet.recv())["type"] == "pong"
        seen = await call(lambda: Presence.objects.get(user=cast.member).seen_at)()
        assert seen > timezone.now() - timedelta(seconds=5)
        await tablet.close()

    run(scenario)
