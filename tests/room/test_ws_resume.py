"""Resume without loss (issue #3 "Done means"): a tablet that misses N events — asleep, off the
network, or because every doorbell was lost — and then resumes (``?after_seq=`` on reconnect, or a
``resume`` message on a live socket) receives exactly the events it may see, in order, once;
events for other audiences (someone else's private note, a secretariat-only comment, presence, a
colleague's position, a document restricted to someone else) never reach it.
"""

from __future__ import annotations

import json

import pytest

from ecabinet import realtime
from meetings import events, permissions, services
from meetings.models import Comment, Event, Meeting

from ..conftest import upload
from ..pdfs import make_pdf
from .wsclient import Tablet, call, present, run, token_headers, visible_seqs

pytestmark = pytest.mark.django_db(transaction=True)

VIEWERS = {"member": "member01", "observer": "guest", "secretary": "secretary"}

# Who of the viewers sees each action (the rules of meetings.snapshot and meetings.services).
SEEN_BY = {
    "shared comment of member02": {"member", "observer", "secretary"},
    "private note of member02": set(),
    "secretariat comment of member02": {"secretary"},
    "pm comes online": {"secretary"},
    "pm goes offline": {"secretary"},
    "position of member02": {"secretary"},
    "position of member01": {"member", "secretary"},
    "private note of member01": {"member"},
    "member02 asks to speak": {"member", "observer", "secretary"},
    "restricted document given to member02": set(),
    "member02 edits the secretariat comment": {"secretary"},
    "internal document published": {"member", "secretary"},
    "item deferred": {"member", "observer", "secretary"},
}


def head(meeting) -> int:
    return Meeting.objects.values_list("event_seq", flat=True).get(pk=meeting.pk)


def happen(cast, round_: int) -> list[tuple[int, str]]:
    """Every action of ``SEEN_BY``, each writing one event; (seq, label) of each."""
    item, member, member2 = cast.item, cast.member, cast.member2
    tag = f"[{round_}]"
    secret = None

    def secretariat_comment():
        nonlocal secret
        secret = services.comment_post(actor=member2, item_id=item.pk, text=f"Gửi Văn phòng {tag}",
                                       visibility="secretariat")

    actions = {
        "shared comment of member02": lambda: services.comment_post(
            actor=member2, item_id=item.pk, text=f"Ý kiến chung {tag}"),
        "private note of member02": lambda: services.comment_post(
            actor=member2, item_id=item.pk, text=f"Ghi chú của member02 {tag}", visibility="private"),
        "secretariat comment of member02": secretariat_comment,
        "pm comes online": lambda: services.presence_connect(
            user=cast.pm, meeting_id=cast.meeting.pk, channel_name=f"elsewhere!pm{round_}"),
        "pm goes offline": lambda: services.presence_disconnect(
            user=cast.pm, meeting_id=cast.meeting.pk, channel_name=f"elsewhere!pm{round_}"),
        "position of member02": lambda: services.position_set(
            actor=member2, item_id=item.pk, value="object" if round_ % 2 else "no_objection"),
        "position of member01": lambda: services.position_set(
            actor=member, item_id=item.pk, value="wish_to_speak" if round_ % 2 else "no_objection"),
        "private note of member01": lambda: services.comment_post(
            actor=member, item_id=item.pk, text=f"Ghi chú của tôi {tag}", visibility="private"),
        "member02 asks to speak": lambda: services.speak_request(actor=member2, item_id=item.pk),
        "restricted document given to member02": lambda: services.document_set_recipients(
            actor=cast.secretary, document=cast.restricted_doc, recipients=["member01", "member02"]),
        "member02 edits the secretariat comment": lambda: services.comment_edit(
            actor=member2, comment_id=secret.pk, text=f"Gửi Văn phòng, sửa {tag}"),
        "internal document published": lambda: services.document_upload(
            actor=cast.secretary, item=item, title=f"Tờ trình {tag}", classification="internal",
            upload=upload(data=make_pdf([f"Tờ trình {tag}"]))),
        "item deferred": lambda: services.agenda_item_set_status(
            actor=cast.secretary, item_id=item.pk, status="deferred"),
    }
    assert set(actions) == set(SEEN_BY)
    written = []
    for label, action in actions.items():
        before = head(cast.meeting)
        action()
        assert head(cast.meeting) == before + 1, label
        written.append((before + 1, label))
    return written


def tokens_of(cast, viewer: str):
    user = getattr(cast, viewer)
    return permissions.audience_tokens(permissions.meeting_access(user, cast.meeting.pk))


def own_presence(cast, viewer: str, after: int) -> list[int]:
    """The viewer's own presence events after ``after`` (the secretariat sees itself come and go)."""
    if viewer != "secretary":
        return []
    return list(Event.objects.filter(meeting=cast.meeting, seq__gt=after, kind="presence.changed",
                                     data__username="secretary").order_by("seq").values_list("seq", flat=True))


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_it_replays_exactly_the_visible_events_missed_while_disconnected(cast, viewer):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(getattr(cast, viewer))
    seen: dict = {}

    async def before_sleep():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        messages = [await tablet.recv()]
        if viewer == "secretary":
            messages.append(await tablet.recv())  # its own "online"
        assert await tablet.quiet()
        seen["last"] = max(m["seq"] for m in messages)
        await tablet.close()

    run(before_sleep)
    last = seen["last"]
    written = happen(cast, 1)
    expected = sorted(own_presence(cast, viewer, last)  # its own "offline" (secretary only)
                      + [seq for seq, label in written if viewer in SEEN_BY[label]])
    assert expected == visible_seqs(cast.meeting.pk, tokens_of(cast, viewer), last)

    async def after_waking():
        tablet = await Tablet(headers, cast.meeting.pk, after_seq=last).open()
        replayed = []
        while (message := await tablet.recv())["type"] == "event":
            replayed.append(message)
        assert message == {"type": "resumed", "seq": head_now}
        assert [e["seq"] for e in replayed] == expected
        after = [await tablet.recv()] if viewer == "secretary" else []
        assert await tablet.quiet()
        # Only the viewer's own "online" may follow (to the secretariat), nothing of the past again.
        assert [e["seq"] for e in after] == await call(own_presence)(cast, viewer, head_now)
        await tablet.close()

    head_now = head(cast.meeting)
    run(after_waking)


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_it_answers_resume_on_a_live_socket_that_lost_every_doorbell(cast, viewer, monkeypatch):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = token_headers(getattr(cast, viewer))
    ring = realtime._send
    deaf = {"on": False}
    monkeypatch.setattr(realtime, "_send", lambda groups, message: None if deaf["on"] else ring(groups, message))

    async def scenario():
        tablet = await Tablet(headers, cast.meeting.pk).open()
        messages = [await tablet.recv()]
        if viewer == "secretary":
            messages.append(await tablet.recv())  # its own "online"
        await present(getattr(cast, viewer))
        last = max(m["seq"] for m in messages)
        deaf["on"] = True
        written = await call(happen)(cast, 2)
        deaf["on"] = False
        assert await tablet.quiet()
        expected = [seq for seq, label in written if viewer in SEEN_BY[label]]
        tokens = await call(tokens_of)(cast, viewer)
        assert expected == await call(visible_seqs)(cast.meeting.pk, tokens, last)
        await tablet.send({"type": "resume", "after_seq": last})
        replayed = []
        while (message := await tablet.recv())["type"] == "event":
            replayed.append(message)
        assert [e["seq"] for e in replayed] == expected
        assert message == {"type": "resumed", "seq": written[-1][0]}
        # The replayed events are the stored ones, exactly what the lost doorbells carried.
        stored = await call(lambda: [json.loads(events.serialise(e)) for e in Event.objects.filter(
            meeting=cast.meeting, seq__in=expected).order_by("seq")])()
        assert replayed == stored
        # Back to live: the next event arrives once, and nothing already replayed comes again.
        await call(services.comment_post)(actor=cast.pm, item_id=cast.item.pk, text="Kết luận")
        live = [await tablet.recv()]
        assert await tablet.quiet()
        assert [e["data"]["comment"]["text"] for e in live] == ["Kết luận"]
        assert live[0]["seq"] == written[-1][0] + 1
        await tablet.close()

    run(scenario)
    assert Comment.objects.filter(text="Kết luận").count() == 1
