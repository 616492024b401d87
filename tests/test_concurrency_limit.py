"""``ecabinet.concurrency.ConcurrencyLimit``: at most HTTP_MAX_CONCURRENCY requests inside Django at
once per process, the others queued first come first served; WebSockets are not limited."""

from __future__ import annotations

import asyncio

import pytest

from ecabinet.asgi import application
from ecabinet.concurrency import ConcurrencyLimit


def test_requests_beyond_the_limit_wait_their_turn_in_arrival_order():
    inside, peak, order = [0], [0], []

    async def app(scope, receive, send):
        inside[0] += 1
        peak[0] = max(peak[0], inside[0])
        order.append(scope["n"])
        await asyncio.sleep(0.02)
        inside[0] -= 1

    limited = ConcurrencyLimit(app, 3)

    async def scenario():
        tasks = []
        for n in range(12):
            tasks.append(asyncio.ensure_future(limited({"type": "http", "n": n}, None, None)))
            await asyncio.sleep(0)  # arrive one after the other
        await asyncio.sleep(0.005)
        assert limited.waiting == 9
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert peak[0] == 3
    assert order == list(range(12))


def test_websockets_are_not_limited():
    inside, peak = [0], [0]

    async def app(scope, receive, send):
        inside[0] += 1
        peak[0] = max(peak[0], inside[0])
        await asyncio.sleep(0.02)
        inside[0] -= 1

    limited = ConcurrencyLimit(app, 1)

    async def scenario():
        await asyncio.gather(*(limited({"type": "websocket"}, None, None) for _ in range(5)))

    asyncio.run(scenario())
    assert peak[0] == 5


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="HTTP_MAX_CONCURRENCY"):
        ConcurrencyLimit(lambda *a: None, 0)


def test_the_server_application_limits_http(settings):
    limit = application.application_mapping["http"]
    assert isinstance(limit, ConcurrencyLimit)
    assert limit.limit == settings.HTTP_MAX_CONCURRENCY >= 1
