"""Hostile review of presence in batches (issue 19): one socket's trouble must not fail the whole
batch — every socket in it then failed with 1011, i.e. one account could shut the live room for the
others. A session deleted, or an account deleted, between a socket's handshake and its batch is
recorded as nothing (like a closed session), and the others of the batch are recorded as usual."""

from __future__ import annotations

import pytest

from meetings import permissions, services
from meetings.models import Event, Meeting, Presence
from tests.factories import UserFactory, in_days

pytestmark = pytest.mark.django_db(transaction=True)


def _presence_events(meeting) -> list[tuple[str, bool]]:
    rows = Event.objects.filter(meeting=meeting, kind="presence.changed").order_by("seq")
    for event in rows:
        assert sorted(event.audience) == sorted(permissions.PRESENCE_AUDIENCE)
    return [(e.data["username"], e.data["online"]) for e in rows]


def test_a_session_deleted_before_the_batch_does_not_fail_the_others(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    draft = services.meeting_create(actor=cast.secretary, title="Nháp", kind="regular", starts_at=in_days(5),
                                    location="Hà Nội")
    services.participant_add(actor=cast.secretary, meeting=draft, username=cast.member2.username, role="member")
    draft_id = draft.pk
    Meeting.objects.filter(pk=draft_id).delete()  # deleted between member02's handshake and the batch
    Event.objects.filter(kind="presence.changed").delete()
    services.presence_apply(changes=[(cast.member2, draft_id, "room.gone", True),
                                     (cast.member, cast.meeting.pk, "room.ok", True)], keep=8)
    assert list(Presence.objects.values_list("channel_name", flat=True)) == ["room.ok"]
    assert _presence_events(cast.meeting) == [("member01", True)]
    # ... and its close is nothing either.
    services.presence_apply(changes=[(cast.member2, draft_id, "room.gone", False)], keep=8)
    assert list(Presence.objects.values_list("channel_name", flat=True)) == ["room.ok"]


def test_an_account_deleted_before_the_batch_does_not_fail_the_others(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    leaver = UserFactory(username="leaver", is_secretariat=True)  # in every room without a participant row
    stale = type(leaver).objects.get(pk=leaver.pk)  # the socket's own user object
    type(leaver).objects.filter(pk=leaver.pk).delete()
    Event.objects.filter(kind="presence.changed").delete()
    services.presence_apply(changes=[(stale, cast.meeting.pk, "room.leaver", True),
                                     (cast.member, cast.meeting.pk, "room.ok", True)], keep=8)
    assert list(Presence.objects.values_list("channel_name", flat=True)) == ["room.ok"]
    assert _presence_events(cast.meeting) == [("member01", True)]


def test_a_socket_whose_session_is_deleted_does_not_close_the_others_of_its_batch(cast, monkeypatch):
    """The consumer's view: the secretary's socket on a draft that is deleted before the presence batch
    runs, and a member's socket on the live session in the same batch; the member's stays open and online."""
    import asyncio

    from meetings import consumers, room
    from tests.room.wsclient import Tablet, run, token_headers

    cast.set_status(Meeting.Status.IN_PROGRESS)
    draft = services.meeting_create(actor=cast.secretary, title="Nháp", kind="regular", starts_at=in_days(5),
                                    location="Hà Nội")
    real = room.presence_changes

    def deleting_first(changes):
        Meeting.objects.filter(pk=draft.pk).delete()
        return real(changes)

    monkeypatch.setattr(room, "presence_changes", deleting_first)
    monkeypatch.setattr(consumers, "PRESENCE_BATCH", consumers.heartbeats.Timing(0.3, 0.3, 1000))

    member_h, desk_h = token_headers(cast.member), token_headers(cast.secretary)

    async def scenario():
        member, desk = Tablet(member_h, cast.meeting.pk), Tablet(desk_h, draft.pk)
        await asyncio.gather(member.join(), desk.join())
        await asyncio.sleep(0.6)  # the batch has run
        assert await member.pong()
        await member.close()
        await desk.close()

    run(scenario)
    assert not Meeting.objects.filter(pk=draft.pk).exists()


def test_a_socket_cancelled_while_its_open_waits_for_its_batch_leaves_no_ghost_row(cast, monkeypatch):
    """Daphne cancels an application that has not finished some seconds after its client left
    (``application_close_timeout``), as the test communicator does after its ``disconnect`` timeout: a
    socket cancelled while its open waited for the presence batch never runs ``disconnect``; its row
    must not stay behind ("online" for a person who left)."""
    import asyncio

    from meetings import consumers
    from tests.room.wsclient import Tablet, run, token_headers

    cast.set_status(Meeting.Status.IN_PROGRESS)
    monkeypatch.setattr(consumers, "PRESENCE_BATCH", consumers.heartbeats.Timing(1.5, 1.5, 1000))
    member_h = token_headers(cast.member)

    async def scenario():
        member = await Tablet(member_h, cast.meeting.pk).join()
        await member.comm.disconnect(timeout=0.2)  # the application is cancelled while its open waits
        await asyncio.sleep(2.5)  # the batch (and the close queued behind it) has run

    run(scenario)
    assert not Presence.objects.filter(user=cast.member).exists()
    online = [(u, o) for u, o in _presence_events(cast.meeting)]
    assert online in ([], [("member01", True), ("member01", False)])
