"""The session room socket, ``/ws/meetings/<id>/`` (DESIGN.md §5.3). Thin by design: it
authenticates, authorises, joins its audience groups, sends the snapshot or the replay, forwards
events, and answers ``resume``. Writes go through the HTTP API, never through the socket.

Ordering and duplicates: events reach a socket through several groups (a secretary holds
``all``, ``internal`` and ``secretariat``) and, when scaled out, from several processes. The
socket forwards an event only if its ``seq`` is above the last one it sent, so nothing is sent
twice; a client that sees a jump asks for ``resume`` and gets the visible events in between from
the database.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from ecabinet import realtime

from . import room

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096  # clients send only resume/ping; anything larger is abuse
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_BIG = 1009
CLOSE_PROTOCOL = 4400


class MeetingConsumer(AsyncWebsocketConsumer):
    meeting_id: int
    user = None
    tokens: frozenset[str] = frozenset()
    last_seq = 0

    async def connect(self) -> None:
        self.meeting_id = int(self.scope["url_route"]["kwargs"]["meeting_id"])
        self.user = self.scope.get("user")
        tokens = await database_sync_to_async(room.audience_tokens)(self.user, self.meeting_id)
        if tokens is None:
            # The same refusal whether the session is missing or forbidden.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.tokens = tokens
        await self._join(tokens)
        await self.accept()
        after = _after_seq(self.scope.get("query_string", b""))
        if after is None:
            await self._send_snapshot()
        else:
            await self._replay(after, live=True)
        if not self.tokens:
            return  # access was withdrawn in the meantime: closed, not present
        await database_sync_to_async(room.presence_connected)(self.user, self.meeting_id, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if not self.tokens:
            return
        await self._leave(self.tokens)
        await database_sync_to_async(room.presence_disconnected)(self.user, self.meeting_id, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_MESSAGE_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            message = json.loads(text_data or "")
            kind = message.get("type")
        except (ValueError, AttributeError):
            await self._error("malformed_message", "Messages are JSON objects with a type.")
            return
        if kind == "resume":
            after = message.get("after_seq")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                await self._error("invalid_after_seq", "after_seq must be a whole number ≥ 0.")
                return
            await self._replay(after, live=False)
        elif kind == "ping":
            # The access doorbell (room.access) may be lost like any other: every heartbeat
            # re-checks access too, so a removed participant is shut out within one ping at worst.
            if await database_sync_to_async(room.audience_tokens)(self.user, self.meeting_id) is None:
                await self._forbid()
                return
            await database_sync_to_async(room.presence_seen)(self.channel_name)
            await self.send(text_data=json.dumps({"type": "pong", "seq": self.last_seq}))
        else:
            await self._error("unknown_message", "Only resume and ping messages are accepted; "
                                                 "changes go through the HTTP API.")

    # -- group messages ---------------------------------------------------------------------------

    async def room_event(self, message: dict) -> None:
        if message["seq"] <= self.last_seq or not (set(message["audience"]) & self.tokens):
            return
        self.last_seq = message["seq"]
        await self.send(text_data=message["text"])

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
            await self._send_snapshot()

    # -- helpers ----------------------------------------------------------------------------------

    async def _join(self, tokens) -> None:
        for token in tokens:
            await self.channel_layer.group_add(realtime.group_name(self.meeting_id, token), self.channel_name)

    async def _leave(self, tokens) -> None:
        for token in tokens:
            await self.channel_layer.group_discard(realtime.group_name(self.meeting_id, token), self.channel_name)

    async def _forbid(self) -> None:
        """Access is gone: leave every group (no further event reaches the socket), forget the
        presence, close with 4403."""
        if self.tokens:
            await self._leave(self.tokens)
            self.tokens = frozenset()
            await database_sync_to_async(room.presence_disconnected)(self.user, self.meeting_id, self.channel_name)
        await self.close(code=CLOSE_FORBIDDEN)

    async def _send_snapshot(self) -> None:
        snapshot = await database_sync_to_async(room.snapshot_for)(self.user, self.meeting_id)
        if snapshot is None:
            # Closing alone left the socket in its groups, still forwarding events, and a socket
            # refused while connecting was then recorded as present.
            await self._forbid()
            return
        self.last_seq = max(self.last_seq, snapshot["seq"])
        await self.send(text_data=room.dumps(snapshot))

    async def _replay(self, after: int, *, live: bool) -> None:
        replay = await database_sync_to_async(room.replay_for)(self.user, self.meeting_id, after, self.tokens)
        if replay is None:
            # Too far behind to replay: a fresh snapshot is cheaper and just as correct.
            await self._send_snapshot()
            if not live and self.tokens:
                await self.send(text_data=json.dumps({"type": "resumed", "seq": self.last_seq}))
            return
        texts, head = replay
        # Every visible event in the range, even those this socket sent before: the client asked
        # because it missed something, and it drops what it already has by seq.
        for _seq, text in texts:
            await self.send(text_data=text)
        # Everything up to the head has been considered: invisible events count as delivered.
        self.last_seq = max(self.last_seq, head)
        await self.send(text_data=json.dumps({"type": "resumed", "seq": self.last_seq}))

    async def _error(self, code: str, detail: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "code": code, "detail": detail}))


def _after_seq(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin1")).get("after_seq")
    if not values or not values[0].isdigit():
        return None
    return int(values[0])
