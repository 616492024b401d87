"""Tablets: real WebSocket clients of ``/ws/meetings/<id>/`` (docs/protocol.md), spread over several
client processes, each running asyncio with many connections (the tablet itself: ``bench.tablet``).

Each client process measures itself, so the benchmark can say when the clients, not the server,
were the bottleneck: its CPU time over the measured window and the lag of its event loop (a 5 ms
ticker). The parent process (``ClientPool``) sends commands over a pipe and gets plain dicts back.

Longer than 400 lines: ``Worker`` is one class with one ``op_*`` method per benchmark command, each
the measuring side of one scenario; split, they would be harder to compare with each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import random
import resource
import time
import traceback
import uuid

from .httpclient import AsyncHttp
from .tablet import Tablet, counts_match, json_object, now


class Worker:
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

    # -- connecting ---------------------------------------------------------------------------------

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
            nonlocal retries
            for attempt in range(attempts):
                tablet = Tablet(self, username, token, cookie)
                try:
                    async with gate:
                        await tablet.open(ws_url, origin, meeting, after_seq, open_timeout, ping_interval)
                    self.tablets[username] = tablet
                    return
                except asyncio.CancelledError:
                    await tablet.close()
                    raise
                except Exception as exc:
                    await tablet.close()
                    if attempt == attempts - 1:
                        failures.append(f"{username}: {type(exc).__name__}: {exc}")
                        return
                    retries += 1
                    await asyncio.sleep(min(15.0, 0.5 * 2**attempt) * random.uniform(0.5, 1))

        tasks = [asyncio.create_task(one(*t)) for t in tablets]
        _done, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=30)
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
            for attempt in range(attempts):
                tablet = Tablet(quiet, username, token, cookie)
                try:
                    await tablet.open(ws_url, origin, meeting, None, open_timeout, ping_interval,
                                      on_handshake=lambda: record["handshake"].append(now() - go_at))
                    record["ready"].append(now() - go_at)
                    group[username] = tablet
                    record["retried"] += attempt > 0
                    return
                except asyncio.CancelledError:
                    await tablet.close()
                    raise
                except Exception as exc:
                    await tablet.close()
                    record["attempts_failed"] += 1
                    if len(record["errors"]) < 20:
                        record["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
                    if attempt == attempts - 1:
                        record["failed"].append(username)
                        return
                    await asyncio.sleep(min(15.0, 0.5 * 2**attempt) * random.uniform(0.5, 1))

        self._storm = (record, [asyncio.create_task(one(*t)) for t in tablets],
                       (now(), time.process_time()))
        return {"tablets": len(tablets)}

    async def op_storm_status(self) -> dict:
        record, tasks, _start = self._storm
        return {"done": sum(t.done() for t in tasks), "ready": len(record["ready"]), "total": len(tasks)}

    async def op_storm_result(self, deadline: float = 600) -> dict:
        record, tasks, start = self._storm
        _done, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=30)
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

    async def op_open_http(self) -> dict:
        """One keep-alive HTTP connection per tablet, opened ahead (tablets have theirs open)."""
        async def one(tablet: Tablet) -> None:
            tablet.http = AsyncHttp(*self.host_port)
            await tablet.http.open()

        gate = asyncio.Semaphore(32)

        async def gated(tablet: Tablet) -> None:
            async with gate:
                await one(tablet)

        await asyncio.gather(*(gated(t) for t in self.tablets.values()))
        return {"open": len(self.tablets)}

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

    # -- votes ----------------------------------------------------------------------------------------

    async def op_wait_open(self, motion: int, wait: float) -> dict:
        await self._wait_all(lambda tablet: motion in tablet.opened, wait)
        return {"open": sum(motion in t.opened for t in self.tablets.values()),
                "missing": sum(motion not in t.opened for t in self.tablets.values())}

    async def op_vote(self, motion: int, choices: dict, keys: dict, go_at: float) -> dict:
        """At ``go_at`` (the machine's monotonic clock, the same in every process) every tablet
        named in ``choices`` POSTs its vote at once."""
        await asyncio.sleep(max(0.0, go_at - now()))
        start = (now(), time.process_time())

        async def one(username: str) -> dict:
            tablet = self.tablets[username]
            body = json.dumps({"choice": choices[username]}).encode()
            headers = {**tablet.auth_headers(), "Content-Type": "application/json", "Idempotency-Key": keys[username]}
            t0 = now()
            try:
                status, _headers, data = await tablet.http.request("POST", f"/api/v1/motions/{motion}/votes/",
                                                                       headers, body)
            except Exception as exc:
                return {"username": username, "t0": t0, "t1": now(), "status": None, "error": repr(exc)}
            t1 = now()
            decoded = json_object(data)
            return {"username": username, "choice": choices[username], "t0": t0, "t1": t1, "status": status,
                    "receipt": decoded.get("receipt"),
                    "code": decoded.get("code") or (None if status == 201 else data[:120].decode(errors="replace"))}

        acks = await asyncio.gather(*(one(u) for u in choices))
        return {"acks": acks, **self._load(start)}

    async def op_retry(self, motion: int, choices: dict, keys: dict) -> dict:
        """Exactly once under retries: the same request again (same Idempotency-Key) must answer the
        first response, replayed; a new request (new key) must be refused with 409."""
        async def one(username: str) -> tuple:
            tablet = self.tablets[username]
            body = json.dumps({"choice": choices[username]}).encode()
            base = {**tablet.auth_headers(), "Content-Type": "application/json"}
            path = f"/api/v1/motions/{motion}/votes/"
            s1, h1, d1 = await tablet.http.request("POST", path, {**base, "Idempotency-Key": keys[username]}, body)
            s2, _h2, d2 = await tablet.http.request("POST", path, {**base, "Idempotency-Key": str(uuid.uuid4())}, body)
            code2 = json_object(d2).get("code") or d2[:200].decode(errors="replace")
            return s1, h1.get("idempotent-replayed") == "true", json_object(d1).get("receipt"), s2, code2

        gate = asyncio.Semaphore(16)

        async def gated(username: str) -> tuple:
            async with gate:
                return await one(username)

        results = await asyncio.gather(*(gated(u) for u in choices))
        return {"results": {u: r for u, r in zip(choices, results, strict=True)}}

    async def op_verify(self, motion: int, receipts: dict) -> dict:
        """Each voter checks its receipt against the published record (after the close)."""
        gate = asyncio.Semaphore(16)

        async def one(username: str, receipt: str, choice: str) -> bool:
            tablet = self.tablets[username]
            body = json.dumps({"receipt": receipt}).encode()
            async with gate:
                status, _h, data = await tablet.http.request(
                    "POST", f"/api/v1/motions/{motion}/verify-receipt/",
                    {**tablet.auth_headers(), "Content-Type": "application/json",
                     "Idempotency-Key": str(uuid.uuid4())}, body)
            answer = json_object(data) if status == 200 else {}
            return bool(answer.get("found")) and answer.get("choice") == choice

        found = await asyncio.gather(*(one(u, r, c) for u, (r, c) in receipts.items()))
        return {"found": sum(found)}

    async def _wait_all(self, done, timeout: float) -> None:
        """Until ``done`` holds for every tablet still connected (a closed one never will)."""
        deadline = now() + timeout
        while now() < deadline and not all(done(t) or t.closed_code is not None for t in self.tablets.values()):
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - now()))

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

    # -- pages ----------------------------------------------------------------------------------------

    async def op_http_load(self, clients: list, http: list, path: str, cookie: bool, requests: int) -> dict:
        """Each client (an account with its own keep-alive connection) GETs ``path`` ``requests``
        times back to back; all clients at once."""
        self.host_port = tuple(http)
        start = (now(), time.process_time())
        self.lag_max, self.lag_late = 0.0, []

        async def one(username: str, token: str, session: str) -> list:
            tablet = Tablet(self, username, token, session)
            conn = AsyncHttp(*self.host_port)
            headers = tablet.auth_headers(cookie=cookie)
            out = []
            try:
                for _ in range(requests):
                    t0 = now()
                    status, _h, body = await conn.request("GET", path, headers)
                    out.append((now() - t0, status, len(body)))
            finally:
                await conn.close()
            return out

        results = await asyncio.gather(*(one(*c) for c in clients))
        samples = [s for r in results for s in r]
        return {"latencies": [s[0] for s in samples], "statuses": [s[1] for s in samples],
                "bytes": [s[2] for s in samples], "first": now() - start[0], **self._load(start)}

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
        gate = asyncio.Semaphore(64)

        async def one(tablet: Tablet) -> None:
            async with gate:
                await tablet.close()

        await asyncio.gather(*(one(t) for t in tablets))
        return {"closed": len(tablets)}


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def worker_main(conn, index: int) -> None:
    _raise_fd_limit()
    asyncio.run(Worker(conn, index).main())


class _NoMarks:
    """The worker as a storm's tablets see it: their marks are not counted (``op_storm_start``)."""

    def __init__(self, changed: asyncio.Event) -> None:
        self.changed = changed

    def on_mark(self, marker: str, t: float) -> None:
        return None


class ClientError(RuntimeError):
    pass


class ClientPool:
    """``processes`` client processes; ``call`` sends one command to each and returns their replies."""

    def __init__(self, processes: int, ping_interval: float = 20) -> None:
        self.ping_interval = ping_interval  # seconds between a tablet's pings; 0: none
        _raise_fd_limit()
        ctx = multiprocessing.get_context("spawn")
        self.conns, self.procs = [], []
        for i in range(processes):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, i), name=f"bench-client-{i}", daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    @property
    def size(self) -> int:
        return len(self.conns)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def split(self, items: list) -> list[list]:
        """Round-robin over the processes."""
        return [items[i::self.size] for i in range(self.size)]

    def call(self, op: str, per_process: list[dict] | None = None, timeout: float = 900, **common) -> list[dict]:
        for i, conn in enumerate(self.conns):
            conn.send({"op": op, **common, **(per_process[i] if per_process else {})})
        replies = []
        for i, conn in enumerate(self.conns):
            if not conn.poll(timeout):
                raise ClientError(f"client process {i} did not answer {op} within {timeout} s")
            reply = conn.recv()
            if "error" in reply:
                raise ClientError(reply["error"])
            replies.append(reply)
        return replies

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.send({"op": "exit"})
        for conn, proc in zip(self.conns, self.procs, strict=True):
            with contextlib.suppress(Exception):
                if conn.poll(30):
                    conn.recv()
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def client_bound(loads: list[dict], p99_ms: float | None = None) -> list[str]:
    """Reasons to believe the clients, not the server, set the pace: a client process that used
    ≥ 90 % of a core over a measured burst, or whose event loop lagged for a large part of the
    measured p99."""
    reasons = []
    for i, load in enumerate(loads):
        burst = load.get("burst_cpu")
        if burst is not None and burst >= 0.9 and (load.get("burst_ms") or 0) >= 10:
            reasons.append(f"client process {i} used {burst:.0%} of a core while the event arrived")
        if load.get("cpu") is not None and load["cpu"] >= 0.9 and load.get("wall", 0) >= 0.05:
            reasons.append(f"client process {i} used {load['cpu']:.0%} of a core over the measured window")
        lag = load.get("lag_max_ms") or 0
        if p99_ms and lag >= 20 and lag >= 0.5 * p99_ms:
            reasons.append(f"client process {i} event loop lagged {lag:.0f} ms (p99 {p99_ms:.0f} ms)")
    return reasons
