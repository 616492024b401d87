"""The room socket's contract (DESIGN.md §5.3): snapshot first; replay with ``?after_seq=N``; a
fresh snapshot when the gap is too old or ahead of the log; ``resume`` answered with the visible
events in range and ``resumed``; ``ping``/``pong``; every bad message answered with an error while
the socket stays usable.
"""

from __future__ import annotations

import pytest

from meetings import room, services
from meetings.models import Comment, Meeting

from .wsclient import Tablet, call, events_of, present, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def comment(cast, user, text: str, visibility: str = "shared"):
    return call(services.comment_post)(actor=user, item_id=cast.item.pk, text=text, visibility=visibility)


def test_it_sends_a_snapshot_first_then_live_events(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(cast.member)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        snapshot = await tablet.recv()
        assert snapshot["type"] == "snapshot"
        assert snapshot["seq"] == cast.meeting.event_seq
        meeting = snapshot["meeting"]
        assert {"id", "title", "kind", "status", "starts_at", "location", "current_item", "me", "agenda",
                "participants", "comments", "speakers", "positions"} <= set(meeting)
        assert (meeting["id"], meeting["status"], meeting["me"]) == (
            cast.meeting.pk, "published", {"username": "member01", "role": "member", "can": {
                "run": False, "speak": True, "position": True, "see_positions": False, "comment": True,
                "comment_visibilities": ["shared", "secretariat", "private"], "vote": True, "stands_in": False},
                "offline": {"allowed": True}})
        assert [i["id"] for i in meeting["agenda"]] == [cast.item.pk]
        assert "presence" not in meeting  # the secretariat's view only
        assert await tablet.quiet()
        posted = await comment(cast, cast.member2, "Tôi đồng ý")
        event = await tablet.recv()
        assert event["type"] == "event" and event["kind"] == "comment.posted"
        # seq + 1 is this socket's own presence, which only the secretariat sees.
        assert event["seq"] == snapshot["seq"] + 2
        assert event["data"]["comment"]["id"] == posted.pk
        await tablet.close()

    run(scenario)


def test_it_shows_the_secretariat_who_is_connected(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(cast.secretary)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        snapshot = await tablet.recv()
        assert snapshot["meeting"]["presence"] == []  # taken before this socket counted itself
        online = await tablet.recv()
        assert (online["kind"], online["data"]) == ("presence.changed", {"username": "secretary", "online": True})
        await tablet.close()

    run(scenario)


def test_it_replays_after_after_seq_in_order_then_goes_live(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    start = cast.meeting.event_seq
    for n in range(3):
        services.comment_post(actor=cast.member2, item_id=cast.item.pk, text=f"Ý kiến {n}")
    headers = token_headers(cast.member)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk, after_seq=start).open()
        replayed = [await tablet.recv() for _ in range(3)]
        assert [e["seq"] for e in replayed] == [start + 1, start + 2, start + 3]
        assert [e["data"]["comment"]["text"] for e in replayed] == ["Ý kiến 0", "Ý kiến 1", "Ý kiến 2"]
        assert await tablet.recv() == {"type": "resumed", "seq": start + 3}
        assert await tablet.quiet()
        await comment(cast, cast.pm, "Trực tiếp")
        live = await tablet.recv()  # start + 4 was this socket's presence
        assert (live["seq"], live["data"]["comment"]["text"]) == (start + 5, "Trực tiếp")
        await tablet.close()

    run(scenario)


def test_it_replays_nothing_for_a_client_that_is_up_to_date(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    head = cast.meeting.event_seq
    headers = token_headers(cast.member)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk, after_seq=head).open()
        assert await tablet.recv() == {"type": "resumed", "seq": head}
        assert await tablet.quiet()
        await tablet.close()

    run(scenario)


@pytest.mark.parametrize("too", ["old", "new"])
def test_it_sends_a_fresh_snapshot_when_the_gap_cannot_be_replayed(cast, monkeypatch, too):
    cast.set_status(Meeting.Status.PUBLISHED)
    monkeypatch.setattr(room, "REPLAY_LIMIT", 2)
    for n in range(3):
        services.comment_post(actor=cast.member2, item_id=cast.item.pk, text=f"Ý kiến {n}")
    head = Meeting.objects.get(pk=cast.meeting.pk).event_seq
    after = head - 3 if too == "old" else head + 5
    headers = token_headers(cast.member)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk, after_seq=after).open()
        snapshot = await tablet.recv()
        assert (snapshot["type"], snapshot["seq"]) == ("snapshot", head)
        assert [c["text"] for c in snapshot["meeting"]["comments"]] == ["Ý kiến 0", "Ý kiến 1", "Ý kiến 2"]
        assert await tablet.quiet()
        # The same rule for a resume message: a snapshot, then "resumed".
        await tablet.send({"type": "resume", "after_seq": after})
        assert (await tablet.recv())["type"] == "snapshot"
        assert await tablet.recv() == {"type": "resumed", "seq": head + 1}  # + this socket's presence
        await tablet.close()

    run(scenario)


def test_it_answers_resume_with_the_visible_events_in_range_then_resumed(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(cast.member)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        start = (await tablet.recv())["seq"] + 1  # + this socket's presence (secretariat only)
        await present(cast.member)
        await comment(cast, cast.member2, "Công khai 1")
        await comment(cast, cast.member2, "Riêng của người khác", "private")
        await comment(cast, cast.member2, "Công khai 2")
        live = events_of(await tablet.until(lambda m: m["data"]["comment"]["text"] == "Công khai 2"))
        assert [e["seq"] for e in live] == [start + 1, start + 3]
        await tablet.send({"type": "resume", "after_seq": start})
        assert [(await tablet.recv())["seq"] for _ in range(2)] == [start + 1, start + 3]
        assert await tablet.recv() == {"type": "resumed", "seq": start + 3}
        # A range with nothing visible: just "resumed".
        await tablet.send({"type": "resume", "after_seq": start + 1})
        assert (await tablet.recv())["seq"] == start + 3
        assert await tablet.recv() == {"type": "resumed", "seq": start + 3}
        await comment(cast, cast.member2, "Chỉ Văn phòng thấy", "secretariat")
        assert await tablet.quiet()
        await tablet.send({"type": "resume", "after_seq": start + 3})
        assert await tablet.recv() == {"type": "resumed", "seq": start + 4}
        assert await tablet.quiet()
        await tablet.close()

    run(scenario)


BAD_MESSAGES = [
    ({"type": "resume", "after_seq": -1}, "invalid_after_seq"),
    ({"type": "resume", "after_seq": "3"}, "invalid_after_seq"),
    ({"type": "resume", "after_seq": 1.5}, "invalid_after_seq"),
    ({"type": "resume", "after_seq": True}, "invalid_after_seq"),
    ({"type": "resume", "after_seq": None}, "invalid_after_seq"),
    ({"type": "resume"}, "invalid_after_seq"),
    ("not json", "malformed_message"),
    ("[1, 2]", "malformed_message"),
    ('"resume"', "malformed_message"),
    ("[" * 2000 + "]" * 2000, "malformed_message"),  # within the size limit, but deeper than JSON_MAX_DEPTH
    ({"type": "comment", "text": "Viết qua socket"}, "unknown_message"),
    ({"type": "snapshot"}, "unknown_message"),
    ({"after_seq": 0}, "unknown_message"),
]


def test_it_answers_a_bad_message_with_an_error_and_stays_usable(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(cast.member)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        head = (await tablet.recv())["seq"]
        for message, code in BAD_MESSAGES:
            await tablet.send(message)
            error = await tablet.recv()
            assert (error["type"], error["code"]) == ("error", code), message
            assert error["detail"]
            assert await tablet.quiet(0.05), message
            await tablet.send({"type": "ping"})
            assert await tablet.recv() == {"type": "pong", "seq": head}
        await comment(cast, cast.member2, "Vẫn nhận được")
        assert (await tablet.recv())["seq"] == head + 2  # head + 1: this socket's presence
        await tablet.close()

    run(scenario)
    assert Comment.objects.count() == 1  # nothing sent over the socket was written


def test_it_answers_ping_with_pong_and_the_last_seq_sent(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(cast.member)

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        head = (await tablet.recv())["seq"]
        await tablet.send({"type": "ping"})
        assert await tablet.recv() == {"type": "pong", "seq": head}
        await comment(cast, cast.member2, "Một ý kiến")
        assert (await tablet.recv())["seq"] == head + 2
        await tablet.send({"type": "ping"})
        assert await tablet.recv() == {"type": "pong", "seq": head + 2}
        await tablet.close()

    run(scenario)
