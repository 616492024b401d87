"""What the tablets do over their sockets, as commands of a client process (``bench.client.Worker``):
connect a group, the reconnect storm, resume to the head, and wait for what the tablets show of a
motion (opened, tally, result).

A failed handshake is retried as a tablet retries it (``open_retrying``: backoff from 0.5 s, doubling
up to 15 s, jittered), whether the tablets connect a few at a time (``op_connect``) or all at once
(``op_storm_start``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from .tablet import Tablet, counts_match, now


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (0: the first), as a tablet waits."""
    return min(15.0, 0.5 * 2**attempt) * random.uniform(0.5, 1)


async def open_retrying(make: Callable[[], Tablet], open_one: Callable[[Tablet], Awaitable[None]], attempts: int,
                        failed: Callable[[Exception, bool], None]) -> tuple[Tablet, int] | None:
    """Open a new tablet (``make``, ``open_one``) up to ``attempts`` times, waiting ``backoff`` between;
    ``failed(exc, last)`` hears of every failed attempt, whose tablet is closed. The open tablet and
    its attempt (0: the first), or None."""
    for attempt in range(attempts):
        tablet = make()
        try:
            await open_one(tablet)
            return tablet, attempt
        except asyncio.CancelledError:
            await tablet.close()
            raise
        except Exception as exc:
            await tablet.close()
            last = attempt == attempts - 1
            failed(exc, last)
            if last:
                return None
            await asyncio.sleep(backoff(attempt))
    return None


async def settle(tasks: list[asyncio.Task], deadline: float) -> set[asyncio.Task]:
    """Wait up to ``deadline`` seconds for ``tasks``; cancel those not done (30 s to end). Those."""
    _done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=30)
    return pending


class _NoMarks:
    """The worker as a storm's tablets see it: their marks are not counted (``op_storm_start``)."""

    def __init__(self, changed: asyncio.Event) -> None:
        self.changed = changed

    def on_mark(self, marker: str, t: float) -> None:
        return None


class TabletOps:
    """The socket commands of ``bench.client.Worker`` (which holds ``tablets``, ``changed``, ``_load``
    and ``_wait_all``)."""

    tablets: dict[str, Tablet]
    changed: asyncio.Event
    host_port: tuple

    async def op_connect(self, ws_url: str, origin: str, http: list, meeting: int, tablets: list,
                         after_seq: int | None = None, concurrency: int = 16, open_timeout: float = 60,
                         ping_interval: float | None = 20, attempts: int = 5, deadline: float = 600) -> dict:
        """Connect ``tablets``, ``concurrency`` handshakes at a time, each retried with backoff up to
        ``attempts`` times; those not connected after ``deadline`` seconds count as failed."""
        self.host_port = tuple(http)
        gate = asyncio.Semaphore(concurrency)
        failures: list[str] = []
        retries = 0
        started = now()
        connected_before = len(self.tablets)

        async def one(username: str, token: str, cookie: str | None) -> None:
            def failed(exc: Exception, last: bool) -> None:
                nonlocal retries
                if last:
                    failures.append(f"{username}: {type(exc).__name__}: {exc}")
                else:
                    retries += 1

            async def open_one(tablet: Tablet) -> None:
                async with gate:
                    await tablet.open(ws_url, origin, meeting, after_seq, open_timeout, ping_interval)

            opened = await open_retrying(lambda: Tablet(self, username, token, cookie), open_one, attempts, failed)
            if opened is not None:
                self.tablets[username] = opened[0]

        pending = await settle([asyncio.create_task(one(*t)) for t in tablets], deadline)
        if pending:
            failures.append(f"{len(pending)} tablets not connected within {deadline:.0f} s")
        new = [self.tablets[u] for u, *_rest in tablets if u in self.tablets]
        return {"connected": len(self.tablets), "failed": failures, "retries": retries,
                "unconnected": len(tablets) - len(self.tablets) + connected_before,
                "seconds": round(now() - started, 2),
                "open_seconds": [t.open_seconds for t in new if t.open_seconds is not None],
                "bytes_on_connect": [t.bytes_on_connect for t in new]}

    async def op_storm_start(self, ws_url: str, origin: str, meeting: int, tablets: list, go_at: float,
                             open_timeout: float = 60, attempts: int = 5, ping_interval: float | None = 20) -> dict:
        """The reconnect storm (``bench.storm``): at ``go_at`` (the machine's monotonic clock) every
        tablet opens its socket at once, no gate; each failed attempt is retried with backoff as a
        tablet would. Returns at once; ``op_storm_result`` waits for the outcome. The storm's
        tablets do not count towards the marks of the group being measured meanwhile."""
        group = self.tablets
        record: dict = {"go_at": go_at, "ready": [], "handshake": [], "errors": [], "attempts_failed": 0,
                        "retried": 0, "failed": [], "started": []}
        quiet = _NoMarks(self.changed)

        async def one(username: str, token: str, cookie: str | None) -> None:
            await asyncio.sleep(max(0.0, go_at - now()))
            record["started"].append(now() - go_at)

            def failed(exc: Exception, last: bool) -> None:
                record["attempts_failed"] += 1
                if len(record["errors"]) < 20:
                    record["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
                if last:
                    record["failed"].append(username)

            async def open_one(tablet: Tablet) -> None:
                await tablet.open(ws_url, origin, meeting, None, open_timeout, ping_interval,
                                  on_handshake=lambda: record["handshake"].append(now() - go_at))
                record["ready"].append(now() - go_at)

            opened = await open_retrying(lambda: Tablet(quiet, username, token, cookie), open_one, attempts, failed)
            if opened is not None:
                tablet, attempt = opened
                group[username] = tablet
                record["retried"] += attempt > 0

        self._storm = (record, [asyncio.create_task(one(*t)) for t in tablets],
                       (now(), time.process_time()))
        return {"tablets": len(tablets)}

    async def op_storm_status(self) -> dict:
        record, tasks, _start = self._storm
        return {"done": sum(t.done() for t in tasks), "ready": len(record["ready"]), "total": len(tasks)}

    async def op_storm_result(self, deadline: float = 600) -> dict:
        record, tasks, start = self._storm
        pending = await settle(tasks, deadline)
        return {**{k: v for k, v in record.items() if k != "go_at"}, "unfinished": len(pending),
                **self._load(start)}

    async def op_sync(self, wait: float = 60) -> dict:
        """Every tablet resumes from its seq, so it knows the head (events it may not see move
        the head without telling it). Returns the heads."""
        async def one(tablet: Tablet) -> int | None:
            before = tablet.resumed_count
            tablet.resumed_changed.clear()
            if tablet.tracker is None or tablet.closed_code is not None:
                return None
            if not tablet.tracker.resuming:
                await tablet._send_resume(jump=False)
            while tablet.resumed_count == before:
                await tablet.resumed_changed.wait()
                tablet.resumed_changed.clear()
            return tablet.tracker.seq

        heads = await asyncio.wait_for(asyncio.gather(*(one(t) for t in self.tablets.values())), wait)
        return {"heads": sorted({h for h in heads if h is not None}), "unsynced": sum(h is None for h in heads)}

    # -- votes, as the tablets show them -------------------------------------------------------------

    async def op_wait_open(self, motion: int, wait: float) -> dict:
        await self._wait_all(lambda tablet: motion in tablet.opened, wait)
        return {"open": sum(motion in t.opened for t in self.tablets.values()),
                "missing": sum(motion not in t.opened for t in self.tablets.values())}

    async def op_tally(self, motion: int, final: list, wait: float, late_after: float | None = None) -> dict:
        """When each tablet first showed the final counts; how the late ones (after ``late_after``)
        got there."""
        final = tuple(final)

        def first(tablet: Tablet) -> float | None:
            return next((t for t, counts in tablet.tallies.get(motion, []) if counts_match(counts, final)), None)

        await self._wait_all(lambda tablet: first(tablet) is not None, wait)
        times = [first(t) for t in self.tablets.values()]
        late = [t for t, when in zip(self.tablets.values(), times, strict=True)
                if when is None or (late_after is not None and when > late_after)]
        return {"times": [t for t in times if t is not None], "missing": sum(t is None for t in times),
                "late": [{"username": t.username, "seq": t.tracker.seq if t.tracker else None,
                          "resuming": t.tracker.resuming if t.tracker else None,
                          "buffered": sorted(t.tracker.buffer)[:10] if t.tracker else None,
                          "resumes_sent": t.resumes_sent, "closed": t.closed_code,
                          "tallies": [(round(when - (late_after or 0), 3), c)
                                      for when, c in t.tallies.get(motion, [])[-3:]]} for t in late[:5]],
                "tally_updates": sum(len(t.tallies.get(motion, [])) for t in self.tablets.values()), **self._load()}

    async def op_result(self, motion: int, wait: float) -> dict:
        """When each tablet first showed the motion's result, and the counts it showed."""
        await self._wait_all(lambda tablet: motion in tablet.results, wait)
        seen = [t.results[motion] for t in self.tablets.values() if motion in t.results]
        return {"times": [t for t, _c in seen], "counts": sorted({c for _t, c in seen if c is not None}),
                "missing": len(self.tablets) - len(seen), **self._load()}

    async def op_state(self, motion: int) -> dict:
        """What each tablet shows for the motion now (after a sync)."""
        return {"counts": [self.tablets[u].counts.get(motion) for u in self.tablets],
                "results": [self.tablets[u].results.get(motion, (None, None))[1] for u in self.tablets]}

