"""``Sequencer.next_in_line``, the fan-out's shortcut for the common doorbell, must decide exactly as
``offer`` would: same texts sent (same ``prev``), same state after, and nothing for a socket whose
tokens may not see the event. Checked on random streams of doorbells shaped as
``ecabinet.realtime.broadcast_on_commit`` rings them (events for everyone one by one, the rest in a
marker with their texts), heard through several groups, some late, some lost."""

from __future__ import annotations

import json
import random

import pytest

from ecabinet import realtime
from hotpath import sequencer as seqmod
from hotpath.sequencer import NOT_PLAIN, Sequencer, with_prev

AUDIENCES = [["all"], ["all"], ["all"], ["all", "internal"], ["internal"], ["secretariat"], ["chair"], ["u5"],
             ["u6"], ["all", "u5"]]


def _text(seq: int, kind: str) -> str:
    return json.dumps({"type": "event", "seq": seq, "kind": kind, "data": {"n": seq}}, separators=(",", ":"))


def _doorbells(rng: random.Random, transactions: int) -> list[tuple[list[str], dict]]:
    """(groups, message) in ringing order, as ``broadcast_on_commit`` builds them."""
    out, seq = [], 0
    for _ in range(transactions):
        events = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            seq += 1
            kind, coalesce = ("vote.tally", "vote.tally:1") if rng.random() < 0.2 else ("comment.posted", None)
            events.append(realtime.Outgoing(seq=seq, audience=rng.choice(AUDIENCES), text=_text(seq, kind),
                                            coalesce=coalesce))
        for event in events:
            if "all" in event.audience:
                message = {"type": "room.event", "seq": event.seq, "audience": event.audience, "text": event.text}
                if event.coalesce:
                    message["coalesce"] = event.coalesce
                out.append((event.audience, message))
        mark = realtime.marker([(e.seq, e.audience) for e in events])
        if mark is not None:
            mark["texts"] = [[e.seq, e.text, e.coalesce] for e in events if "all" not in e.audience]
            out.append((["all"], mark))
    return out


def _heard(rng: random.Random, tokens: frozenset[str], doorbells) -> list[dict]:
    """What one socket's inbox receives: one copy per group of its tokens, a few swapped, a few lost."""
    heard = [message for groups, message in doorbells for group in groups if group in tokens]
    for i in range(len(heard) - 1):
        if rng.random() < 0.05:
            heard[i], heard[i + 1] = heard[i + 1], heard[i]
    return [message for message in heard if rng.random() > 0.03]


def _plain_or_offer(sequencer: Sequencer, message: dict, now: float) -> list[str]:
    prev = sequencer.next_in_line(message)
    if prev != NOT_PLAIN:
        return [with_prev(message["text"], prev)]
    return sequencer.offer(message, now)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("tokens", [frozenset({"all"}), frozenset({"all", "internal", "u5"}),
                                    frozenset({"all", "internal", "secretariat", "u6"}),
                                    frozenset({"all", "internal", "chair", "u7"})])
def test_the_shortcut_sends_what_offer_sends_and_leaves_the_same_state(seed, tokens):
    rng = random.Random(seed)
    heard = _heard(rng, tokens, _doorbells(rng, 60))
    by_offer, by_shortcut = Sequencer(tokens), Sequencer(tokens)
    now, taken = 0.0, 0
    for message in heard:
        now += rng.choice([0.0, 0.01, 0.1, 0.3, 0.6])
        before = by_shortcut.known
        expected = by_offer.offer(message, now)
        got = _plain_or_offer(by_shortcut, message, now)
        taken += by_shortcut.known == before + 1 and message.get("seq") == before + 1
        assert got == expected
        assert vars(by_shortcut) == vars(by_offer)
        if rng.random() < 0.2:  # timers firing
            assert by_shortcut.due(now) == by_offer.due(now)
            if by_offer.stalled(now):
                assert by_shortcut.give_up(now) == by_offer.give_up(now)
            assert vars(by_shortcut) == vars(by_offer)
    assert taken  # the stream exercised the shortcut, not only offer


def test_it_takes_the_next_event_for_its_tokens_and_nothing_else():
    text = _text(11, "comment.posted")
    member = Sequencer({"all", "internal", "u5"})
    member.reset(10, 0.0)
    assert member.next_in_line({"type": "room.event", "seq": 11, "audience": ["chair"], "text": text}) == NOT_PLAIN
    assert member.known == 10 and member.sent == 10  # not taken: offer decides (a skip, nothing sent)
    assert member.next_in_line({"type": "room.event", "seq": 12, "audience": ["all"], "text": text}) == NOT_PLAIN
    assert member.next_in_line({"type": "room.event", "seq": 11, "audience": ["all"], "text": text,
                                "coalesce": "vote.tally:1"}) == NOT_PLAIN
    assert member.next_in_line({"type": "room.event", "seq": 11, "audience": ["all"]}) == NOT_PLAIN  # a marker
    assert member.next_in_line({"type": "room.event", "seq": 11, "audience": ["u5"], "text": text}) == 10
    assert (member.known, member.sent, member.chained) == (11, 11, True)
    member.chained = False  # after a gap the next one goes without prev
    assert member.next_in_line({"type": "room.event", "seq": 12, "audience": ["all"], "text": text}) is None
    assert member.chained


def test_the_spliced_text_is_made_once_per_event_and_prev():
    text = _text(12, "comment.posted")
    first = with_prev(text, 11)
    assert first == '{"prev":11,' + text[1:]
    assert with_prev(text, 11) is first  # one object for every socket: the frame is found by identity
    assert with_prev(text, 9) != first
    assert with_prev(text, None) is text


def test_the_spliced_texts_kept_are_bounded():
    for seq in range(seqmod._SPLICED_LIMIT * 3):
        with_prev(_text(seq, "comment.posted"), seq)
        assert len(seqmod._spliced) <= seqmod._SPLICED_LIMIT
