"""Oversized messages (issue #3 "Done means"): clients send only ``resume`` and ``ping``, so a
message over ``MAX_MESSAGE_BYTES`` is abuse. The server closes that socket with 1009 ("message too
big") and stays up for everyone else.
"""

from __future__ import annotations

import json

import pytest

from meetings import services
from meetings.consumers import CLOSE_TOO_BIG, MAX_MESSAGE_BYTES
from meetings.models import Meeting, Presence

from .wsclient import Tablet, call, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def padded(size: int) -> str:
    """A ping of exactly ``size`` bytes of UTF-8."""
    base = json.dumps({"type": "ping", "pad": ""})
    return json.dumps({"type": "ping", "pad": "x" * (size - len(base))})


def test_it_closes_a_socket_that_sends_too_much_and_stays_up(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    member, member2 = token_headers(cast.member), token_headers(cast.member2)

    async def abuse(frame: str) -> None:
        abuser = await Tablet(member, cast.meeting.pk).open()
        await abuser.recv()
        if frame == "text":
            await abuser.send("x" * (MAX_MESSAGE_BYTES + 1))
        elif frame == "multibyte":
            # Few characters, many bytes: the limit counts bytes on the wire.
            await abuser.send("ệ" * (MAX_MESSAGE_BYTES // 3 + 1))
        else:
            await abuser.comm.send_to(bytes_data=b"\0" * (MAX_MESSAGE_BYTES + 1))
        assert await abuser.closed_with() == CLOSE_TOO_BIG, frame
        await abuser.close()

    async def scenario():
        for n, frame in enumerate(["text", "multibyte", "bytes"]):
            await abuse(frame)
            other = await Tablet(member2, cast.meeting.pk).open()
            head = (await other.recv())["seq"]
            await other.send({"type": "ping"})
            assert await other.recv() == {"type": "pong", "seq": head}
            await call(services.comment_post)(actor=cast.pm, item_id=cast.item.pk, text=f"Máy chủ vẫn chạy {n}")
            assert (await other.recv())["data"]["comment"]["text"] == f"Máy chủ vẫn chạy {n}"
            await other.close()

    run(scenario)
    assert not Presence.objects.exists()  # every socket cleaned up


def test_it_accepts_a_message_of_exactly_the_limit(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(cast.member)
    message = padded(MAX_MESSAGE_BYTES)
    assert len(message.encode()) == MAX_MESSAGE_BYTES

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        head = (await tablet.recv())["seq"]
        await tablet.send(message)
        assert await tablet.recv() == {"type": "pong", "seq": head}
        await tablet.close()

    run(scenario)
