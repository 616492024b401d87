"""The benchmark's client processes (bench/pool.py, bench/client.py, bench/ws_ops.py, bench/http_ops.py):
a failed handshake is retried as a tablet retries it and every failure is heard of, whether the
tablets connect a few at a time or in a storm; a pool's processes answer the worker's commands."""

from __future__ import annotations

import asyncio

import pytest

from bench import ws_ops
from bench.pool import ClientError, ClientPool


class FakeTablet:
    def __init__(self, outcome: BaseException | None) -> None:
        self.outcome, self.closed = outcome, False

    async def open(self) -> None:
        if self.outcome is not None:
            raise self.outcome

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The backoff's sleeps, recorded instead of slept; the jitter at its top."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(ws_ops.asyncio, "sleep", sleep)
    monkeypatch.setattr(ws_ops.random, "uniform", lambda low, high: high)
    return slept


def _open(outcomes: list[BaseException | None], attempts: int):
    made: list[FakeTablet] = []
    heard: list[tuple[str, bool]] = []

    def make() -> FakeTablet:
        made.append(FakeTablet(outcomes[len(made)]))
        return made[-1]

    async def open_one(tablet: FakeTablet) -> None:
        await tablet.open()

    def failed(exc: Exception, last: bool) -> None:
        heard.append((str(exc), last))

    opened = asyncio.run(ws_ops.open_retrying(make, open_one, attempts, failed))
    return opened, made, heard


def test_a_failed_handshake_is_retried_with_backoff_until_it_opens(waits):
    opened, made, heard = _open([OSError("dropped"), TimeoutError("no snapshot"), None], attempts=5)
    assert opened == (made[2], 2)
    assert heard == [("dropped", False), ("no snapshot", False)]
    assert [t.closed for t in made] == [True, True, False]
    assert waits == [0.5, 1.0]


def test_the_last_failed_attempt_is_reported_as_the_last_and_nothing_opens(waits):
    opened, made, heard = _open([OSError("a"), OSError("b"), OSError("c")], attempts=3)
    assert opened is None
    assert heard == [("a", False), ("b", False), ("c", True)]
    assert all(t.closed for t in made)
    assert waits == [0.5, 1.0]  # no wait after the last


def test_a_cancelled_handshake_closes_its_tablet_and_is_not_a_failure(waits):
    tablet = FakeTablet(asyncio.CancelledError())

    async def open_one(tablet: FakeTablet) -> None:
        await tablet.open()

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(ws_ops.open_retrying(lambda: tablet, open_one, 5, lambda exc, last: pytest.fail("a failure")))
    assert tablet.closed and waits == []


def test_the_backoff_doubles_up_to_fifteen_seconds(waits):
    assert [ws_ops.backoff(n) for n in (0, 1, 4, 5, 9)] == [0.5, 1.0, 8.0, 15.0, 15.0]


def test_settle_cancels_what_is_not_done_by_the_deadline():
    async def scenario():
        quick = asyncio.create_task(asyncio.sleep(0))
        stuck = asyncio.create_task(asyncio.sleep(60))
        pending = await ws_ops.settle([quick, stuck], 0.05)
        assert pending == {stuck} and stuck.cancelled()  # before the loop ends, which cancels what is left
        assert quick.done() and not quick.cancelled()

    asyncio.run(asyncio.wait_for(scenario(), 5))


def test_a_pools_processes_answer_the_workers_commands():
    with ClientPool(2) as pool:
        assert [sorted(r) for r in pool.call("arm")] == [["t"], ["t"]]
        assert pool.call("open_http") == [{"open": 0}] * 2  # an HTTP command
        assert pool.call("state", motion=1) == [{"counts": [], "results": []}] * 2  # a socket command
        assert [r["tablets"] for r in pool.call("stats")] == [0, 0]
        assert pool.call("close") == [{"closed": 0}] * 2
        with pytest.raises(ClientError, match="op_nonsense"):  # last: the other process's error stays unread
            pool.call("nonsense")
