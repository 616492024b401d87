"""A per-account limit holds across the Daphne workers (``ecabinet.limits`` counting in Redis): a
member's positions (default 60 a minute), sent alternately to both workers, are refused from the
61st on, whichever worker gets it, with 429 ``rate_limited`` and ``Retry-After``; another member is
not affected."""

from __future__ import annotations

import asyncio
import time

from .clients import open_session
from .conftest import MEMBERS

LIMIT = 60  # RATE_POSITIONS_PER_MINUTE's default


def test_the_positions_limit_is_shared_by_the_workers(cluster, scenario):
    a, b = cluster.worker_urls

    async def body(api):
        session = await open_session(api, members=MEMBERS[:3], title="Phiên họp thử giới hạn")
        path = f"/api/v1/agenda-items/{session.item_id}/position/"
        if time.time() % 60 > 40:  # the count must not straddle two minute windows
            await asyncio.sleep(60 - time.time() % 60 + 0.5)

        async def mark(base: str, user: str, n: int) -> tuple[int, dict, str | None]:
            async with api.http.post(f"{base}{path}", json={"value": "object" if n % 2 else "no_objection"},
                                     headers=api.headers(user)) as response:
                return response.status, await response.json(content_type=None), response.headers.get("Retry-After")

        answers = [await mark(a if n % 2 else b, MEMBERS[2], n) for n in range(LIMIT)]
        assert [status for status, _body, _retry in answers] == [200] * LIMIT
        for base in (a, b):
            status, payload, retry = await mark(base, MEMBERS[2], 0)
            assert (status, payload["code"]) == (429, "rate_limited") and 1 <= int(retry) <= 60
        assert (await mark(a, MEMBERS[1], 0))[0] == 200

    scenario(body)
