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

An event not addressed to ``all`` also sends the ``all`` group a *marker*: its ``seq`` and audience,
without the text. Every socket is in ``all``, so every socket hears of every ``seq`` and can tell
its client "the numbers between are not for you" (``prev``, docs/protocol.md §2) instead of making
it resume from the database after each private event — with 500 tablets, one vote's ``vote.mine``
would otherwise cost 499 resumes.

A control message to ``m<meeting>.u<user id>`` tells that person's sockets to re-check their
access (after a removal or a change of role).

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

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from ecabinet import hub

log = logging.getLogger(__name__)

__all__ = ["Sequencer", "access_changed_on_commit", "broadcast_on_commit", "group_name", "user_token", "with_prev"]

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


def _all_group(group: str) -> str:
    """``m7.secretariat`` → ``m7.all`` (the inverse of ``group_name`` for the session part)."""
    return f"{group.split('.', 1)[0]}.{ALL}"


async def _ring(layer, groups: list[str], message: dict) -> None:
    # Each copy names its group: a process receives them on one channel (``ecabinet.hub``).
    for group in groups:
        await layer.group_send(group, {**message, "group": group})
    if message["type"] == "room.event" and ALL not in message["audience"] and groups:
        # Sent after the text, so that a socket in both groups normally hears the text first.
        group = _all_group(groups[0])
        await layer.group_send(group, {"type": "room.event", "seq": message["seq"], "audience": message["audience"],
                                       "group": group})


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


_ringing: set[asyncio.Task] = set()


def _ring_soon(layer, groups: list[str], message: dict) -> None:
    task = asyncio.ensure_future(_ring(layer, groups, message))
    _ringing.add(task)
    task.add_done_callback(_ringing.discard)


def _send(groups: list[str], message: dict) -> None:
    """Send ``message`` to ``groups``; an event not addressed to ``all`` also sends its marker there."""
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer):
        # One process: its queues belong to the server's event loop, which is also the only reader.
        # Handed to that loop without waiting: a request's thread waiting for a loop busy with
        # hundreds of sockets held its place among the HTTP_MAX_CONCURRENCY for nothing. Callbacks
        # run in the order they were handed over, and an in-memory ``_ring`` never suspends, so the
        # doorbells go out in that order.
        loop = hub.loop_of(layer)
        if loop is not None:
            loop.call_soon_threadsafe(_ring_soon, layer, groups, message)
        else:  # no socket has joined anything in this process (commands, tests without sockets)
            async_to_sync(_ring)(layer, groups, message)
    else:
        _ringer.ring(layer, groups, message)


def broadcast_on_commit(*, meeting_id: int, audience: list[str], seq: int, text: str,
                        coalesce: str | None = None) -> None:
    """After commit, send the serialised event ``text`` to each audience group, once.

    ``coalesce`` names the state the event replaces wholesale (``vote.tally:12``): sockets may then
    skip it when a newer event of the same key follows within ``COALESCE_SECONDS``."""
    groups = [group_name(meeting_id, token) for token in audience]
    message = {"type": "room.event", "seq": seq, "audience": audience, "text": text}
    if coalesce:
        message["coalesce"] = coalesce
    transaction.on_commit(lambda: _send(groups, message), robust=True)


def access_changed_on_commit(*, meeting_id: int, user_id: int) -> None:
    """After commit, make that user's sockets on the session re-check their access."""
    message = {"type": "room.access", "meeting_id": meeting_id}
    transaction.on_commit(lambda: _send([group_name(meeting_id, user_token(user_id))], message), robust=True)


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
    * **Say which gaps are empty.** Markers tell the socket which numbers are not for it. When every
      number between the last event it sent (``sent``) and the next is accounted for, the next is sent
      with ``prev`` = ``sent``: the client applies it without asking the database.
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
        self.early: dict[int, dict] = {}
        self.early_since: float | None = None
        self.held: tuple[int, str, str] | None = None  # (seq, key, text)
        self.last_out: dict[str, float] = {}

    # -- input ------------------------------------------------------------------------------------

    def offer(self, message: dict, now: float) -> list[str]:
        """A ``room.event`` doorbell; returns the texts to send now, in order."""
        seq = message["seq"]
        if seq <= self.known or seq in self.early:
            return []
        text = message.get("text")
        if self.tokens.intersection(message["audience"]):
            if text is None:
                return []  # the marker of an event for this socket: its text comes through another group
            self.early[seq] = {"seq": seq, "text": text, "coalesce": message.get("coalesce")}
        else:
            self.early[seq] = {"seq": seq, "text": None}
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
        return bool(self.early) and now + 0.001 - self.early_since >= self.reorder

    def give_up(self, now: float) -> list[str]:
        """Take the missing doorbell as lost: what waited behind it goes, the first without ``prev``."""
        return self._give_up(now) if self.early else []

    def deadline(self, *, gaps: bool = True) -> float | None:
        """When ``due`` (or, with ``gaps``, ``stalled``) next has something to say, or None."""
        times = []
        if self.held is not None:
            times.append(self.last_out.get(self.held[1], -math.inf) + self.window)
        if self.early and gaps:
            times.append(self.early_since + self.reorder)
        return min(times) if times else None

    # -- rules ------------------------------------------------------------------------------------

    def _drain(self, now: float) -> list[str]:
        out = []
        while (event := self.early.pop(self.known + 1, None)) is not None:
            self.known = event["seq"]
            out += self._take(event, now)
        if not self.early:
            self.early_since = None
        elif len(self.early) > MAX_EARLY:
            out += self._give_up(now)
        elif self.early_since is None:
            self.early_since = now
        return out

    def _give_up(self, now: float) -> list[str]:
        out = [self._flush(now)] if self.held is not None else []
        self.known = min(self.early) - 1
        self.chained = False
        self.early_since = None
        return out + self._drain(now)

    def _take(self, event: dict, now: float) -> list[str]:
        if event["text"] is None:
            return []  # not for this socket: accounted for, nothing to send
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
