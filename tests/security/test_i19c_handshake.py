"""Hostile review of the one-trip handshake (``meetings.consumers._admit``, issue 19): a device revoked
just after the access-and-credential check — between the trips — still closes the socket with 4401
(the socket listens for its credential's end before the check), and leaves no "online" row behind."""

from __future__ import annotations

import time

import pytest

from ecabinet import devices
from meetings.consumers import CLOSE_ACCESS_ENDED
from meetings.models import Meeting, Presence
from tests.room.test_ws_access_ended import token_socket
from tests.room.wsclient import Tablet, run

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_device_revoked_right_after_the_check_closes_the_socket_with_4401(cast, monkeypatch):
    from meetings import consumers

    cast.set_status(Meeting.Status.IN_PROGRESS)
    headers, device = token_socket(cast.member)
    original = consumers._admit

    def admit_then_revoked(user, meeting_id, scope):
        answer = original(user, meeting_id, scope)
        assert answer[1]  # the credential held at the check
        devices.revoke_device(actor=cast.member, device=device)  # pushes room.revoked on commit
        return answer

    monkeypatch.setattr(consumers, "_admit", admit_then_revoked)

    async def scenario():
        tablet = Tablet(headers, cast.meeting.pk)
        assert (await tablet.connect())[0]
        while True:  # the snapshot may come first; the close follows within a second
            output = await tablet.comm.receive_output(2)
            if output["type"] == "websocket.close":
                assert output["code"] == CLOSE_ACCESS_ENDED
                break
        await tablet.close()

    run(scenario)
    time.sleep(0.3)  # a presence batch, if there were one
    assert not Presence.objects.filter(user=cast.member).exists()
