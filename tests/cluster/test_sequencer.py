"""``hotpath.sequencer.Sequencer``: what one socket sends, given the doorbells it hears, in a table of
cases with a fake clock (no sockets, no sleeps). The same rules run in every consumer
(tests/cluster/test_fanout.py drives them through real sockets)."""

from __future__ import annotations

import json

from hotpath.sequencer import Sequencer, with_prev

MEMBER = frozenset({"all", "internal", "u5"})


def bell(seq: int, audience=("all",), *, kind: str = "comment.posted", coalesce: str | None = None,
         marker: bool = False) -> dict:
    message = {"type": "room.event", "seq": seq, "audience": list(audience)}
    if not marker:
        message["text"] = json.dumps({"type": "event", "seq": seq, "kind": kind, "data": {"n": seq}},
                                     separators=(",", ":"))
    if coalesce:
        message["coalesce"] = coalesce
    return message


def tally(seq: int, motion: int = 1) -> dict:
    return bell(seq, kind="vote.tally", coalesce=f"vote.tally:{motion}")


def sent(texts: list[str]) -> list[tuple[int, int | None]]:
    """(seq, prev) of each text sent."""
    return [(m["seq"], m.get("prev")) for m in map(json.loads, texts)]


def started(seq: int = 10, tokens=MEMBER, **kwargs) -> Sequencer:
    sequencer = Sequencer(tokens, **kwargs)
    assert sequencer.reset(seq, 0.0) == []
    return sequencer


def test_it_splices_prev_into_the_serialised_event_without_reserialising():
    text = '{"type":"event","seq":7,"kind":"x","data":{}}'
    assert with_prev(text, 4) == '{"prev":4,"type":"event","seq":7,"kind":"x","data":{}}'
    assert json.loads(with_prev(text, 4)) == {**json.loads(text), "prev": 4}
    assert with_prev(text, None) is text


def test_it_sends_the_next_event_with_prev_and_drops_duplicates():
    s = started()
    assert sent(s.offer(bell(11), 1.0)) == [(11, 10)]
    assert s.offer(bell(11), 1.0) == []  # the same event through a second group
    assert s.offer(bell(9), 1.0) == []  # older than the snapshot
    assert (s.sent, s.known) == (11, 11)


def test_it_skips_what_the_markers_say_is_not_for_this_socket():
    s = started()
    assert s.offer(bell(11, ["secretariat"], marker=True), 1.0) == []
    assert s.offer(bell(12, ["u9"], marker=True), 1.0) == []
    assert sent(s.offer(bell(13), 1.0)) == [(13, 10)]  # 11 and 12 were not for this socket


def test_it_waits_for_the_text_of_an_event_it_may_see_when_the_marker_comes_first():
    s = started()
    assert s.offer(bell(11, ["u5"], marker=True), 1.0) == []  # for this socket: the marker is not enough
    assert s.known == 10
    assert sent(s.offer(bell(11, ["u5"]), 1.0)) == [(11, 10)]


def test_it_puts_doorbells_that_crossed_back_in_order():
    s = started()
    assert s.offer(bell(12), 1.0) == []
    assert s.deadline() == 1.0 + s.reorder
    assert sent(s.offer(bell(11), 1.05)) == [(11, 10), (12, 11)]
    assert s.deadline() is None


def test_it_gives_up_on_a_lost_doorbell_and_makes_the_client_resume():
    s = started()
    assert s.offer(bell(12), 1.0) == []
    assert not s.stalled(1.1)
    assert s.stalled(1.0 + s.reorder)
    # 11 is lost: 12 goes without prev, so the client sees 10 → 12 and resumes from the database.
    assert sent(s.give_up(1.0 + s.reorder)) == [(12, None)]
    assert not s.stalled(5.0) and s.give_up(5.0) == []
    assert sent(s.offer(bell(13), 2.0)) == [(13, 12)]
    assert s.offer(bell(11), 2.0) == []  # arrives at last: too late, the client has it from the replay


def test_it_holds_a_tally_after_one_was_just_sent_and_sends_only_the_latest():
    s = started(window=0.15)
    assert sent(s.offer(tally(11), 1.0)) == [(11, 10)]  # leading edge
    assert s.offer(tally(12), 1.01) == []
    assert s.offer(bell(13, ["u9"], marker=True), 1.02) == []  # someone's vote.mine
    assert s.offer(tally(14), 1.03) == []  # supersedes 12
    assert s.deadline() == 1.0 + 0.15
    assert s.due(1.1) == []
    assert sent(s.due(1.15)) == [(14, 11)]  # trailing edge: 12 superseded, 13 not for this socket
    assert s.held is None and s.deadline() is None


def test_it_sends_a_held_tally_before_any_other_event_so_order_is_kept():
    s = started(window=0.15)
    s.offer(tally(11), 1.0)
    s.offer(tally(12), 1.01)
    assert sent(s.offer(bell(13), 1.02)) == [(12, 11), (13, 12)]


def test_it_keeps_tallies_of_different_motions_apart():
    s = started(window=0.15)
    s.offer(tally(11, motion=1), 1.0)
    s.offer(tally(12, motion=1), 1.01)
    # Motion 2's tally is not a newer motion-1 tally: the held one goes first.
    assert sent(s.offer(tally(13, motion=2), 1.02)) == [(12, 11), (13, 12)]


def test_it_sends_a_storm_of_500_tallies_as_two_per_window_ending_with_the_last():
    s = started(0, window=0.15)
    out = []
    now = 0.0
    for seq in range(1, 1001):
        now = seq * 0.005  # a vote every 10 ms: its tally, then someone's vote.mine
        out += s.offer(tally(seq) if seq % 2 else bell(seq, [f"u{seq}"], marker=True), now)
        while (deadline := s.deadline()) is not None and deadline <= now:
            out += s.due(deadline)
    out += s.due(s.deadline())
    messages = sent(out)
    assert len(messages) <= 2 * (now / 0.15 + 1)  # about 5 s of votes: at most ~70, not 500
    assert messages[-1][0] == 999  # the final tally always goes out
    # Each one follows the previous (prev): the client never has to resume.
    assert all(prev == before for (_, prev), (before, _) in zip(messages[1:], messages, strict=False))


def test_it_releases_what_waited_behind_a_snapshot_or_replay():
    s = started()
    assert s.offer(bell(14), 1.0) == []
    assert s.offer(tally(12), 1.0) == []
    assert sent(s.reset(13, 1.01)) == [(14, 13)]  # the replay covered 11 to 13
    assert s.held is None


def test_it_forgets_a_held_tally_that_a_replay_covered():
    s = started(window=0.15)
    s.offer(tally(11), 1.0)
    s.offer(tally(12), 1.01)
    assert s.reset(12, 1.02) == []
    assert s.held is None and s.due(2.0) == []


def test_it_gives_up_at_once_when_too_many_doorbells_wait():
    s = started(0)
    for seq in range(2, 600):
        s.offer(bell(seq), 1.0)
    assert s.known == 599 and not s.early


# --- markers of a whole transaction (a group commit of votes) -------------------------------------

def batch_marker(first: int, last: int, visible: dict) -> dict:
    return {"type": "room.event", "first": first, "seq": last, "visible": visible}


def test_one_marker_accounts_for_a_whole_range_of_private_events():
    s = started()
    # 11..260: 250 members' vote.mine, none of them this socket's; 261: the tally, for everyone.
    visible = {f"u{100 + seq}": [seq] for seq in range(11, 261)} | {"all": [261]}
    assert s.offer(batch_marker(11, 261, visible), 1.0) == []
    assert s.known == 260 and s.skips == [(11, 261, (261,))]
    assert sent(s.offer(tally(261), 1.0)) == [(261, 10)]
    assert s.known == 261 and not s.skips and s.deadline() is None


def test_within_a_marked_range_it_waits_for_the_texts_of_its_own_events():
    s = started()
    visible = {"u4": [11], "u5": [12], "u6": [13], "all": [14]}
    assert s.offer(batch_marker(11, 14, visible), 1.0) == []
    assert s.known == 11  # 12 is this member's own vote.mine: its text comes through u5
    assert sent(s.offer(bell(14), 1.0)) == []  # the tally waits behind it
    assert sent(s.offer(bell(12, ["u5"]), 1.0)) == [(12, 10), (14, 12)]


def test_texts_that_come_before_their_marker_wait_for_it():
    s = started()
    assert s.offer(bell(14), 1.0) == []
    assert s.offer(bell(12, ["u5"]), 1.0) == []
    assert sent(s.offer(batch_marker(11, 14, {"u4": [11], "u5": [12], "u6": [13], "all": [14]}), 1.0)) == \
        [(12, 10), (14, 12)]


def test_a_marker_for_numbers_already_accounted_for_changes_nothing():
    s = started(20)
    assert s.offer(batch_marker(11, 14, {"u4": [11, 12, 13, 14]}), 1.0) == []
    assert not s.skips and s.known == 20


def test_it_gives_up_on_its_own_event_whose_text_never_came():
    s = started()
    assert s.offer(batch_marker(11, 13, {"u5": [11], "u6": [12], "all": [13]}), 1.0) == []
    assert s.known == 10 and s.stalled(1.0 + s.reorder)
    # 11 (this member's own) is lost: 13 comes without prev and the client resumes.
    assert s.give_up(1.0 + s.reorder) == []
    assert s.known == 12
    assert sent(s.offer(bell(13), 1.5)) == [(13, None)]


def test_ranges_that_crossed_in_the_layer_are_put_back_in_order():
    s = started()
    assert s.offer(batch_marker(15, 16, {"u7": [15], "all": [16]}), 1.0) == []
    assert s.offer(bell(16), 1.0) == []
    assert s.known == 10  # 11..14 are not accounted for yet
    assert sent(s.offer(batch_marker(11, 14, {"u8": [11, 12, 13, 14]}), 1.05)) == [(16, 10)]


def test_a_marker_hands_over_the_private_texts_its_tokens_may_see_and_no_others():
    """One group commit: votes of u5, u9 and u7 (each its own ``vote.mine``), then the tally for
    all. The tally comes first on its own; the marker brings the private texts."""
    def text(seq: int) -> str:
        return json.dumps({"type": "event", "seq": seq, "kind": "vote.mine", "data": {"n": seq}}, separators=(",", ":"))

    marker = {"type": "room.event", "first": 11, "seq": 14,
              "visible": {"u5": [11], "u9": [12], "u7": [13], "all": [14]},
              "texts": [[11, text(11), None], [12, text(12), None], [13, text(13), None]]}
    s = started()
    assert s.offer(tally(14), 1.0) == []  # early: 11–13 not accounted for yet
    out = s.offer(marker, 1.0)
    assert sent(out) == [(11, 10), (14, 11)]  # its own vote, then the tally: 12 and 13 are not its
    assert all(json.loads(t)["seq"] != 12 and json.loads(t)["seq"] != 13 for t in out)
    other = started(tokens=frozenset({"all", "u9"}))
    assert sent(other.offer(marker, 1.0)) == [(12, 10)]
    assert sent(other.offer(tally(14), 1.0)) == [(14, 12)]
    observer = started(tokens=frozenset({"all"}))
    assert observer.offer(marker, 1.0) == [] and observer.known == 13
    # The same text heard again through an older worker's per-group doorbell is dropped.
    assert s.offer({"type": "room.event", "seq": 11, "audience": ["u5"], "text": text(11)}, 1.5) == []
