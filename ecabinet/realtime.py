"""The one place that rings the doorbell (DESIGN.md §3 principles 2–3), and the rules by which a
socket turns the doorbells it hears into what it sends.

Services write an event row in their transaction and call ``broadcast_on_commit``; after the
commit, the already-serialised event is sent once per audience group. The channel layer may drop
messages (groups drop over capacity, Redis restarts): clients notice a gap in ``seq`` and resume
from the database, so a lost doorbell costs latency, never data.

Audience tokens and their groups (a consumer joins the groups of the tokens it holds):

* ``all``          → ``m<meeting>.all``          every participant who may see the session;
* ``internal``     → ``m<meeting>.internal``     those who read internal papers (not observers);
* ``secretariat``  → ``m<meeting>.secretariat``  the session's secretaries;
* ``chair``        → ``m<meeting>.chair``        the chair;
* ``u<user id>``   → ``m<meeting>.u<user id>``   one person.

The events a transaction wrote are broadcast together after its commit. When some of them are not
addressed to ``all``, the ``all`` group also gets one *marker* for the lot: the range of ``seq`` they
span and, for each audience token, which of those numbers it may see. Every socket is in
``all``, so every socket hears of every ``seq`` and can tell its client "the numbers between are not
for you" (``prev``, docs/protocol.md §2) instead of making it resume from the database after each
private event — with 500 tablets, one vote's ``vote.mine`` would otherwise cost 499 resumes. One
marker per transaction, not per event: a group commit of 250 votes writes 250 ``vote.mine`` events,
and a marker each would be 250 messages for every tablet in the room.

The marker also carries the texts of those private events, and each socket takes the ones its
audience tokens may see (``hotpath.sequencer.Sequencer``). Sent one by one to their groups, the 250 ``vote.mine`` of
a group commit were 250 trips to Redis from the doorbell thread — long enough, on a busy machine,
for a later transaction's doorbells from another worker to overtake them, and for the sockets that
waited for them to give up and resume (measured: 184 resumes in one cluster storm of 500 votes).
The texts stay inside the server's processes; what a socket sends is still decided by its tokens.

A control message to ``m<meeting>.u<user id>`` tells that person's sockets to re-check their
access (after a removal or a change of role). Every room socket of a user also joins
``access.u<user id>``: a ``room.revoked`` there closes the sockets opened with a device or session
whose access ended (``credentials_closed_on_commit``).

With a layer that serves several event loops (Redis), doorbells are rung from a thread of their own,
in commit order: a request's thread hands the message over and returns, instead of waiting for the
server's event loop — which, with hundreds of sockets, may be busy for a while. A doorbell that
waited there would reach Redis after those of later transactions committed by other processes,
and every socket would take it for lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from hotpath import hub

log = logging.getLogger(__name__)

__all__ = ["Outgoing", "access_changed_on_commit", "access_group", "broadcast_on_commit",
           "credentials_closed_on_commit", "group_name", "marker", "user_token"]

ALL = "all"
# Doorbells waiting for the ringer thread at most (Redis away for long): beyond, they are dropped.
MAX_WAITING_DOORBELLS = 10_000


def user_token(user_id: int) -> str:
    return f"u{user_id}"


def group_name(meeting_id: int, token: str) -> str:
    return f"m{meeting_id}.{token}"


async def _ring(layer, groups: list[str], message: dict) -> None:
    # Each copy names its group: a process receives them on one channel (``hotpath.hub``).
    for group in groups:
        await layer.group_send(group, {**message, "group": group})


def marker(events: list[tuple[int, list[str]]]) -> dict | None:
    """The marker of a transaction's events, given as ``(seq, audience)``: None when all of them are
    for everyone (their texts account for every number). The ``seq`` of a transaction are
    consecutive, so ``first``…``seq`` with, per audience token, the numbers it may see, says
    everything a socket needs."""
    if all(ALL in audience for _seq, audience in events):
        return None
    visible: dict[str, list[int]] = {}
    for seq, audience in events:
        for token in audience:
            visible.setdefault(token, []).append(seq)
    return {"type": "room.event", "first": min(seq for seq, _a in events), "seq": max(seq for seq, _a in events),
            "visible": visible}


class _Ringer:
    """One thread per process, with an event loop of its own, that rings doorbells in the order
    they were handed over."""

    def __init__(self) -> None:
        self.waiting: queue.Queue = queue.Queue(maxsize=MAX_WAITING_DOORBELLS)
        self.lock = threading.Lock()
        self.pid: int | None = None

    def ring(self, layer, groups: list[str], message: dict) -> None:
        with self.lock:
            if self.pid != os.getpid():
                self.pid = os.getpid()
                self.waiting = queue.Queue(maxsize=MAX_WAITING_DOORBELLS)
                threading.Thread(target=self._run, args=(self.waiting,), name="doorbells", daemon=True).start()
        try:
            self.waiting.put_nowait((layer, groups, message))
        except queue.Full:
            log.warning("doorbell for %s dropped: %s are waiting", groups, MAX_WAITING_DOORBELLS)

    @staticmethod
    def _run(waiting: queue.Queue) -> None:
        loop = asyncio.new_event_loop()
        while True:
            layer, groups, message = waiting.get()
            try:
                loop.run_until_complete(_ring(layer, groups, message))
            except Exception:  # Redis away: the doorbell is lost, the clients resume from the log
                log.warning("doorbell for %s lost", groups, exc_info=True)


_ringer = _Ringer()


def _send(groups: list[str], message: dict) -> None:
    """Send ``message`` to each of ``groups``; doorbells go out in the order they were handed over."""
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer):
        # One process: the server's event loop's hub is the only reader, so the doorbell is handed
        # to it directly (``Hub.deliver``), without waiting: a request's thread waiting for a loop
        # busy with hundreds of sockets held its place among the HTTP_MAX_CONCURRENCY for nothing.
        # Callbacks run in the order they were handed over, so the doorbells go out in that order.
        found = hub.local(layer)
        if found is not None:
            loop, the_hub = found
            loop.call_soon_threadsafe(the_hub.deliver, groups, message)
        else:  # no socket has joined anything in this process (commands, tests without sockets)
            async_to_sync(_ring)(layer, groups, message)
    else:
        _ringer.ring(layer, groups, message)


@dataclass(frozen=True)
class Outgoing:
    """An event written in the transaction, ready to ring: its ``seq``, audience tokens, serialised
    text and coalescing key (``vote.tally:12``: sockets may skip it when a newer event of the same
    key follows within ``hotpath.sequencer.COALESCE_SECONDS``)."""

    seq: int
    audience: list[str]
    text: str
    coalesce: str | None = None


def broadcast_on_commit(*, meeting_id: int, events: list[Outgoing]) -> None:
    """After commit, send each serialised event for everyone to its audience groups, once, in
    ``seq`` order; then, if some were not for everyone, their one marker to ``all``, carrying their
    texts (each socket takes those its tokens may see: ``hotpath.sequencer.Sequencer``)."""
    sends = []
    for event in events:
        if ALL not in event.audience:
            continue  # its text goes with the marker
        message = {"type": "room.event", "seq": event.seq, "audience": event.audience, "text": event.text}
        if event.coalesce:
            message["coalesce"] = event.coalesce
        sends.append(([group_name(meeting_id, token) for token in event.audience], message))
    mark = marker([(event.seq, event.audience) for event in events]) if events else None
    if mark is not None:
        mark["texts"] = [[event.seq, event.text, event.coalesce] for event in events if ALL not in event.audience]
        sends.append(([group_name(meeting_id, ALL)], mark))

    def ring() -> None:
        for groups, message in sends:
            _send(groups, message)

    transaction.on_commit(ring, robust=True)


def access_changed_on_commit(*, meeting_id: int, user_id: int) -> None:
    """After commit, make that user's sockets on the session re-check their access."""
    message = {"type": "room.access", "meeting_id": meeting_id}
    transaction.on_commit(lambda: _send([group_name(meeting_id, user_token(user_id))], message), robust=True)


def sockets_close_on_commit(*, user_id: int, sockets: list[tuple[int, str]]) -> None:
    """After commit, close these room sockets of a user — (session id, channel name) pairs —
    wherever they are: a ``room.evict`` to the user's group in each session; only the named
    sockets close (``meetings.consumers``, 4409)."""
    by_meeting: dict[int, list[str]] = {}
    for meeting_id, channel_name in sockets:
        by_meeting.setdefault(meeting_id, []).append(channel_name)

    def ring() -> None:
        for meeting_id, channels in by_meeting.items():
            _send([group_name(meeting_id, user_token(user_id))], {"type": "room.evict", "channels": channels})

    transaction.on_commit(ring, robust=True)


def access_group(user_id: int) -> str:
    """The group every room socket of a user joins, whatever its session: ``access.u<user id>``."""
    return f"access.u{user_id}"


def credentials_closed_on_commit(*, user_id: int, close: list[str] | None = None, keep: list[str] = ()) -> None:
    """After commit, close a user's room sockets on every process by the credential they were opened
    with (``ecabinet.devices``: ``d<device id>``, ``s<session sid>``): those in ``close``, or, when
    ``close`` is None, all but those in ``keep``. The sockets close with 4401 (docs/protocol.md)."""
    message = {"type": "room.revoked", "close": list(close) if close is not None else None, "keep": list(keep)}
    transaction.on_commit(lambda: _send([access_group(user_id)], message), robust=True)
