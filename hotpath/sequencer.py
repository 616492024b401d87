"""What one room socket sends, given the doorbells it hears (``Sequencer``), and the ``prev`` splice
(``with_prev``). The doorbells themselves are rung by ``ecabinet.realtime`` (the broadcast module):
this module only decides, per socket, what to do with them. Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["COALESCE_SECONDS", "MAX_EARLY", "NOT_PLAIN", "REORDER_SECONDS", "Sequencer", "with_prev"]

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

# Spliced texts kept (``with_prev``): a few events in flight, each with the one or two ``prev`` its
# sockets give it.
_SPLICED_LIMIT = 256
_spliced: dict[tuple[str, int], str] = {}
# ``next_in_line``'s answer when the doorbell is not the plain case (``offer`` decides).
NOT_PLAIN = -1


def with_prev(text: str, prev: int | None) -> str:
    """The serialised event ``text`` with ``"prev": prev`` in front (unchanged when ``prev`` is None).

    A string splice, not a serialisation: the event's JSON is made once, in ``meetings.events``,
    and every socket sends that same text with its own few bytes in front. The sockets of a room
    almost all give an event the same ``prev``: the spliced text is made once and the same object
    handed to each, so that ``hotpath.wsframes`` finds its frame by identity instead of hashing
    and comparing a new copy per socket."""
    if prev is None:
        return text
    key = (text, prev)
    spliced = _spliced.get(key)
    if spliced is None:
        spliced = f'{{"prev":{int(prev)},{text[1:]}'
        if len(_spliced) >= _SPLICED_LIMIT:
            _spliced.clear()
        _spliced[key] = spliced
    return spliced


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

    def next_in_line(self, message: dict) -> int | None:
        """``offer`` for the common case, without its bookkeeping: an event's doorbell (not a
        marker) for this socket's tokens, with no coalescing key, whose ``seq`` is the next one,
        while nothing is early, skipped or held. Takes it and returns the ``prev`` to send it with
        (None after a gap) — ``offer`` would send exactly ``with_prev(text, prev)``; or
        ``NOT_PLAIN``, changing nothing (call ``offer``)."""
        if (message.get("seq") != self.known + 1 or self.early or self.skips or self.held is not None
                or message.get("text") is None or message.get("coalesce") is not None
                or self.tokens.isdisjoint(message["audience"])):
            return NOT_PLAIN
        prev = self.sent if self.chained else None
        self.known = self.sent = message["seq"]
        self.chained = True
        self.early_since = None
        return prev

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
