"""``hotpath.http_handler.PooledASGIHandler``: Django in sync mode, each request's synchronous work
in one call on a fixed pool of threads, the pool being the concurrency limit.

The handler is driven as Daphne drives it (ASGI messages), with views that touch no database."""

from __future__ import annotations

import asyncio
import json

import pytest

from ecabinet.asgi import application
from hotpath.http_handler import STREAM_BATCH_BYTES, PooledASGIHandler

from ..asgi import call
from . import urls

pytestmark = pytest.mark.urls("tests.http.urls")


@pytest.fixture
def handler():
    urls.SEEN.clear()
    urls.STARTED.clear()
    urls.RELEASE.clear()
    handler = PooledASGIHandler(2)
    yield handler
    urls.RELEASE.set()
    handler.executor.shutdown(wait=True)


def test_it_runs_the_middleware_and_the_view_on_a_pool_thread(handler):
    answer = asyncio.run(call(handler, "/where/", method="POST", body=b"hello"))
    assert answer["status"] == 200
    data = json.loads(answer["body"])
    assert data["thread"].startswith("http") and data["body"] == "hello"
    # The middleware ran: the language header and the security headers are there.
    assert answer["headers"]["content-language"] == "en"
    assert answer["headers"]["x-frame-options"] == "DENY"
    assert answer["headers"]["x-content-type-options"] == "nosniff"


def test_requests_beyond_the_pool_wait_their_turn_in_arrival_order(handler):
    async def scenario():
        tasks = []
        for n in range(8):
            tasks.append(asyncio.ensure_future(call(handler, "/where/", query=f"n={n}&sleep=0.05")))
            await asyncio.sleep(0.005)  # arrive one after the other
        await asyncio.sleep(0.02)
        waiting = handler.waiting
        answers = await asyncio.gather(*tasks)
        return waiting, answers

    waiting, answers = asyncio.run(scenario())
    assert waiting >= 4  # two run, the others queue
    assert all(a["status"] == 200 for a in answers)
    assert [s["n"] for s in urls.SEEN] == [str(n) for n in range(8)]
    assert len({s["thread"] for s in urls.SEEN}) <= 2


def test_a_busy_pool_does_not_stop_the_event_loop(handler):
    async def scenario():
        slow = [asyncio.ensure_future(call(handler, "/blocked/")) for _ in range(2)]
        await asyncio.get_running_loop().run_in_executor(None, urls.STARTED.wait, 5)
        ticks = 0
        for _ in range(5):  # the loop keeps running while both pool threads are blocked
            await asyncio.sleep(0.01)
            ticks += 1
        queued = asyncio.ensure_future(call(handler, "/where/"))
        await asyncio.sleep(0.05)
        assert not queued.done()  # it waits for a free thread
        urls.RELEASE.set()
        return ticks, await asyncio.gather(*slow), await queued

    ticks, slow, queued = asyncio.run(scenario())
    assert ticks == 5
    assert [a["body"] for a in slow] == [b"released", b"released"]
    assert queued["status"] == 200


def test_the_language_of_one_request_does_not_leak_into_the_next(handler):
    async def scenario():
        english = await call(handler, "/where/", headers=[(b"cookie", b"django_language=vi")])
        default = await call(handler, "/where/")
        return english, default

    chosen, default = asyncio.run(scenario())
    assert json.loads(chosen["body"])["language"] == "vi"
    assert json.loads(default["body"])["language"] == "en"  # LANGUAGE_CODE in the tests


def test_a_streaming_response_is_sent_in_order_in_several_trips(handler):
    size = STREAM_BATCH_BYTES // 2 + 1  # two parts fill a trip
    answer = asyncio.run(call(handler, "/stream/", query=f"parts=7&size={size}"))
    assert answer["status"] == 200
    assert answer["body"] == b"".join(bytes([65 + i]) * size for i in range(7))
    assert answer["parts"] >= 7 + 1  # every part, then the closing message


def test_a_failing_view_answers_500_and_the_pool_carries_on(handler):
    async def scenario():
        return await call(handler, "/boom/"), await call(handler, "/where/")

    failed, after = asyncio.run(scenario())
    assert failed["status"] == 500
    assert after["status"] == 200


def test_a_pool_of_no_threads_is_refused():
    with pytest.raises(ValueError, match="HTTP_MAX_CONCURRENCY"):
        PooledASGIHandler(0)


def test_the_server_application_serves_http_from_a_pool_of_the_configured_size(settings):
    http = application.application_mapping["http"].app.django  # behind the body cap and the vote intake
    assert isinstance(http, PooledASGIHandler)
    assert http.threads == settings.HTTP_MAX_CONCURRENCY >= 1
