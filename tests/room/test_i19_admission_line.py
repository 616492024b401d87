"""The admission queue in front of the real room socket (``hotpath.admission``, issue 19 second
round; the unit cases are tests/security/test_i19_admission.py): what a tablet is told when the
line is full, and that a socket without any credential is refused as before without waiting."""

from __future__ import annotations

import asyncio
import re

import pytest

from meetings.models import Meeting

from .wsclient import ORIGIN, Tablet, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_full_line_tells_the_tablet_4429_and_when_to_come_back_and_the_line_moves_on(cast, settings):
    settings.WS_ADMISSION_CONCURRENCY = 1
    settings.WS_ADMISSION_QUEUE = 1
    settings.WS_ADMISSION_RETRY_SECONDS = 5
    cast.set_status(Meeting.Status.IN_PROGRESS)
    first, second, third = (token_headers(p) for p in (cast.secretary, cast.pm, cast.member))

    async def scenario():
        tablets = [Tablet(each, cast.meeting.pk) for each in (first, second, third)]
        connecting = [asyncio.ensure_future(tablet.connect()) for tablet in tablets]  # all three at once
        assert [connected for connected, _ in await asyncio.gather(*connecting)] == [True, True, True]
        refused = tablets[2]  # accepted so that the client can read why, then closed
        output = await refused.comm.receive_output(timeout=3)
        assert output["type"] == "websocket.close" and output["code"] == 4429
        assert 5 <= int(re.fullmatch(r"busy retry_after=(\d+)", output["reason"]).group(1)) <= 10
        for tablet in tablets[:2]:  # the admitted and the one in line are answered in turn
            assert (await tablet.recv())["type"] == "snapshot"
        retried = await Tablet(third, cast.meeting.pk).open()  # the line has room again
        assert (await retried.recv())["type"] == "snapshot"
        for tablet in (*tablets[:2], retried):
            await tablet.close()

    run(scenario)


def test_no_credential_is_refused_with_4403_as_the_room_refuses_a_stranger_while_the_place_is_held(cast, settings):
    settings.WS_ADMISSION_CONCURRENCY = 1
    cast.set_status(Meeting.Status.IN_PROGRESS)
    member = token_headers(cast.member)

    async def scenario():
        held = Tablet(member, cast.meeting.pk)
        holding = asyncio.ensure_future(held.connect())  # takes the one place first
        await asyncio.sleep(0)
        for headers in ([(b"origin", ORIGIN.encode())], [(b"origin", ORIGIN.encode()), (b"cookie", b"csrftoken=x")]):
            connected, code = await Tablet(headers, cast.meeting.pk).connect()
            assert (connected, code) == (False, 4403)
        assert (await holding)[0]
        assert (await held.recv())["type"] == "snapshot"
        await held.close()

    run(scenario)


def test_a_socket_authenticated_as_nobody_gives_its_place_back_before_the_refusal(cast, settings, monkeypatch):
    from hotpath import admission
    from meetings import consumers

    settings.WS_ADMISSION_CONCURRENCY = 1
    cast.set_status(Meeting.Status.IN_PROGRESS)
    tickets: list = []
    real_ticket_init = admission._Ticket.__init__

    def noting(self, *args, **kwargs):
        real_ticket_init(self, *args, **kwargs)
        tickets.append(self)

    held_when_refused: list[bool] = []
    asked_the_database: list[bool] = []
    real_tokens = consumers.room.audience_tokens
    real_close = consumers.MeetingConsumer.close

    def audience_tokens(user, meeting_id):
        if not user.is_authenticated:
            asked_the_database.append(True)
        return real_tokens(user, meeting_id)

    async def close(self, code=None, reason=None):
        if not self.user.is_authenticated:
            held_when_refused.append(any(t.placed and t.held for t in tickets))
        return await real_close(self, code=code, reason=reason)

    monkeypatch.setattr(admission._Ticket, "__init__", noting)
    monkeypatch.setattr(consumers.room, "audience_tokens", audience_tokens)
    monkeypatch.setattr(consumers.MeetingConsumer, "close", close)
    revoked = [(b"authorization", b"Token not-a-token-of-anyone"), (b"origin", ORIGIN.encode())]

    async def scenario():
        connected, code = await Tablet(revoked, cast.meeting.pk).connect()
        assert (connected, code) == (False, 4403)

    run(scenario)
    assert held_when_refused == [False]
    assert asked_the_database == []  # nobody to look up: refused without a trip (issue 19)
