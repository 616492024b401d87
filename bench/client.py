"""A client process of the benchmark: an asyncio loop with many tablets (``bench.tablet``), driven by
commands on a pipe from the runner (``bench.pool.ClientPool``), answering plain dicts.

Each client process measures itself, so the benchmark can say when the clients, not the server,
were the bottleneck: its CPU time over the measured window and the lag of its event loop (a 5 ms
ticker). A command ``op`` runs the method ``op_<op>``: the measurement windows and the fan-out's
marks are here, the socket commands in ``bench.ws_ops``, the HTTP ones in ``bench.http_ops``.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable

from .http_ops import HttpOps
from .tablet import Tablet, now
from .ws_ops import TabletOps


class Worker(TabletOps, HttpOps):
    """One client process: an asyncio loop with many tablets, driven by commands on a pipe."""

    def __init__(self, conn, index: int) -> None:
        self.conn, self.index = conn, index
        self.groups: dict[str, dict[str, Tablet]] = {}
        self.tablets: dict[str, Tablet] = {}  # the group the current command is about
        self.changed = asyncio.Event()
        self.lag_max = 0.0
        self.lag_late: list[float] = []
        self.mark_counts: dict[str, int] = {}
        self.mark_done: dict[str, asyncio.Event] = {}
        self.mark_expect: dict[str, int] = {}
        self.burst: dict[str, list] = {}
        self.window = (now(), time.process_time())
        self.host_port = ("127.0.0.1", 80)

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue = asyncio.Queue()

        def readable() -> None:
            while self.conn.poll():
                try:
                    inbox.put_nowait(self.conn.recv())
                except EOFError:
                    inbox.put_nowait({"op": "exit"})
                    loop.remove_reader(self.conn.fileno())
                    return

        loop.add_reader(self.conn.fileno(), readable)
        ticker = asyncio.create_task(self._ticker())
        while True:
            command = await inbox.get()
            op = command.pop("op")
            if op == "exit":
                break
            self.tablets = self.groups.setdefault(command.pop("group", "main"), {})
            try:
                reply = await getattr(self, f"op_{op}")(**command)
            except Exception:
                reply = {"error": f"client process {self.index}, {op}: {traceback.format_exc()}"}
            self.conn.send(reply)
        ticker.cancel()
        for tablets in self.groups.values():
            self.tablets = tablets
            await self.op_close()
        self.conn.send({"ok": True})

    async def _ticker(self, interval: float = 0.005) -> None:
        while True:
            t = now()
            await asyncio.sleep(interval)
            late = now() - t - interval
            self.lag_late.append(late)
            self.lag_max = max(self.lag_max, late)

    # -- measurement windows ------------------------------------------------------------------------

    def on_mark(self, marker: str, t: float) -> None:
        n = self.mark_counts[marker] = self.mark_counts.get(marker, 0) + 1
        if n == 1:
            self.burst[marker] = [t, time.process_time(), t, time.process_time()]
        else:
            self.burst[marker][2:] = [t, time.process_time()]
        if n >= self.mark_expect.get(marker, 1 << 30) and marker in self.mark_done:
            self.mark_done[marker].set()

    def _load(self, start: tuple[float, float] | None = None) -> dict:
        """CPU share of one core used by this process since ``start`` (default: the last arm), and
        the event-loop lag seen meanwhile."""
        t0, c0 = start or self.window
        wall = now() - t0
        late = sorted(self.lag_late)
        return {"cpu": round((time.process_time() - c0) / wall, 3) if wall > 0 else None,
                "lag_max_ms": round(self.lag_max * 1000, 2),
                "lag_p99_ms": round(late[int(len(late) * 0.99)] * 1000, 2) if late else None,
                "wall": round(wall, 3)}

    async def op_arm(self) -> dict:
        self.window = (now(), time.process_time())
        self.lag_max, self.lag_late = 0.0, []
        return {"t": self.window[0]}

    async def _wait_all(self, done, timeout: float) -> None:
        """Until ``done`` holds for every tablet still connected (a closed one never will)."""
        deadline = now() + timeout
        while now() < deadline and not all(done(t) or t.closed_code is not None for t in self.tablets.values()):
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - now()))

    @staticmethod
    async def _at_most(limit: int, one: Callable[..., Awaitable], items: Iterable) -> list:
        """``one(item)`` for every item at once, but at most ``limit`` of them running; the results in order."""
        gate = asyncio.Semaphore(limit)

        async def gated(item):
            async with gate:
                return await one(item)

        return await asyncio.gather(*(gated(item) for item in items))

    # -- fan-out --------------------------------------------------------------------------------------

    async def op_marks(self, marker: str, wait: float) -> dict:
        """Wait until every tablet has applied the comment ``marker`` (or ``timeout``)."""
        done = self.mark_done.setdefault(marker, asyncio.Event())
        self.mark_expect[marker] = len(self.tablets)
        if self.mark_counts.get(marker, 0) >= len(self.tablets):
            done.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), wait)
        times = [t.marks[marker] for t in self.tablets.values() if marker in t.marks]
        burst = self.burst.get(marker)
        burst_cpu = None
        if burst and burst[2] - burst[0] > 0.005:
            burst_cpu = round((burst[3] - burst[1]) / (burst[2] - burst[0]), 3)
        self.mark_done.pop(marker, None)
        return {"received": [r for r, _a in times], "applied": [a for _r, a in times],
                "missing": len(self.tablets) - len(times),
                "resent": sum(max(0, t.mark_receipts.get(marker, 0) - 1) for t in self.tablets.values()),
                "burst_cpu": burst_cpu, "burst_ms": round((burst[2] - burst[0]) * 1000, 2) if burst else None,
                **self._load()}

    # -- the end --------------------------------------------------------------------------------------

    async def op_stats(self) -> dict:
        tablets = list(self.tablets.values())
        return {"tablets": len(tablets), "received": sum(t.received for t in tablets),
                "resumes_sent": sum(t.resumes_sent for t in tablets),
                "out_of_order": sum(t.out_of_order for t in tablets),
                "closed_unexpectedly": [(t.username, t.closed_code) for t in tablets if t.closed_code is not None],
                "errors": [e for t in tablets for e in t.errors][:10],
                "http_reopened": sum(t.http.reopened for t in tablets if t.http)}

    async def op_close(self) -> dict:
        tablets = list(self.tablets.values())
        self.tablets.clear()
        await self._at_most(64, lambda tablet: tablet.close(), tablets)
        return {"closed": len(tablets)}


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def worker_main(conn, index: int) -> None:
    raise_fd_limit()
    asyncio.run(Worker(conn, index).main())
