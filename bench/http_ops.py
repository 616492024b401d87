"""What the tablets do over HTTP, as commands of a client process (``bench.client.Worker``): vote
(``POST /api/v1/motions/{id}/votes/`` with an ``Idempotency-Key``), retry a vote, verify a receipt,
and the page load of ``bench.pages`` and ``bench.tasks`` (GETs on keep-alive connections).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from .httpclient import AsyncHttp
from .tablet import Tablet, json_object, now


class HttpOps:
    """The HTTP commands of ``bench.client.Worker`` (which holds ``tablets``, ``_load`` and
    ``_at_most``)."""

    tablets: dict[str, Tablet]
    host_port: tuple

    async def op_open_http(self) -> dict:
        """One keep-alive HTTP connection per tablet, opened ahead (tablets have theirs open)."""
        async def one(tablet: Tablet) -> None:
            tablet.http = AsyncHttp(*self.host_port)
            await tablet.http.open()

        await self._at_most(32, one, self.tablets.values())
        return {"open": len(self.tablets)}

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

        results = await self._at_most(16, one, choices)
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

