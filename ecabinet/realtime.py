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
audience tokens may see (``Sequencer``). Sent one by one to their groups, the 250 ``vote.mine`` of
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
import math
import os
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from ecabinet import hub

log = logging.getLogger(__name__)

__all__ = ["Outgoing", "Sequencer", "access_changed_on_commit", "access_group", "broadcast_on_commit",
           "credentials_closed_on_commit", "group_name", "marker", "user_token", "with_prev"]

ALL = "all"
# How long a "latest wins" event (a tally) may wait for a newer one of its key, after the last one
# of that key was sent: a tablet then shows at most one stale count for this long, and a storm of
# votes costs each tablet about two tallies per window instead of one per vote. Half a second: a
# running count twice a second is as much as anyone reads, and a named tally lists the voters, so
# with 500 tablets each tally sent is megabytes written (at 150 ms the sends of a 500-vote storm
# took a third of the server's CPU).
COALESCE_SECONDS = 0.5
# How long a doorbell that arrived before its predecessor waits for it before the socket checks
# whether the predecessor is lost (two processes' doorbells may cross in Redis); giving up makes the
# client resume from the database, so the consumer gives up only once a message it sent itself after
# this delay has come back through the channel layer behind everything queued before it.
REORDER_SECONDS = 0.25
# Early doorbells kept at most: beyond, the missing one is taken as lost at once.
MAX_EARLY = 500
# Doorbells waiting for the ringer thread at most (Redis away for long): beyond, they are dropped.
MAX_WAITING_DOORBELLS = 10_000


def user_token(user_id: int) -> str:
    return f"u{user_id}"


def group_name(meeting_id: int, token: str) -> str:
    return f"m{meeting_id}.{token}"


async def _ring(layer, groups: list[str], message: dict) -> None:
    # Each copy names its group: a process receives them on one channel (``ecabinet.hub``).
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
    key follows within ``COALESCE_SECONDS``)."""

    seq: int
    audience: list[str]
    text: str
    coalesce: str | None = None


def broadcast_on_commit(*, meeting_id: int, events: list[Outgoing]) -> None:
    """After commit, send each serialised event for everyone to its audience groups, once, in
    ``seq`` order; then, if some were not for everyone, their one marker to ``all``, carrying their
    texts (each socket takes those its tokens may see: ``Sequencer``)."""
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


def with_prev(text: str, prev: int | None) -> str:
    """The serialised event ``text`` with ``"prev": prev`` in front (unchanged when ``prev`` is None).

    A string splice, not a serialisation: the event's JSON is made once, in ``meetings.events``,
    and every socket sends that same text with its own few bytes in front."""
    if prev is None:
        return text
    return f'{{"prev":{int(prev)},{text[1:]}'


class Sequencer:
    """What one socket sends, given the doorbells it hears. Pure: no I/O and no clock of its own
    (``now`` comes from the caller), so the rules are tested without sockets or sleeps.

    Rules:

    * **In order, each once.** A doorbell is taken only when its ``seq`` is the next one the socket
      has not accounted for (``known + 1``); one that comes early waits up to ``reorder`` seconds for
      those before it. Duplicates (an event heard through two groups) are dropped.
    * **Say which gaps are empty.** Markers tell the socket which numbers are not for it: a marker
      covers a range of numbers (one transaction's events) and names, per audience token, those
      each may see, with the texts of the private ones; the socket keeps the range as a *skip*,
      takes the texts its tokens may see, and waits only for the texts of the others it may see
      (the events for everyone, sent on their own). When every number between the last event it sent (``sent``) and
      the next is accounted for, the next is sent with ``prev`` = ``sent``: the client applies it
      without asking the database.
    * **Latest wins.** An event with a coalescing key (a tally) is sent at once if none of its key was
      sent in the last ``window`` seconds (leading edge); otherwise it is held, a newer one of the same
      key replaces it (the older is *superseded*, which ``prev`` may skip), and the held one goes out
      when the window ends (trailing edge, ``due``) or before any other event, so order is kept and the
      final state always arrives.
    * **Lost doorbells.** When a missing doorbell does not come in time (``stalled``, then
      ``give_up``), the socket carries on and its next event goes without ``prev``: the client sees
      the jump and resumes from the database.
    """

    def __init__(self, tokens: Iterable[str], *, window: float | None = None, reorder: float | None = None) -> None:
        self.tokens = frozenset(tokens)
        self.window = COALESCE_SECONDS if window is None else window
        self.reorder = REORDER_SECONDS if reorder is None else reorder
        self.sent = 0  # the last event sent, or the head of the last snapshot or replay
        self.known = 0  # every seq up to here was sent, is not for this socket, or was superseded
        self.chained = True  # False after a gap: the next event must not claim a ``prev``
        self.early: dict[int, dict] = {}  # texts that came before their predecessors
        # Ranges (first, last, seqs in them this socket may see, ascending) that markers covered.
        self.skips: list[tuple[int, int, tuple[int, ...]]] = []
        self.early_since: float | None = None
        self.held: tuple[int, str, str] | None = None  # (seq, key, text)
        self.last_out: dict[str, float] = {}

    # -- input ------------------------------------------------------------------------------------

    def offer(self, message: dict, now: float) -> list[str]:
        """A ``room.event`` doorbell (an event's text, or a marker); returns the texts to send now,
        in order."""
        text = message.get("text")
        if text is None:
            return self._mark(message, now)
        seq = message["seq"]
        if seq <= self.known or seq in self.early:
            return []
        if not self.tokens.intersection(message["audience"]):
            return self._mark({"first": seq, "seq": seq, "visible": {}}, now)  # not ours after all
        self.early[seq] = {"seq": seq, "text": text, "coalesce": message.get("coalesce")}
        return self._drain(now)

    def _mark(self, message: dict, now: float) -> list[str]:
        last = message["seq"]
        if "visible" in message:
            first, visible = message["first"], message["visible"]
        else:  # the marker of one event: its seq and audience
            first, visible = last, {token: [last] for token in message["audience"]}
        if last <= self.known:
            return []
        mine = sorted({seq for token in self.tokens for seq in visible.get(token, ())})
        self.skips.append((first, last, tuple(mine)))
        allowed = set(mine)
        for seq, text, coalesce in message.get("texts") or ():
            if seq in allowed and seq > self.known and seq not in self.early:
                self.early[seq] = {"seq": seq, "text": text, "coalesce": coalesce}
        return self._drain(now)

    def reset(self, seq: int, now: float) -> list[str]:
        """A snapshot or a replay up to ``seq`` was sent: everything up to it is accounted for."""
        self.sent = max(self.sent, seq)
        if seq >= self.known:
            self.known = seq
            self.chained = True
        for early in [s for s in self.early if s <= self.known]:
            del self.early[early]
        if self.held is not None and self.held[0] <= seq:
            self.held = None
        return self._drain(now)

    def due(self, now: float) -> list[str]:
        """What the passing of time releases: a held event whose window ended."""
        now += 0.001  # timers may fire a hair early
        if self.held is not None and now - self.last_out.get(self.held[1], -math.inf) >= self.window:
            return [self._flush(now)]
        return []

    def stalled(self, now: float) -> bool:
        """Has a doorbell been missing for ``reorder`` seconds, with later ones waiting behind it?"""
        return self._waiting() and now + 0.001 - self.early_since >= self.reorder

    def give_up(self, now: float) -> list[str]:
        """Take the missing doorbell as lost: what waited behind it goes, the first without ``prev``."""
        return self._give_up(now) if self._waiting() else []

    def deadline(self, *, gaps: bool = True) -> float | None:
        """When ``due`` (or, with ``gaps``, ``stalled``) next has something to say, or None."""
        times = []
        if self.held is not None:
            times.append(self.last_out.get(self.held[1], -math.inf) + self.window)
        if gaps and self._waiting():
            times.append(self.early_since + self.reorder)
        return min(times) if times else None

    # -- rules ------------------------------------------------------------------------------------

    def _waiting(self) -> bool:
        return bool(self.early or self.skips)

    def _drain(self, now: float) -> list[str]:
        out = []
        while True:
            event = self.early.pop(self.known + 1, None)
            if event is not None:
                self.known = event["seq"]
                out += self._take(event, now)
            elif not self._skip():
                break
        self.skips = [skip for skip in self.skips if skip[1] > self.known]
        if not self._waiting():
            self.early_since = None
        elif len(self.early) + len(self.skips) > MAX_EARLY:
            out += self._give_up(now)
        elif self.early_since is None:
            self.early_since = now
        return out

    def _skip(self) -> bool:
        """Account for ``known + 1`` if a marker said it is not for this socket, and for the numbers
        after it that are not either (up to the next one it may see, or the end of the range)."""
        after = self.known + 1
        for first, last, mine in self.skips:
            if first <= after <= last:
                if after in mine:
                    return False  # ours: wait for its text
                upcoming = [seq for seq in mine if seq > after]
                self.known = upcoming[0] - 1 if upcoming else last
                return True
        return False

    def _give_up(self, now: float) -> list[str]:
        """Carry on from the first thing that is waiting; the numbers before it are lost (and so is
        ``known + 1`` itself when it is one this socket may see and its text never came)."""
        out = [self._flush(now)] if self.held is not None else []
        after = min([*self.early, *(max(first, self.known + 1) for first, _last, _mine in self.skips)])
        self.known = after - 1 if after > self.known + 1 else self.known + 1
        self.chained = False
        self.early_since = None
        return out + self._drain(now)

    def _take(self, event: dict, now: float) -> list[str]:
        key = event.get("coalesce")
        out = []
        if self.held is not None and key != self.held[1]:
            out.append(self._flush(now))
        if key is None:
            out.append(self._frame(event["seq"], event["text"]))
        elif self.held is None and now - self.last_out.get(key, -math.inf) >= self.window:
            self.last_out[key] = now
            out.append(self._frame(event["seq"], event["text"]))
        else:
            self.held = (event["seq"], key, event["text"])  # replaces (supersedes) an older one of the key
        return out

    def _flush(self, now: float) -> str:
        seq, key, text = self.held
        self.held = None
        self.last_out[key] = now
        return self._frame(seq, text)

    def _frame(self, seq: int, text: str) -> str:
        prev = self.sent if self.chained else None
        self.sent = seq
        self.chained = True
        return with_prev(text, prev)
