"""The fan-out smoke of the CI (issue #6, "Done means"): 50 tablets through nginx on two workers,
200 events from several writers and for several audiences; every tablet ends with exactly the events
the database holds for it, each once, in order, and no event is sent to a socket twice. No timing
is asserted: the tablets are only waited for."""

from __future__ import annotations

import asyncio
import itertools

from .clients import Tablet, assert_exactly_once, open_session, settle
from .conftest import MEMBERS

TABLETS = 50
EVENTS = 200


def test_it_delivers_every_event_to_every_tablet_exactly_once(cluster, scenario):
    async def body(api):
        session = await open_session(api, members=MEMBERS)
        users = itertools.cycle(["secretary", "pm", "guest", *MEMBERS])
        tablets = [Tablet(api, session.meeting_id, next(users), base=api.base).start() for _ in range(TABLETS)]
        await asyncio.gather(*(t.ready.wait() for t in tablets))
        item = f"/agenda-items/{session.item_id}"
        writers = MEMBERS[:5]
        visibility = itertools.cycle(["shared", "shared", "secretariat", "private"])

        async def write(writer: str, count: int) -> None:
            for n in range(count):
                await api.post(f"{item}/comments/", {"text": f"{writer} {n}", "visibility": next(visibility)},
                               user=writer)

        await asyncio.gather(*(write(w, EVENTS // len(writers)) for w in writers))
        expected = await settle(api, tablets)
        for tablet in tablets:
            assert_exactly_once(tablet, expected[tablet.user])
        assert sum(len(t.applied) for t in tablets) >= TABLETS * EVENTS // 4  # not vacuous
        for tablet in tablets:
            await tablet.stop()

    scenario(body)
