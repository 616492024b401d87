"""The reconnect storm's smoke (issue 19): many tablets open their sockets to one Daphne worker at
the same moment — as after a Wi-Fi blip in the hall — and every one gets its snapshot on its first
attempt: no handshake dropped, none refused. The worker runs the production command
(``deploy/daphne_process.py``: listen backlog, handshake timeout) and the admission queue
(``hotpath.admission``). No timing is asserted: the tablets are only waited for.

With Daphne's former defaults (a backlog of 50, a handshake timeout of 5 s) and no admission
queue, handshakes of such a storm were dropped before any answer ("connection closed while reading
the status line") and the tablets had to retry. ``bench/storm.py`` measures the same storm.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import aiohttp

from .clients import open_session
from .conftest import MEMBERS

# Seven sockets an account at most (WS_MAX_SOCKETS_PER_ACCOUNT is 8: an eighth would close the oldest).
ACCOUNTS = ["secretary", "pm", "guest", *MEMBERS]
TABLETS = 200
WAIT_SECONDS = 120  # a wait, not a measure: a dropped handshake fails at once, not by this


def test_every_tablet_of_a_storm_gets_its_snapshot_on_the_first_attempt(cluster, scenario):
    worker = cluster.worker_urls[0]

    async def body(api):
        session = await open_session(api, members=MEMBERS, title="Phiên họp: kết nối lại đồng loạt")
        url = f"{worker.replace('http', 'ws', 1)}/ws/meetings/{session.meeting_id}/"
        users = list(itertools.islice(itertools.cycle(ACCOUNTS), TABLETS))
        go = asyncio.Event()
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        connector = aiohttp.TCPConnector(limit=0)  # no client-side gate: all at once
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:

            async def tablet(user: str) -> str:
                await go.wait()
                try:
                    ws = await http.ws_connect(url, headers=api.headers(user, Origin=worker), max_msg_size=0,
                                               timeout=aiohttp.ClientWSTimeout(ws_receive=WAIT_SECONDS))
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    return f"{user}: handshake failed: {type(exc).__name__}: {exc}"
                sockets.append(ws)
                message = await ws.receive(timeout=WAIT_SECONDS)
                if message.type != aiohttp.WSMsgType.TEXT:
                    return f"{user}: no snapshot, {message.type.name} {ws.close_code}"
                kind = json.loads(message.data).get("type")
                return "ok" if kind in ("snapshot", "snapshot.part") else f"{user}: first message {kind}"

            tasks = [asyncio.ensure_future(tablet(user)) for user in users]
            await asyncio.sleep(0.1)
            go.set()
            outcomes = await asyncio.gather(*tasks)
            failures = [o for o in outcomes if o != "ok"]
            assert not failures, f"{len(failures)} of {TABLETS} tablets: {failures[:5]}"
            assert len(sockets) == TABLETS
            await asyncio.gather(*(ws.close() for ws in sockets))

    scenario(body)
