"""The runner's side of the client processes: ``ClientPool`` starts them (``bench.client``), sends
each a command over its pipe and collects the replies; ``client_bound`` reads their measurements
for signs that the clients, not the server, set the pace.
"""

from __future__ import annotations

import contextlib
import multiprocessing

from .client import raise_fd_limit, worker_main


class ClientError(RuntimeError):
    pass


class ClientPool:
    """``processes`` client processes; ``call`` sends one command to each and returns their replies."""

    def __init__(self, processes: int, ping_interval: float = 20) -> None:
        self.ping_interval = ping_interval  # seconds between a tablet's pings; 0: none
        raise_fd_limit()
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
