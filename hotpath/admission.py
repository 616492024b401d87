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
only if the process cannot admit that many handshakes in that time (docs/limits.md).

What a hostile caller cannot do with the queue (issue 19, second round; tests/security/
test_i19_admission.py), all decided before a place is waited for and without the database:

* a handshake that presents no credential at all (neither the session cookie nor an
  ``Authorization: Token`` header) would only be refused by the room: it is refused at once (4403,
  as the room refuses a stranger) and never queues, so a flood of them keeps no tablet waiting;
* one credential (a cookie or a token, valid or not) has at most ``WS_MAX_SOCKETS_PER_ACCOUNT``
  handshakes waiting or working at once: beyond, 4429 ``rate_limited retry_after=N`` (a member's
  tablet opening hundreds of sockets takes a few places in the line, not hundreds);
* at most ``WS_ADMISSION_QUEUE`` handshakes wait in a process: beyond, 4429 ``busy retry_after=N``
  with N drawn between ``WS_ADMISSION_RETRY_SECONDS`` and twice that, so refused tablets do not come
  back all at the same second (docs/protocol.md: the client waits N seconds and reconnects);
* a place is given back whatever happens: the consumer's ``release``, the application returning or
  raising, the handshake cancelled while it waits or while it works (Daphne cancels an application
  whose client went away).

A credential that is presented but wrong (a random cookie) still waits its turn and is refused by
the room once authentication has run: one query, no snapshot. Telling it from a good one needs the
database, which is what the queue is there to ration.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref

from django.conf import settings
from django.http.cookie import parse_cookie

from hotpath import wsframes

__all__ = ["CLOSE_FORBIDDEN", "CLOSE_RATE_LIMITED", "Admission", "presented_credential", "release"]

SCOPE_KEY = "ecabinet.admission"
# The room's own close codes (docs/protocol.md "Close codes"; meetings.consumers, static/room/live.js).
CLOSE_FORBIDDEN = 4403
CLOSE_RATE_LIMITED = 4429


class _Line:
    """One event loop's admission state: the places, how many wait, and what each credential holds."""

    def __init__(self, limit: int) -> None:
        self.places = asyncio.Semaphore(limit)
        self.waiting = 0
        self.held: dict[str, int] = {}  # credential -> handshakes of it waiting or working


class _Ticket:
    """One handshake's claim: its credential's count, and its place once it has one. ``release``
    may be called any number of times; it gives back what was taken, once."""

    def __init__(self, line: _Line, credential: str) -> None:
        self.line = line
        self.credential = credential
        self.placed = False
        self.held = True
        line.held[credential] = line.held.get(credential, 0) + 1

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        left = self.line.held.get(self.credential, 1) - 1
        if left > 0:
            self.line.held[self.credential] = left
        else:
            self.line.held.pop(self.credential, None)
        if self.placed:
            self.placed = False
            self.line.places.release()


class Admission:
    """ASGI middleware: websocket connections wait for one of ``limit`` places (see the module
    docstring); other scopes pass straight through."""

    def __init__(self, app, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self._lines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Line] = weakref.WeakKeyDictionary()

    def line(self) -> _Line:
        """This event loop's line (one per process in Daphne; tests run several loops)."""
        loop = asyncio.get_running_loop()
        line = self._lines.get(loop)
        if line is None:
            line = self._lines[loop] = _Line(max(1, self.limit or settings.WS_ADMISSION_CONCURRENCY))
        return line

    def gate(self) -> asyncio.Semaphore:
        """This event loop's places."""
        return self.line().places

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        credential = presented_credential(scope)
        if credential is None:
            # Nothing to authenticate: the room would refuse it (4403, before accepting) after two
            # trips through the thread for synchronous code; refused now, without a place.
            return await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN})
        line = self.line()
        if line.held.get(credential, 0) >= max(1, settings.WS_MAX_SOCKETS_PER_ACCOUNT):
            return await _refuse(send, f"rate_limited retry_after={_retry_after()}")
        if line.waiting >= max(1, settings.WS_ADMISSION_QUEUE) and line.places.locked():
            return await _refuse(send, f"busy retry_after={_retry_after()}")
        ticket = _Ticket(line, credential)
        try:
            line.waiting += 1
            try:
                await line.places.acquire()
            finally:
                line.waiting -= 1
            ticket.placed = True
            if _gone(send):
                return None  # dropped while it waited: its work would be for nobody
            return await self.app({**scope, SCOPE_KEY: ticket}, receive, send)
        finally:
            ticket.release()


def presented_credential(scope) -> str | None:
    """What the socket would be authenticated by, as the authentication reads it (``ecabinet.ws_auth``:
    an ``Authorization: Token`` header wins; else Channels' session cookie), or None when it presents
    neither. Not checked here: that takes the database."""
    headers = scope.get("headers") or ()
    scheme, _, key = dict(headers).get(b"authorization", b"").decode("latin1").partition(" ")
    if scheme.lower() == "token" and key.strip():
        return "t" + key.strip()
    for name, value in headers:
        if name == b"cookie":  # the first cookie header, as channels.sessions.CookieMiddleware reads it
            session = parse_cookie(value.decode("latin1")).get(settings.SESSION_COOKIE_NAME)
            return "s" + session if session else None
    return None


def _retry_after() -> int:
    """Seconds before a refused tablet comes back: between the setting and twice it, spread."""
    base = max(1, settings.WS_ADMISSION_RETRY_SECONDS)
    return base + secrets.randbelow(base + 1)


async def _refuse(send, reason: str) -> None:
    """Accepted first, so that the client reads the code and when to come back (as the room's own
    4429), then closed at once: no database work, no place taken."""
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": CLOSE_RATE_LIMITED, "reason": reason})


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
