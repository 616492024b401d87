"""Steps several suites share: a session with N real member accounts, tablets connected to a
server, and the server processes' CPU and memory."""

from __future__ import annotations

import time

from .pool import ClientPool
from .servers import BenchError, Database, Target


def prepare_room(db: Database, *, count: int, title: str, items: int = 1, documents_per_item: int = 0,
                 comments_per_item: int = 0) -> dict:
    """``count`` members (the demo Government first, then bench accounts) invited to a session in
    progress, all present, chaired by ``pm``; API tokens for them and the secretary."""
    started = time.monotonic()
    usernames = db.fixtures("members", count=count)
    room = db.fixtures("meeting", title=title, usernames=usernames, items=items,
                       documents_per_item=documents_per_item, comments_per_item=comments_per_item)
    tokens = db.fixtures("tokens", usernames=[*usernames, "secretary"])
    return {**room, "usernames": usernames, "tokens": tokens, "setup_seconds": round(time.monotonic() - started, 1)}


def connect(pool: ClientPool, target: Target, group: str, meeting: int, tablets: list[tuple],
            after_seq: int | None, *, concurrency: int = 4, attempts: int = 10,
            deadline: float = 600, allow_failures: bool = False) -> dict:
    """Connect ``tablets`` (username, token, cookie) spread over the client processes, ``concurrency``
    handshakes at a time in all; every one must connect (after retries with backoff, as a tablet
    would). Tablets arrive a few at a time, as in a room filling up: a storm of handshakes is not
    what these benchmarks measure (each connection costs the server more as the room fills).

    Also measured: the server's CPU over the whole phase (``server_cpu_ms_per_handshake``: divided
    by the tablets connected, retries included in the cost), each tablet's time from its TCP
    connect to the snapshot (or ``resumed``) applied (``open_ms``: p50/p99/max), and the bytes of
    every frame it received until then (``bytes_on_connect``). ``allow_failures``: tablets that do
    not connect are counted in ``failed`` instead of raising (the all-at-once storm of handshakes)."""
    from .common import summary_ms

    host, port = target.host_port
    cpu0 = cpu_seconds(target.pids)
    started = time.monotonic()
    replies = pool.call("connect", [{"tablets": part} for part in pool.split(tablets)], group=group,
                        ws_url=target.ws_url, origin=target.origin, http=[host, port], meeting=meeting,
                        after_seq=after_seq, concurrency=max(1, concurrency // pool.size),
                        ping_interval=pool.ping_interval or None, attempts=attempts, deadline=deadline,
                        timeout=deadline + 120)
    server_cpu = cpu_seconds(target.pids) - cpu0
    failed = [f for r in replies for f in r["failed"]]
    if failed and not allow_failures:
        missing = sum(r["unconnected"] for r in replies)
        raise BenchError(f"{missing} of {len(tablets)} tablets could not connect to {target.name} "
                         f"({round(time.monotonic() - started)} s, 4 handshakes at a time, up to {attempts} tries "
                         f"each): {failed[:3]}")
    connected = sum(r["connected"] for r in replies)
    opened = [x for r in replies for x in r.get("open_seconds", [])]
    sizes = [x for r in replies for x in r.get("bytes_on_connect", [])]
    return {"connected": connected, "retries": sum(r["retries"] for r in replies),
            "seconds": round(time.monotonic() - started, 2), "tablets": len(tablets),
            "failed": sum(r["unconnected"] for r in replies), "failures": failed[:5],
            "concurrency": concurrency, "open_ms": summary_ms(opened),
            "bytes_on_connect": {"max": max(sizes, default=None), "min": min(sizes, default=None)},
            "server_cpu_seconds": round(server_cpu, 3),
            "server_cpu_ms_per_handshake": round(server_cpu * 1000 / len(opened), 2) if opened else None}


def _with_children(pids: list[int]) -> list[int]:
    """The processes and their children (nginx's workers)."""
    import psutil  # a benchmark package (make bench-deps): the report functions import without it

    out = list(pids)
    for pid in pids:
        try:
            out += [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            continue
    return out


def _process_cpu_clock(pid: int) -> float | None:
    """The CPU time of process ``pid`` (every thread, ended ones included) from its POSIX CPU clock
    (``clock_getcpuclockid(3)``: Linux lets any process read another's), in nanoseconds' precision;
    None where that clock cannot be read."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)  # CPUCLOCK_SCHED of the whole process
    except (OSError, OverflowError, ValueError):
        return None


def cpu_seconds(pids: list[int]) -> float:
    """CPU time used so far by the processes and all their threads, ended ones included (Django
    runs each request's sync code in a short-lived thread), in seconds. Read from each process's
    POSIX CPU clock (precise to the nanosecond, so one event of a millisecond shows); where that
    cannot be read, from the kernel's clock-tick counts (10 ms: compare over windows of a second
    or more, or summed over rounds)."""
    total = 0.0
    for pid in _with_children(pids):
        precise = _process_cpu_clock(pid)
        if precise is not None:
            total += precise
            continue
        import psutil

        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def memory_bytes(pids: list[int]) -> int:
    """Unique set size (memory that would be freed if the process ended) summed over the processes;
    resident size where USS cannot be read."""
    import psutil

    total = 0
    for pid in _with_children(pids):
        try:
            process = psutil.Process(pid)
            try:
                total += process.memory_full_info().uss
            except psutil.AccessDenied:
                total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def merge_stats(replies: list[dict]) -> dict:
    return {
        "received": sum(r["received"] for r in replies),
        "resumes_sent": sum(r["resumes_sent"] for r in replies),
        "out_of_order": sum(r["out_of_order"] for r in replies),
        "closed_unexpectedly": [c for r in replies for c in r["closed_unexpectedly"]][:20],
        "errors": [e for r in replies for e in r["errors"]][:10],
    }
