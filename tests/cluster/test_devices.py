"""Revoking a device on one Daphne process closes the room socket it opened on another within a
second (issue 15), through Redis; the socket of another device of the same person stays open."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from .clients import open_session
from .conftest import MEMBERS


async def sign_in(http, base: str, device: str) -> dict:
    async with http.post(f"{base}/api/v1/auth/token", json={"username": "member05", "password": "ecabinet-demo",
                                                            "device": device}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def test_a_device_revoked_on_one_worker_loses_its_socket_on_the_other_within_a_second(cluster, scenario):
    a, b = cluster.worker_urls

    async def body(api):
        session = await open_session(api, members=[*MEMBERS[:2], "member05"])
        lost, kept = await sign_in(api.http, b, "Máy bị mất"), await sign_in(api.http, b, "Máy còn dùng")
        url = f"{a.replace('http', 'ws', 1)}/ws/meetings/{session.meeting_id}/"
        sockets = []
        for device in (lost, kept):
            ws = await api.http.ws_connect(url, headers={"Authorization": f"Token {device['token']}", "Origin": a})
            assert json.loads((await ws.receive(timeout=5)).data)["type"] == "snapshot"
            sockets.append(ws)
        started = time.monotonic()
        async with api.http.post(f"{b}/api/v1/auth/devices/{lost['device_id']}/revoke/",
                                 headers={"Authorization": f"Token {kept['token']}"}) as response:
            assert response.status == 200, await response.text()
        closed = await sockets[0].receive(timeout=1)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closed
        assert sockets[0].close_code == 4401
        assert time.monotonic() - started < 1.5  # one second after the commit, plus the HTTP round trip
        await sockets[1].send_str(json.dumps({"type": "ping"}))
        while json.loads((await sockets[1].receive(timeout=3)).data)["type"] != "pong":
            pass
        assert not sockets[1].closed
        for ws in sockets:
            await ws.close()
        await asyncio.sleep(0)

    scenario(body)
