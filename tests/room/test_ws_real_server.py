"""The room socket on a real Daphne process (``tests/room/realserver.py``): what a tablet sees goes
through autobahn's rules, which the in-process communicator does not apply."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from meetings.consumers import CLOSE_TOO_BIG, MAX_MESSAGE_BYTES

from . import realserver

LIVE_MEETING_SCRIPT = """
from meetings.models import Meeting
print(Meeting.objects.filter(status__in=["published", "in_progress"], participants__user__username="member01")
      .order_by("pk").values_list("pk", flat=True).first())
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from realserver.start(tmp_path_factory.mktemp("room-daphne"))


def _run(body):
    async def main():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            return await body(http)
    return asyncio.run(main())


async def _open(http, server, username: str, meeting_id: int):
    ws = await http.ws_connect(f"{server.ws_base}/ws/meetings/{meeting_id}/", headers=server.headers(username),
                               max_msg_size=0, autoping=True)
    first = await ws.receive(timeout=10)
    assert first.type == aiohttp.WSMsgType.TEXT, first
    return ws, json.loads(first.data)


def test_it_closes_an_oversized_message_with_1009_not_1011(server):
    meeting_id = int(server.shell(LIVE_MEETING_SCRIPT))

    async def body(http):
        codes = []
        for payload in ("x" * (MAX_MESSAGE_BYTES + 1), "ệ" * (MAX_MESSAGE_BYTES // 3 + 1),
                        b"\0" * (MAX_MESSAGE_BYTES + 1)):
            ws, snapshot = await _open(http, server, "member01", meeting_id)
            assert snapshot["type"] == "snapshot"
            if isinstance(payload, bytes):
                await ws.send_bytes(payload)
            else:
                await ws.send_str(payload)
            message = await ws.receive(timeout=10)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message
            codes.append(ws.close_code)
            await ws.close()
        # The server is still there for everyone else: a message of exactly the limit is answered.
        ws, snapshot = await _open(http, server, "member02", meeting_id)
        base = json.dumps({"type": "ping", "pad": ""})
        await ws.send_str(json.dumps({"type": "ping", "pad": "x" * (MAX_MESSAGE_BYTES - len(base))}))
        pong = json.loads((await ws.receive(timeout=10)).data)
        await ws.close()
        return codes, pong, snapshot["seq"]

    codes, pong, head = _run(body)
    assert codes == [CLOSE_TOO_BIG] * 3
    assert pong == {"type": "pong", "seq": head}
