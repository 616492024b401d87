"""Admission of room sockets: a queue, not a refusal (issue 19, the reconnect storm).

After a Wi-Fi blip in the hall, every tablet opens its socket again within a second. Each
handshake costs the server database work — the credential (``ecabinet.ws_auth``, Channels' session
middleware), the caller's access (``room.audience_tokens``), the check that the credential still
holds, the snapshot, the presence row — and all of it runs through ``database_sync_to_async``, in
the one thread Channels keeps for synchronous code. Without a bound, 1,000 handshakes put their
first step in that thread's queue, then their second behind all the others' first, and so on: no
tablet had its answer until nearly all had been worked through, every handshake passed Daphne's
handshake timeout and was dropped ("connection closed while reading the status line"), and the
tablets retried into the same queue.

``Admission`` wraps the whole socket application (authentication included): at most
``WS_ADMISSION_CONCURRENCY`` handshakes of this process do their work at once; the others wait
their turn, in arrival order (``asyncio.Semaphore`` wakes its waiters first in, first out). A
handshake holds its place until the consumer says it has sent the snapshot or the replay
(``release(scope)``, at the end of ``MeetingConsumer.connect``), or until the application returns.
So 1,000 simultaneous handshakes are answered one batch after the other, each in a fraction of a
second of work, and the synchronous thread never has more than a few handshakes' steps queued: the
HTTP writes and the heartbeats of the tablets already connected keep their turn.

The wait is bounded by Daphne's handshake timeout (``--websocket_connect_timeout``, set in
``deploy/daphne_process.py``): a tablet still queued then is dropped and retries, as before, but
only if the process cannot admit that many handshakes in that time (docs/limits.md). Nothing is
refused for being queued.
"""

from __future__ import annotations

import asyncio
import weakref

from django.conf import settings

from hotpath import wsframes

__all__ = ["Admission", "release"]

SCOPE_KEY = "ecabinet.admission"


class _Ticket:
    """One admitted handshake's place; ``release`` may be called any number of times."""

    def __init__(self, gate: asyncio.Semaphore) -> None:
        self.gate = gate
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.gate.release()


class Admission:
    """ASGI middleware: websocket connections wait for one of ``limit`` places (see the module
    docstring); other scopes pass straight through."""

    def __init__(self, app, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    def gate(self) -> asyncio.Semaphore:
        """This event loop's semaphore (one per process in Daphne; tests run several loops)."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(max(1, self.limit or settings.WS_ADMISSION_CONCURRENCY))
        return gate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        gate = self.gate()
        await gate.acquire()
        ticket = _Ticket(gate)
        try:
            if _gone(send):
                return None  # dropped while it waited: its work would be for nobody
            return await self.app({**scope, SCOPE_KEY: ticket}, receive, send)
        finally:
            ticket.release()


def _gone(send) -> bool:
    """The client went away (or Daphne's handshake timeout dropped it) while its handshake waited.
    A tablet that gave up retries with a new connection; without this, every abandoned attempt of a
    storm was still worked through — authentication, access, a snapshot — and delayed the live ones.
    False when unknown (no Daphne protocol under ``send``: the test communicator)."""
    protocol = wsframes.daphne_protocol(send)
    if protocol is None:
        return False
    transport = getattr(protocol, "transport", None)
    return (protocol.state == protocol.STATE_CLOSED or transport is None or not transport.connected
            or bool(transport.disconnecting))


def release(scope) -> None:
    """The handshake's expensive part is over: let the next one in (no-op without ``Admission``)."""
    ticket = scope.get(SCOPE_KEY)
    if ticket is not None:
        ticket.release()
