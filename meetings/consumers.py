"""The session room socket, ``/ws/meetings/<id>/`` (DESIGN.md §5.3). Thin by design: it
authenticates, authorises, joins its audience groups, sends the snapshot or the replay, forwards
events, and answers ``resume``. Writes go through the HTTP API, never through the socket.

Ordering, duplicates and bursts: events reach a socket through several groups (a secretary holds
``all``, ``internal`` and ``secretariat``) and, when scaled out, from several processes. What the
socket sends is decided by ``hotpath.sequencer.Sequencer``: each event once, in ``seq`` order, with
``prev`` when the numbers in between are known not to be for this client, and tallies coalesced
(latest wins). A client that sees a jump asks for ``resume`` and gets the visible events in between
from the database.

The fan-out path (``room_event``) does no database work and no thread hop: one event reaches
hundreds of sockets in a process, and each would otherwise queue behind the HTTP views in the one
thread that runs synchronous code. Nor does a socket have a channel of its own: the process's
``hotpath.hub`` receives each group message once and puts it in the inbox of each socket that
joined the group.

Slow readers: ASGI has no flow control, and Daphne buffers whatever the application sends. A socket
whose client has stopped reading would grow the server's memory with every event, so events are
not written while more than ``SLOW_BUFFER_BYTES`` wait in its buffer (the client resumes when it
reads again), and a socket that stays that far behind for ``SLOW_SECONDS`` is closed with 4408.

Limits per account (``ecabinet.limits``): sockets opened (``ws_connects``) and messages received
(``ws_messages``) are counted; beyond either, the socket is closed with 4429 and the reason
``rate_limited retry_after=N``. At most ``WS_MAX_SOCKETS_PER_ACCOUNT`` sockets of an account are
open at once: a new one closes the oldest with 4409 (``services.presence_apply``).

Presence (who has the session open, for the secretariat): a socket's row is written after its
snapshot, and forgotten when it closes, in batches with the other sockets of the process
(``_presence``, ``PRESENCE_BATCH``): a reconnect storm's thousand rows in a few transactions, not a
trip through the sync thread each; ``presence.changed`` once per person whose state changed.

Credentials (``ecabinet.ws_auth``): a socket lives only as long as the device or browser session it
was opened with. Ended access is pushed (``room.revoked``, 4401, within a second on every process);
besides, the credential is checked at connect and at most once every ``SESSION_CHECK_SECONDS`` on a
heartbeat (``ws_auth.still_valid``): a session gone idle or past its age also closes with 4401. The
heartbeat of an open room counts as activity, so a person following the session without touching
the tablet is not signed out.

Longer than 400 lines: one consumer whose methods share the socket's send lock, timers and
sequencer; the transport-level pieces are in ``hotpath`` already (``hub``, ``sequencer``,
``wsframes``, ``heartbeats``), and what remains is the room's own protocol (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

from ecabinet import clock, idle, jsonguard, limits, realtime, ws_auth
from ecabinet.converters import whole_number
from hotpath import admission, heartbeats, hub, sequencer, wsframes

from . import framesize, room

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096  # clients send only resume/ping; anything larger is abuse
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_BIG = 1009
CLOSE_PROTOCOL = 4400
CLOSE_TOO_SLOW = 4408
CLOSE_RATE_LIMITED = 4429  # too many messages or connections from this account (ecabinet.limits)
CLOSE_ACCESS_ENDED = 4401  # the device or session it was opened with was revoked, signed out or ended
SESSION_CHECK_SECONDS = idle.TOUCH_SECONDS
CLOSE_REPLACED = 4409  # closed because the account opened more than WS_MAX_SOCKETS_PER_ACCOUNT sockets
# Bytes waiting in the server's buffer for one socket beyond which its events are held back. The
# kernel's socket buffers absorb ordinary bursts; this much in user space means the client is not
# reading.
SLOW_BUFFER_BYTES = 512 * 1024
SLOW_SECONDS = 10.0
# A probe sent through the process's channel that has not come back by then is taken as lost too.
PROBE_TIMEOUT_SECONDS = 5.0
# Presence rows are written in batches (``_presence``): a socket's row waits up to 50 ms for others,
# half a second while sockets open or close at 60 a second or more (a reconnect storm: 1,000 rows in
# some twenty transactions instead of 1,000). The snapshot does not wait for it.
PRESENCE_BATCH = heartbeats.Timing(gather=0.05, busy_gather=0.5, busy_items=3)
_closing: set[asyncio.Task] = set()  # presence closes queued for sockets cancelled while they opened


class MeetingConsumer(AsyncWebsocketConsumer):
    meeting_id: int
    user = None
    tokens: frozenset[str] = frozenset()
    sequencer: sequencer.Sequencer | None = None

    async def __call__(self, scope, receive, send) -> None:
        """Channels' ``AsyncConsumer.__call__``, with the hub's inbox where the socket's own channel was.
        ``channel_name`` is the inbox's name (unique across processes: presence rows are keyed by it)."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.hub = hub.hub_for(self.channel_layer)
        self.inbox = hub.Inbox(self._event_now)
        self.channel_name = self.inbox.name
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive, self.inbox.get], self.dispatch)

    async def connect(self) -> None:
        """Admitted (``hotpath.admission``): the handshake's work, then the next one's turn."""
        try:
            await self._connect()
        finally:
            admission.release(self.scope)

    async def _connect(self) -> None:
        self.meeting_id = int(self.scope["url_route"]["kwargs"]["meeting_id"])
        self.user = self.scope.get("user")
        self._sending = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._tasks: set[asyncio.Task] = set()
        self._protocol = wsframes.daphne_protocol(self.base_send)
        self._transport = getattr(self._protocol, "transport", None)
        self._slow_since: float | None = None
        self._closing_slow = False
        self._probe_sent: float | None = None
        self._head_seen = 0  # the session's head at the previous ping
        self._credential_checked = self._now()
        if not getattr(self.user, "is_authenticated", False):
            # Nobody to admit (a revoked or unknown token, a bogus cookie): the place goes back to
            # the line at once, and the refusal below (4403) spends no trip through the sync thread.
            admission.release(self.scope)
        refusal = await limits.ahit("ws_connects", getattr(self.user, "pk", None))
        if refusal is not None:
            # Accepted first, so that the client reads the code and when to come back.
            await self.accept()
            await self._close_rate_limited(refusal)
            return
        if not getattr(self.user, "is_authenticated", False):
            await self.close(code=CLOSE_FORBIDDEN)  # as a stranger is refused, without the trip
            return
        # Listening for the end of this credential's access first, then checking it once more, with
        # the caller's access, in one trip through the sync thread: an access ended between the
        # sign-in check and now is seen either way.
        self.credential = ws_auth.credential_of(self.scope)
        self._access_groups = [realtime.access_group(self.user.pk)]
        await self.hub.join(self.inbox, self._access_groups)
        tokens, valid = await database_sync_to_async(_admit)(self.user, self.meeting_id, self.scope)
        if tokens is None:
            # The same refusal whether the session is missing or forbidden.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if not valid:
            await self.accept()  # so that the client reads why (a browser reloads into the login page)
            await self.close(code=CLOSE_ACCESS_ENDED)
            return
        self.tokens = tokens
        self.sequencer = sequencer.Sequencer(tokens)
        # In the audience's groups before the snapshot is read: every event after it reaches the
        # socket, and a change of the caller's access after the read above is seen by the snapshot's
        # own check (``room.snapshot_text_for``) or reaches the socket (``room.access``).
        await self._join(tokens)
        await self.accept()
        after = _after_seq(self.scope.get("query_string", b""))
        async with self._sending:
            if after is None:
                await self._send_snapshot()
            else:
                await self._replay(after, live=True)
        admission.release(self.scope)  # the handshake's work is done; the presence row waits for its batch
        if not self.tokens:
            return  # access was withdrawn in the meantime: closed, not present
        await self._presence(opened=True)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_timer", None) is not None:
            self._timer.cancel()
        for task in list(getattr(self, "_tasks", ())):
            task.cancel()
        if getattr(self, "_access_groups", None):
            await self.hub.leave(self.inbox, self._access_groups)
            self._access_groups = None
        if not self.tokens:
            return
        await self._leave(self.tokens)
        await self._presence(opened=False)

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every handler, through the one thread
        # that runs synchronous code. The fan-out path touches no database, and a client's message
        # (a ping, a resume) reaches the database only through database_sync_to_async, which tidies
        # the connection in its own thread: both skip that hop (with 1,000 tablets pinging every
        # 20 s, 50 hops a second queued behind the sockets' database work).
        if message["type"] == "room.batch":  # several messages that waited in the inbox, in order
            for one in message["messages"]:
                await self.dispatch(one)
        elif message["type"] == "room.event":
            await self.room_event(message)
        elif message["type"] == "room.probe":
            await self.room_probe(message)
        elif message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if getattr(self, "_limited", False):
            return  # closing: what the client sent meanwhile is not read
        refusal = await limits.ahit("ws_messages", getattr(self.user, "pk", None))
        if refusal is not None:
            await self._close_rate_limited(refusal)
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_MESSAGE_BYTES:
            # 1009 is a protocol-level code autobahn will not send for an application (``close_with``).
            if not wsframes.close_with(self._protocol, CLOSE_TOO_BIG):
                await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            # Bounded before parsing: 4 KB of "[" would be a RecursionError, and the socket a 1011.
            message = jsonguard.loads(text_data or "")
            kind = message.get("type")
        except (jsonguard.JSONRefused, AttributeError):
            await self._error("malformed_message", "Messages are JSON objects with a type.")
            return
        if kind == "resume":
            after = message.get("after_seq")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                await self._error("invalid_after_seq", "after_seq must be a whole number ≥ 0.")
                return
            async with self._sending:
                await self._replay(after, live=False)
        elif kind == "ping":
            if self._now() - self._credential_checked >= SESSION_CHECK_SECONDS:
                self._credential_checked = self._now()
                if not await database_sync_to_async(ws_auth.still_valid)(self.scope, activity=True):
                    await self._forbid(code=CLOSE_ACCESS_ENDED)
                    return
            # The access doorbell (room.access) may be lost like any other: every heartbeat
            # re-checks access too, so a removed participant is shut out within one ping at worst.
            head = await heartbeats.beat(room.heartbeats, self.user, self.meeting_id, self.channel_name)
            if head is None:
                await self._forbid()
                return
            async with self._sending:
                await self._catch_up(head)
                await self._send_text(json.dumps({"type": "pong", "seq": self.sequencer.sent}))
        else:
            await self._error("unknown_message", "Only resume and ping messages are accepted; "
                                                 "changes go through the HTTP API.")

    # -- group messages ---------------------------------------------------------------------------

    async def room_event(self, message: dict) -> None:
        if self.sequencer is None or not self.tokens:
            return
        async with self._sending:
            await self._deliver(self.sequencer.offer(message, self._now()))
            self._arm()

    def _event_now(self, message: dict) -> bool:
        """A doorbell handled in the hub's own call (``hub.Inbox``), when the socket is idle: the
        sequencer's texts written straight to Daphne's protocol, as ``room_event`` would send
        them. False (the hub queues it for ``room_event``) while the socket is busy or not open."""
        protocol = getattr(self, "_protocol", None)
        if (message["type"] != "room.event" or protocol is None or self._sending.locked() or self.sequencer is None
                or not self.tokens or protocol.state != protocol.STATE_OPEN):
            return False
        # The common case (the next event, nothing waiting) without the sequencer's bookkeeping:
        # the same text for every socket that gives it the same ``prev``, framed once.
        prev = self.sequencer.next_in_line(message)
        if prev != sequencer.NOT_PLAIN:
            texts = (sequencer.with_prev(message["text"], prev),)
        else:
            texts = self.sequencer.offer(message, self._now())
        if texts and self._behind():
            self.sequencer.chained = False  # not written: the client finds the jump when it reads again
        else:
            for text in texts:
                wsframes.write_text(protocol, text)
        if prev == sequencer.NOT_PLAIN or self._probe_sent is not None:
            self._arm()  # (after the plain case, nothing is held or early: no timer to set)
        return True

    async def room_probe(self, message: dict) -> None:
        """Our own probe is back: every doorbell queued before it has been taken, so a doorbell
        still missing is lost (not merely late behind a busy event loop)."""
        async with self._sending:
            self._probe_sent = None
            if self.tokens and self.sequencer.stalled(self._now()):
                await self._deliver(self.sequencer.give_up(self._now()))
            self._arm()

    async def room_evict(self, message: dict) -> None:
        """The account opened more sockets than it may: this one, among the oldest, closes (its
        presence is already forgotten)."""
        if self.channel_name not in message.get("channels", ()):
            return
        if self.tokens:
            await self._leave(self.tokens)
            self.tokens = frozenset()
        await self.close(code=CLOSE_REPLACED)

    async def room_revoked(self, message: dict) -> None:
        """A device or session of this user was revoked, signed out or ended (``ecabinet.devices``):
        close if this socket was opened with it (``close``), or with anything but the kept ones."""
        close = message.get("close")
        mine = getattr(self, "credential", None)
        if mine is None or ((mine not in close) if close is not None else (mine in message.get("keep", ()))):
            return
        await self._forbid(code=CLOSE_ACCESS_ENDED)

    async def room_access(self, message: dict) -> None:
        """Access may have changed: re-check, and close or re-join as the answer says."""
        tokens = await database_sync_to_async(room.audience_tokens)(self.user, self.meeting_id)
        if tokens is None:
            await self._forbid()
            return
        if tokens != self.tokens:
            await self._leave(self.tokens - tokens)
            await self._join(tokens - self.tokens)
            self.tokens = tokens
            self.sequencer.tokens = tokens
            async with self._sending:
                await self._send_snapshot()

    # -- sending ----------------------------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        return clock.monotonic()

    async def _deliver(self, texts: list[str]) -> None:
        """Send ``texts`` (already framed by the sequencer), unless the client has stopped reading."""
        if not texts:
            return
        if self._behind():
            # Not written: the client finds the jump when it reads again, and resumes.
            self.sequencer.chained = False
            return
        for text in texts:
            await self._send_text(text)

    async def _send_text(self, text: str) -> None:
        """One text frame: written straight to Daphne's protocol while the socket is open (framed once
        per text for all sockets, ``wsframes.write_text``), not through Channels' and autobahn's send
        chain; in the same order, since Daphne handles an application's send in the same call."""
        protocol = self._protocol
        if protocol is not None and protocol.state == protocol.STATE_OPEN:
            wsframes.write_text(protocol, text)
        else:
            await self.send(text_data=text)

    def _behind(self) -> bool:
        waiting = wsframes.buffered_bytes(self._transport)
        if waiting is None or waiting <= SLOW_BUFFER_BYTES:
            self._slow_since = None
            return False
        now = self._now()
        if self._slow_since is None:
            self._slow_since = now
        elif now - self._slow_since > SLOW_SECONDS and not self._closing_slow:
            self._closing_slow = True
            log.info("closing a room socket of meeting %s: %s bytes unread for %.0f s", self.meeting_id, waiting,
                     now - self._slow_since)
            self._spawn(self.close(code=CLOSE_TOO_SLOW))
            # The close frame waits behind the unread bytes; Daphne's close-handshake timeout then
            # drops the connection, and the buffer with it.
        return True

    def _arm(self) -> None:
        """Wake up when the sequencer next has something to release (a held tally, a lost doorbell)."""
        deadline = self.sequencer.deadline(gaps=self._probe_sent is None)
        if self._probe_sent is not None:
            deadline = min(deadline or math.inf, self._probe_sent + PROBE_TIMEOUT_SECONDS)
        if deadline is None or (self._timer is not None and self._timer_at <= deadline):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = asyncio.get_running_loop().call_later(max(0.0, deadline - self._now()), self._wake)

    def _wake(self) -> None:
        self._timer = None
        self._spawn(self._tick())

    async def _tick(self) -> None:
        async with self._sending:
            if not self.tokens:
                return
            now = self._now()
            await self._deliver(self.sequencer.due(now))
            if self._probe_sent is not None and now - self._probe_sent >= PROBE_TIMEOUT_SECONDS:
                self._probe_sent = None  # the probe itself was lost
                await self._deliver(self.sequencer.give_up(now))
            elif self._probe_sent is None and self.sequencer.stalled(now):
                # The missing doorbell may only be late, queued behind other sockets' work in this
                # process: ask the channel layer to hand us a probe behind whatever is queued.
                self._probe_sent = now
                try:
                    await self.hub.probe(self.inbox)
                except Exception:  # the layer is away: no point waiting for it
                    log.warning("room probe not sent", exc_info=True)
                    self._probe_sent = None
                    await self._deliver(self.sequencer.give_up(now))
            self._arm()

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- helpers ----------------------------------------------------------------------------------

    async def _join(self, tokens) -> None:
        await self.hub.join(self.inbox, [realtime.group_name(self.meeting_id, token) for token in tokens])

    async def _leave(self, tokens) -> None:
        await self.hub.leave(self.inbox, [realtime.group_name(self.meeting_id, token) for token in tokens])

    async def _forbid(self, code: int = CLOSE_FORBIDDEN) -> None:
        """Access is gone: leave every group (no further event reaches the socket), forget the
        presence, close with 4403 (or ``code``)."""
        if self.tokens:
            await self._leave(self.tokens)
            self.tokens = frozenset()
            await self._presence(opened=False)
        await self.close(code=code)

    async def _presence(self, *, opened: bool) -> None:
        """The socket's presence row written (``opened``) or forgotten, in a batch with the other
        sockets' of the process (``PRESENCE_BATCH``): one transaction for many sockets of a
        reconnect storm, not one trip through the sync thread each. One queue for both, in order:
        a socket's close is never recorded before its open."""
        item = (self.user, self.meeting_id, self.channel_name, opened)
        try:
            await heartbeats.together(room.presence_changes, item, PRESENCE_BATCH)
        except asyncio.CancelledError:
            if opened:
                # Cancelled while its open waited for the batch (Daphne's ``application_close_timeout``
                # after the client left): the open is recorded all the same, and ``disconnect`` never
                # runs; its close goes in the queue behind it, or the row stays "online" for a person gone.
                closing = asyncio.ensure_future(heartbeats.together(room.presence_changes, (*item[:3], False),
                                                                    PRESENCE_BATCH))
                _closing.add(closing)
                closing.add_done_callback(_closing.discard)
            raise

    async def _send_snapshot(self) -> None:
        framed = await database_sync_to_async(_snapshot_parts)(self.user, self.meeting_id)
        if framed is None:
            # Closing alone left the socket in its groups, still forwarding events, and a socket
            # refused while connecting was then recorded as present.
            await self._forbid()
            return
        seq, parts = framed
        if len(parts) > 1:
            log.warning("room snapshot of meeting %s for %s sent in %s parts", self.meeting_id, self.user, len(parts))
        for part in parts:
            await self.send(text_data=part)
        await self._deliver(self.sequencer.reset(seq, self._now()))

    async def _replay(self, after: int, *, live: bool, chained: bool = False) -> None:
        """The visible events after ``after``, then ``resumed``. ``chained`` gives each its ``prev``,
        for a replay the client did not ask for (``_catch_up``)."""
        replay = await database_sync_to_async(room.replay_for)(self.user, self.meeting_id, after, self.tokens)
        if replay is None:
            # Too far behind to replay: a fresh snapshot is cheaper and just as correct.
            await self._send_snapshot()
            if not live and self.tokens:
                await self.send(text_data=json.dumps({"type": "resumed", "seq": self.sequencer.sent}))
            return
        texts, head = replay
        # Every visible event in the range, even those this socket sent before: the client asked
        # because it missed something, and it drops what it already has by seq.
        prev = after
        for seq, text in texts:
            await self.send(text_data=sequencer.with_prev(text, prev if chained else None))
            prev = seq
        # Everything up to the head has been considered: invisible events count as delivered.
        released = self.sequencer.reset(head, self._now())
        await self.send(text_data=json.dumps({"type": "resumed", "seq": self.sequencer.sent}))
        await self._deliver(released)

    async def _catch_up(self, head: int) -> None:
        """Doorbells can be lost with nothing after them to reveal the gap (Redis restarted, the
        socket's group memberships expired): if events the session already had at the previous
        ping are still unaccounted for, send them from the database."""
        if self._head_seen > self.sequencer.known:
            await self._replay(self.sequencer.sent, live=False, chained=True)
        self._head_seen = head

    async def _close_rate_limited(self, refusal: limits.Refusal) -> None:
        log.info("closing a room socket of meeting %s: %s over its limit", self.meeting_id, refusal.scope)
        self._limited = True
        if self.tokens:
            await self._leave(self.tokens)
            await self._presence(opened=False)
            self.tokens = frozenset()
        await self.close(code=CLOSE_RATE_LIMITED, reason=f"rate_limited retry_after={refusal.retry_after}")

    async def _error(self, code: str, detail: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "code": code, "detail": detail}))


def _admit(user, meeting_id: int, scope) -> tuple[frozenset[str] | None, bool]:
    """The caller's audience tokens (None: not in this room) and whether the credential the socket
    was opened with still holds (``ws_auth.still_valid``): one trip through the sync thread."""
    tokens = room.audience_tokens(user, meeting_id)
    return tokens, tokens is not None and ws_auth.still_valid(scope)


def _snapshot_parts(user, meeting_id: int) -> tuple[int, list[str]] | None:
    """The caller's snapshot as the texts to send, and its ``seq``; None without access. Built and
    serialised in the thread for synchronous code, not on the event loop: a large session's JSON
    took the loop from the tablets already connected during a reconnect storm. A snapshot is per
    person (``me``, their own positions and votes, what they may see), cut from what the sockets of
    the session share at one ``seq`` (``meetings.snapshot.snapshot_text``, issue 19). A snapshot
    over the frame budget goes in parts (``meetings.framesize``), never as a frame Daphne refuses to
    send (which closed the socket with 1011, and the tablet looped)."""
    framed = room.snapshot_text_for(user, meeting_id)
    if framed is None:
        return None
    seq, text = framed
    return seq, framesize.split(text, seq)


def _after_seq(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin1")).get("after_seq")
    return whole_number(values[0]) if values else None
