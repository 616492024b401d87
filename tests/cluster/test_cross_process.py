"""An event made on one Daphne process reaches a tablet served by another (DESIGN.md §4: "a vote cast
on process A reaches tablets on process B"), through Redis — both ways, for every audience."""

from __future__ import annotations

import asyncio

from .clients import Tablet, assert_exactly_once, open_session, settle
from .conftest import MEMBERS


def test_it_carries_events_from_one_worker_to_tablets_on_the_other(cluster, scenario):
    a, b = cluster.worker_urls

    async def body(api):
        session = await open_session(api, members=MEMBERS[:4])
        # Each tablet is served by one worker; every write goes to the other.
        on_a = [Tablet(api, session.meeting_id, user, base=a).start() for user in ("member01", "secretary")]
        on_b = [Tablet(api, session.meeting_id, user, base=b).start() for user in ("member02", "pm", "guest")]
        tablets = on_a + on_b
        await asyncio.gather(*(t.ready.wait() for t in tablets))
        item = f"/agenda-items/{session.item_id}"
        for n in range(5):
            await api.post(f"{item}/comments/", {"text": f"Từ máy B {n}"}, user="member03", base=b)
            await api.post(f"{item}/comments/", {"text": f"Từ máy A {n}"}, user="member04", base=a)
            await api.post(f"{item}/comments/", {"text": f"Riêng {n}", "visibility": "secretariat"}, user="member03",
                           base=b)
            await api.post(f"{item}/position/", {"value": "object" if n % 2 else "no_objection"}, user="member01",
                           base=b)
        expected = await settle(api, tablets)
        for tablet in tablets:
            assert_exactly_once(tablet, expected[tablet.user])
            assert tablet.connects == 1
        # Every tablet saw the comments written on the other worker.
        assert len([s for s in on_a[0].live if s in expected["member01"]]) >= 10
        for tablet in tablets:
            await tablet.stop()

    scenario(body)
