"""A benchmark tablet: a real WebSocket client of ``/ws/meetings/<id>/`` (docs/protocol.md); many of
them run in each client process (``bench.client``). ``SeqTracker`` and ``Follower`` here are the one
Python copy of the tablets' sequence rules, shared with the tests' clients.

A tablet here does what ``static/room/live.js`` does: it authenticates with its own account's
``Authorization: Token`` and an ``Origin``, keeps the ``seq`` of the last applied event with the same
bookkeeping as ``static/room/state.js`` (``SeqTracker``: a jump buffers the event and sends
``resume``; the buffer is applied after ``resumed``), pings every 20 s, and writes through the HTTP
API with an ``Idempotency-Key``. "The tablet shows X" means X is in the state it has *applied*.

"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import traceback
from typing import TYPE_CHECKING

from ecabinet import clock

from .httpclient import AsyncHttp

if TYPE_CHECKING:
    from .client import Worker

COUNT_KEYS = ("yes", "no", "abstain", "voted")
MARK_PREFIX = "bench:"
now = clock.monotonic  # CLOCK_MONOTONIC: one clock for every process of the machine


class SeqTracker:
    """``static/room/state.js``'s SeqTracker, line for line: the one Python copy, used by the
    benchmark's tablets and the tests' (``tests/room/wsclient.py``, ``tests/cluster/clients.py``);
    ``tests/room/test_seq_tracker_parity.py`` feeds both the same messages through Node.js.

    An event applies when it is the next one: ``seq + 1``, or a later one whose ``prev`` is at or
    below the last applied ``seq`` (servers that say so: the numbers between are not for this
    client, or were superseded by this event). Anything else is a jump: buffer it and resume."""
    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.buffer: dict[int, dict] = {}
        self.resuming = False

    def follows(self, event: dict) -> bool:
        prev = event.get("prev")
        return event["seq"] == self.seq + 1 or (prev is not None and prev <= self.seq < event["seq"])

    def accept(self, event: dict) -> tuple[list[dict], bool]:
        seq = event["seq"]
        if seq <= self.seq:
            return [], False
        if self.follows(event) and not self.resuming:
            self.seq = seq
            return [event, *self.drain()], False
        if self.resuming:
            self.buffer[seq] = event
            return [], False
        self.buffer[seq] = event
        self.resuming = True
        return [], True

    def resumed(self, head: int) -> tuple[list[dict], bool]:
        apply = []
        for seq in sorted(self.buffer):
            if self.seq < seq <= head:
                apply.append(self.buffer.pop(seq))
                self.seq = seq
            elif seq <= self.seq:
                del self.buffer[seq]
        self.seq = max(self.seq, head)
        self.resuming = False
        apply += self.drain()
        if self.buffer:
            self.resuming = True
        return apply, bool(self.buffer)

    def drain(self) -> list[dict]:
        for seq in [s for s in self.buffer if s <= self.seq]:
            del self.buffer[seq]
        out = []
        while self.buffer:
            nxt = min(self.buffer)
            if not self.follows(self.buffer[nxt]):
                break
            self.seq = nxt
            out.append(self.buffer.pop(nxt))
        return out


class Follower:
    """``static/room/live.js``'s handling of the room socket's messages, without a socket: a
    ``snapshot`` starts a new ``SeqTracker``; an ``event`` or ``resumed`` goes through it. ``take``
    answers the events to apply now, in order, and whether to send ``resume`` (``resume_message``).
    Each tablet of the tests and the benchmark (whatever carries its bytes) follows through one."""

    def __init__(self, after_seq: int | None = None) -> None:
        self.tracker: SeqTracker | None = None
        if after_seq is not None:
            self.reconnecting(after_seq)

    def reconnecting(self, after_seq: int | None = None) -> int | None:
        """A new socket opens with ``?after_seq``: live events wait until the replay is in (as in
        live.js). Returns the ``after_seq`` to ask for (None: no tracker yet, a snapshot comes)."""
        if after_seq is not None and self.tracker is None:
            self.tracker = SeqTracker(after_seq)
        if self.tracker is not None:
            self.tracker.resuming = True
            return self.tracker.seq
        return None

    def take(self, message: dict) -> tuple[list[dict], bool]:
        kind = message.get("type")
        if kind == "snapshot":
            self.tracker = SeqTracker(message["seq"])
        elif self.tracker is not None and kind == "event":
            return self.tracker.accept(message)
        elif self.tracker is not None and kind == "resumed":
            return self.tracker.resumed(message["seq"])
        return [], False

    def resume_message(self) -> str:
        return json.dumps({"type": "resume", "after_seq": self.tracker.seq})


def motion_states(data) -> list[tuple[int, dict | None, dict | None, str | None]]:
    """``(motion id, tally, result, status)`` carried by an event's data or any other message.

    Judged by content, not by kind, so that a tally sent another way (coalesced, latest-wins, a
    new message type) still counts: a motion object (``motion.*`` events, snapshots), a tally
    (``vote.tally``: the motion id beside the counts, or under ``tally``), or a list of them."""
    out: list = []
    if not isinstance(data, dict):
        return out
    motion = data.get("motion")
    if isinstance(motion, dict) and "id" in motion:
        out.append((motion["id"], motion.get("tally"), motion.get("result") or data.get("result"),
                    motion.get("status")))
    elif isinstance(motion, int) and not isinstance(motion, bool):
        if isinstance(data.get("tally"), dict):
            out.append((motion, data["tally"], data.get("result"), data.get("status")))
        elif any(k in data for k in COUNT_KEYS):
            out.append((motion, data, data.get("result"), data.get("status")))
        elif isinstance(data.get("result"), dict):
            out.append((motion, None, data["result"], data.get("status")))
    for key in ("motions", "tallies"):
        items = data.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and "id" in item:
                    out.append((item["id"], item.get("tally"), item.get("result"), item.get("status")))
                elif isinstance(item, dict):
                    out.extend(motion_states(item))
    return out


def json_object(data: bytes) -> dict:
    try:
        decoded = json.loads(data)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def counts_of(tally: dict | None) -> tuple | None:
    if not isinstance(tally, dict):
        return None
    return tuple(tally.get(k) for k in COUNT_KEYS)


def counts_match(counts: tuple | None, final: tuple) -> bool:
    """Every count the message carries equals the final one (a secret tally carries only ``voted``)."""
    if counts is None:
        return False
    pairs = [(c, f) for c, f in zip(counts, final, strict=True) if c is not None and f is not None]
    return bool(pairs) and all(c == f for c, f in pairs)


class Tablet:
    def __init__(self, worker: Worker, username: str, token: str, cookie: str | None = None) -> None:
        self.worker, self.username, self.token, self.cookie = worker, username, token, cookie
        self.ws = None
        self.follower = Follower()
        self.ready = asyncio.Event()
        self.resumed_count = 0
        self.resumed_changed = asyncio.Event()
        self.marks: dict[str, tuple[float, float]] = {}
        self.mark_receipts: dict[str, int] = {}
        self.counts: dict[int, tuple] = {}
        self.tallies: dict[int, list[tuple[float, tuple]]] = {}
        self.results: dict[int, tuple[float, tuple | None]] = {}
        self.opened: dict[int, float] = {}
        self.last_applied = 0
        self.out_of_order = 0
        self.resumes_sent = 0
        self.received = 0
        self.errors: list[str] = []
        self.closed_code: int | None = None
        self.closing = False
        self.tasks: list[asyncio.Task] = []
        self.http: AsyncHttp | None = None
        self.open_seconds: float | None = None  # from the TCP connect to the snapshot (or resumed) applied
        self.bytes_on_connect = 0  # bytes of every frame received until then (the snapshot and what came before)

    # -- the socket ---------------------------------------------------------------------------------

    async def open(self, ws_url: str, origin: str, meeting: int, after_seq: int | None, timeout: float,
                   ping_interval: float | None, on_handshake=None) -> None:
        from websockets.asyncio.client import connect

        path = f"/ws/meetings/{meeting}/"
        if after_seq is not None:
            path += f"?after_seq={after_seq}"
            self.follower.reconnecting(after_seq)  # as live.js: live events wait until the replay is done
        headers = {"Authorization": f"Token {self.token}"} if self.token else {}
        started = now()
        self.ws = await connect(ws_url + path, origin=origin, additional_headers=headers, compression=None,
                                ping_interval=None, proxy=None, max_size=None, open_timeout=timeout,
                                close_timeout=5)
        if on_handshake is not None:
            on_handshake()  # the server answered 101: the handshake is done, the snapshot may still come
        self.tasks.append(asyncio.create_task(self._read()))
        await asyncio.wait_for(self.ready.wait(), timeout)
        self.open_seconds = now() - started
        if ping_interval:
            self.tasks.append(asyncio.create_task(self._ping(ping_interval)))

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                t = now()
                self.received += 1
                if not self.ready.is_set():
                    self.bytes_on_connect += len(raw) if isinstance(raw, bytes) else len(raw.encode())
                await self._handle(json.loads(raw), t)
        except ConnectionClosed:
            pass
        except Exception:
            self.errors.append(traceback.format_exc(limit=3))
        finally:
            if not self.closing:
                self.closed_code = getattr(self.ws, "close_code", None) or -1
                self.worker.changed.set()

    async def _ping(self, interval: float) -> None:
        await asyncio.sleep(random.uniform(0, interval))  # tablets do not ping in step
        while True:
            with contextlib.suppress(Exception):
                await self.ws.send('{"type":"ping"}')
            await asyncio.sleep(interval)

    async def _send_resume(self, *, jump: bool = True) -> None:
        """``jump``: the tablet saw a gap in ``seq`` (counted in ``resumes_sent``); otherwise the
        benchmark asked for it (``op_sync``), which is not a finding about the server."""
        self.resumes_sent += jump
        await self.ws.send(self.follower.resume_message())

    @property
    def tracker(self) -> SeqTracker | None:
        return self.follower.tracker

    async def _handle(self, message: dict, t: float) -> None:
        kind = message.get("type")
        if kind in ("event", "resumed") and self.tracker is None:
            return
        if kind == "event":
            message["_t"] = t
            text = ((message.get("data") or {}).get("comment") or {}).get("text") or ""
            if text.startswith(MARK_PREFIX):
                self.mark_receipts[text] = self.mark_receipts.get(text, 0) + 1
        apply, resume = self.follower.take(message)
        if kind == "snapshot":
            self.last_applied = max(self.last_applied, message["seq"])
            for motion in (message.get("meeting") or {}).get("motions") or []:
                self._motion(motion["id"], motion.get("tally"), motion.get("result"), motion.get("status"), t)
            self.ready.set()
        elif kind in ("event", "resumed"):
            self._apply(apply, t)
            if kind == "resumed":
                self.resumed_count += 1
                self.resumed_changed.set()
                self.ready.set()
            if resume:
                await self._send_resume()
        elif kind == "error":
            self.errors.append(f"{message.get('code')}: {message.get('detail')}")
        elif kind != "pong":
            # A message type this client does not know (a coalesced tally, say): judge by its content.
            for motion_id, tally, result, status in motion_states(message.get("data", message)):
                self._motion(motion_id, tally, result, status, t)

    def _apply(self, events: list[dict], t: float) -> None:
        for event in events:
            if event["seq"] <= self.last_applied:
                self.out_of_order += 1
            self.last_applied = max(self.last_applied, event["seq"])
            data = event.get("data") or {}
            if event.get("kind") == "comment.posted":
                text = (data.get("comment") or {}).get("text") or ""
                if text.startswith(MARK_PREFIX) and text not in self.marks:
                    self.marks[text] = (event["_t"], t)
                    self.worker.on_mark(text, t)
            for motion_id, tally, result, status in motion_states(data):
                self._motion(motion_id, tally, result, status, t)

    def _motion(self, motion_id: int, tally, result, status, t: float) -> None:
        if status == "open" and motion_id not in self.opened:
            self.opened[motion_id] = t
            self.worker.changed.set()
        counts = counts_of(tally)
        if counts is not None and counts != self.counts.get(motion_id):
            self.counts[motion_id] = counts
            self.tallies.setdefault(motion_id, []).append((t, counts))
            self.worker.changed.set()
        if result and motion_id not in self.results:
            self.results[motion_id] = (t, counts_of(result))
            self.worker.changed.set()

    async def close(self) -> None:
        self.closing = True
        for task in self.tasks:
            task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 10)
        if self.http is not None:
            await self.http.close()

    # -- HTTP ---------------------------------------------------------------------------------------

    def auth_headers(self, *, cookie: bool = False) -> dict:
        if cookie:
            return {"Cookie": f"sessionid={self.cookie}", "Accept-Language": "en"}
        return {"Authorization": f"Token {self.token}", "Accept-Language": "en"}
