"""Real clients of a running cluster (``deploy.cluster.Cluster``): HTTP writes made the way the
tablets' outbox makes them, and tablets that follow docs/protocol.md the way
``static/room/live.js`` does — over real sockets (aiohttp), through nginx or to one worker.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass

import aiohttp

from bench.tablet import Follower, SeqTracker

SETTLE_SECONDS = 90.0  # how long a test waits for the tablets to catch up (a wait, not a measure)


class Api:
    """The HTTP API as a tablet uses it: token authentication, an Idempotency-Key on every POST, and
    the same request again, with the same key, after a network error or a 5xx (the outbox rule)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, tokens: dict[str, str]) -> None:
        self.http = http
        self.base = base
        self.tokens = tokens
        self.retries = 0

    def headers(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Token {self.tokens[user]}", **extra}

    async def post(self, path: str, body: dict | None = None, *, user: str, base: str | None = None,
                   deadline: float = 60.0) -> dict:
        key = str(uuid.uuid4())
        loop = asyncio.get_running_loop()
        give_up = loop.time() + deadline
        while True:
            try:
                async with self.http.post(f"{base or self.base}/api/v1{path}", json=body or {},
                                          headers=self.headers(user, **{"Idempotency-Key": key})) as response:
                    payload = await response.json(content_type=None)
                    if response.status < 500:
                        assert response.status < 300, (path, response.status, payload)
                        return payload
            except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError):
                pass
            self.retries += 1
            if loop.time() > give_up:
                raise AssertionError(f"POST {path} never succeeded")
            await asyncio.sleep(0.2)

    async def get(self, path: str, *, user: str, base: str | None = None) -> dict:
        async with self.http.get(f"{base or self.base}/api/v1{path}", headers=self.headers(user)) as response:
            assert response.status == 200, (path, response.status)
            return await response.json()

    async def visible(self, meeting_id: int, user: str, after: int = 0) -> list[int]:
        """The seqs the database says ``user`` may see after ``after``, in order."""
        answer = await self.get(f"/meetings/{meeting_id}/events/?after_seq={after}", user=user)
        assert "events" in answer, "too far behind to replay"
        return [event["seq"] for event in answer["events"]]


@dataclass
class Session:
    meeting_id: int
    item_id: int


async def open_session(api: Api, *, members: list[str], title: str = "Phiên họp thử tải") -> Session:
    """A session in progress, made through the API by the secretariat: ``pm`` in the chair, the
    ``members``, ``guest`` observing, one agenda item, every member present."""
    meeting = await api.post("/meetings/", {"title": title, "kind": "regular", "starts_at": "2030-01-01T01:00:00Z",
                                            "location": "Phòng họp trực tuyến"}, user="secretary")
    meeting_id = meeting["id"]
    for username, role in [("pm", "chair"), *[(m, "member") for m in members], ("guest", "observer")]:
        await api.post(f"/meetings/{meeting_id}/participants/", {"username": username, "role": role}, user="secretary")
    item = await api.post(f"/meetings/{meeting_id}/agenda-items/", {"title": "Dự thảo Nghị định"}, user="secretary")
    await api.post(f"/meetings/{meeting_id}/publish/", user="secretary")
    await api.post(f"/meetings/{meeting_id}/start/", user="secretary")
    for username in ["pm", *members]:
        await api.post(f"/meetings/{meeting_id}/attendance/", {"username": username, "status": "present"},
                       user="secretary")
    return Session(meeting_id=meeting_id, item_id=item["id"])


class Tablet:
    """One tablet in the room. Like live.js: a snapshot first, then events through the
    ``SeqTracker`` (``bench.tablet.Follower``: the one Python copy of state.js's), ``resume`` on a jump, and after a
    lost connection a new one with ``?after_seq`` — to ``reconnect_base`` (nginx), with backoff.

    It records what it applied (``applied``) and the events that came live rather than in a replay
    (``live``): the server may repeat events in a replay (the client asked for them), never live."""

    def __init__(self, api: Api, meeting_id: int, user: str, *, base: str, reconnect_base: str | None = None,
                 ping_every: float | None = None) -> None:
        self.api = api
        self.meeting_id = meeting_id
        self.user = user
        self.base = base
        self.reconnect_base = reconnect_base or api.base
        self.ping_every = ping_every
        self.follower = Follower()
        self.snapshots: list[int] = []
        self.applied: list[int] = []
        self.live: list[int] = []
        self.tallies: list[dict] = []
        self.connects = 0
        self.close_codes: list[int | None] = []
        self.resumes = 0
        self.replaying = False
        self.forbidden = False
        self.ready = asyncio.Event()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._stop = False
        self._task: asyncio.Task | None = None

    # -- life -------------------------------------------------------------------------------------

    def start(self) -> Tablet:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def stop(self) -> None:
        self._stop = True
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        base, attempt = self.base, 0
        while not self._stop and not self.forbidden:
            try:
                await self._connect(base)
                attempt = 0
            except (TimeoutError, aiohttp.ClientError, OSError):
                attempt += 1
            if self._stop or self.forbidden:
                return
            base = self.reconnect_base
            await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt) * random.uniform(0.5, 1.0))

    async def _connect(self, base: str) -> None:
        url = f"{base.replace('http', 'ws', 1)}/ws/meetings/{self.meeting_id}/"
        after_seq = self.follower.reconnecting()  # live events wait until the replay is in (as live.js)
        if after_seq is not None:
            url += f"?after_seq={after_seq}"
            self.replaying = True
        headers = self.api.headers(self.user, Origin=base)
        async with self.api.http.ws_connect(url, headers=headers, max_msg_size=0, autoping=True) as ws:
            self.ws = ws
            self.connects += 1
            pinger = asyncio.ensure_future(self._ping(ws)) if self.ping_every else None
            try:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await self._handle(json.loads(message.data))
            finally:
                if pinger is not None:
                    pinger.cancel()
                self.close_codes.append(ws.close_code)
                if ws.close_code == 4403:
                    self.forbidden = True

    async def _ping(self, ws) -> None:
        while not ws.closed:
            await asyncio.sleep(self.ping_every)
            await ws.send_str(json.dumps({"type": "ping"}))

    # -- the protocol -----------------------------------------------------------------------------

    @property
    def tracker(self) -> SeqTracker | None:
        return self.follower.tracker

    async def _handle(self, message: dict) -> None:
        kind = message["type"]
        if kind == "event" and not self.replaying:
            self.live.append(message["seq"])
        apply, resume = self.follower.take(message)
        if kind == "snapshot":
            self.snapshots.append(message["seq"])
            self.applied = []
            self.replaying = False
            self.ready.set()
        elif kind == "resumed":
            self.replaying = False
        self._apply(apply)
        if resume:
            await self._resume()

    async def _resume(self) -> None:
        self.resumes += 1
        self.replaying = True
        await self.ws.send_str(self.follower.resume_message())

    def _apply(self, events: list[dict]) -> None:
        for event in events:
            self.applied.append(event["seq"])
            if event["kind"] == "vote.tally":
                self.tallies.append(event["data"])

    # -- checks -----------------------------------------------------------------------------------

    def caught_up(self, last_visible: int) -> bool:
        return self.tracker is not None and self.tracker.seq >= last_visible and not self.tracker.resuming

    def duplicates_live(self) -> list[int]:
        seen, twice = set(), []
        for seq in self.live:
            if seq in seen:
                twice.append(seq)
            seen.add(seq)
        return twice


async def settle(api: Api, tablets: list[Tablet], *, timeout: float = SETTLE_SECONDS) -> dict[str, list[int]]:
    """Wait until every tablet has everything the database says it may see; that list, per user."""
    expected: dict[str, list[int]] = {}
    for tablet in tablets:
        if tablet.user not in expected:
            expected[tablet.user] = await api.visible(tablet.meeting_id, tablet.user)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while True:
        behind = [t for t in tablets if expected[t.user] and not t.caught_up(expected[t.user][-1])]
        if not behind:
            return expected
        if loop.time() > give_up:
            raise AssertionError(f"{len(behind)} tablets never caught up, e.g. {behind[0].user} at "
                                 f"{behind[0].tracker and behind[0].tracker.seq} of {expected[behind[0].user][-1]}")
        await asyncio.sleep(0.1)


def assert_exactly_once(tablet: Tablet, expected: list[int]) -> None:
    """Everything visible after the tablet's snapshot, each once, in order; no event twice live."""
    assert len(tablet.snapshots) == 1, f"{tablet.user}: {len(tablet.snapshots)} snapshots"
    assert tablet.applied == sorted(set(tablet.applied)), f"{tablet.user}: applied out of order or twice"
    want = [seq for seq in expected if seq > tablet.snapshots[0]]
    # (Later events — presence changes of the secretariat — may have come since ``expected`` was read.)
    got = [seq for seq in tablet.applied if seq <= (expected[-1] if expected else 0)]
    assert got == want, f"{tablet.user}: applied {got[:10]}…, expected {want[:10]}…"
    assert tablet.duplicates_live() == [], f"{tablet.user}: sent twice live: {tablet.duplicates_live()[:10]}"
