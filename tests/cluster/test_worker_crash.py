"""A Daphne worker killed in the middle of a session (SIGKILL: no goodbye to anyone): its tablets
reconnect through nginx, which now sends them to the surviving worker, and resume from the seq they
had; the writes in flight are sent again with their Idempotency-Key. Nothing is lost, nothing is
doubled — on the tablets or in the database."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

from .clients import Tablet, assert_exactly_once, open_session, settle
from .conftest import MEMBERS

WRITES = 90


def test_a_worker_killed_mid_session_loses_and_doubles_nothing(cluster, scenario):
    doomed_url, spared_url = cluster.worker_urls

    async def body(api):
        session = await open_session(api, members=MEMBERS[:10])
        users = itertools.cycle(["secretary", "pm", "guest", *MEMBERS[:10]])
        doomed = [Tablet(api, session.meeting_id, next(users), base=doomed_url).start() for _ in range(8)]
        spared = [Tablet(api, session.meeting_id, next(users), base=spared_url).start() for _ in range(4)]
        # And some through nginx, which put them on either worker.
        tablets = doomed + spared + [Tablet(api, session.meeting_id, next(users), base=api.base).start()
                                    for _ in range(4)]
        await asyncio.gather(*(t.ready.wait() for t in tablets))
        item = f"/agenda-items/{session.item_id}"
        written: list[str] = []

        async def write(writer: str, count: int) -> None:
            for n in range(count):
                text = f"{writer} — ý kiến {n}"
                visibility = "secretariat" if n % 3 == 2 else "shared"
                await api.post(f"{item}/comments/", {"text": text, "visibility": visibility}, user=writer)
                written.append(text)

        writers = asyncio.gather(*(write(w, WRITES // 3) for w in MEMBERS[:3]))
        while len(written) < WRITES // 3:
            await asyncio.sleep(0.05)
        cluster.kill_worker(0)
        await writers
        expected = await settle(api, tablets)
        for tablet in tablets:
            assert_exactly_once(tablet, expected[tablet.user])
        for tablet in doomed:
            assert tablet.connects >= 2, f"{tablet.user} never reconnected"
        for tablet in spared:
            assert tablet.connects == 1
        # The database: every acknowledged comment once, nothing else.
        log = await api.get(f"/meetings/{session.meeting_id}/events/?after_seq=0", user="secretary")
        texts = Counter(e["data"]["comment"]["text"] for e in log["events"] if e["kind"] == "comment.posted")
        assert texts == Counter(written) and set(texts.values()) == {1}
        for tablet in tablets:
            await tablet.stop()

    try:
        scenario(body)
    finally:
        cluster.start_worker(0)
    # The worker serves again on its port.
    scenario(_snapshot_from(doomed_url))


def _snapshot_from(url: str):
    async def body(api):
        tablet = Tablet(api, 1, "secretary", base=url).start()
        await asyncio.wait_for(tablet.ready.wait(), 30)
        await tablet.stop()

    return body
