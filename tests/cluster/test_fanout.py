"""Fan-out that scales (issue #6, part 2), through the real consumer and services in one process
(the cluster tests repeat the point across processes and Redis):

* each event is serialised once, whatever the number of sockets; the consumers' event path makes no
  database call and no thread hop;
* markers and ``prev`` spare the tablets a resume after every event they may not see;
* a storm of 500 votes stores 500 votes and 500 tallies, but sends each tablet a few tallies, the
  last of them the final count, and no tablet has to resume.
"""

from __future__ import annotations

import channels.consumer
import pytest
from channels.layers import channel_layers

from ecabinet import realtime
from hotpath import sequencer
from meetings import consumers, events, permissions, services
from meetings.models import Event, Meeting
from voting.models import Vote
from voting.motion_state import tally_of
from voting.services import motions

from ..room.wsclient import ProtocolClient, Tablet, call, run, token_headers, visible_seqs
from ..voting.conftest import build_room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _in_memory_layer(settings, monkeypatch):
    """One process, so the in-memory layer; room enough that no doorbell is dropped for capacity
    (a drop would be legitimate, but here it would hide what is being counted)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer",
                                           "CONFIG": {"capacity": 100_000}}}
    monkeypatch.setattr(channel_layers, "backends", {})


@pytest.fixture
def counted(monkeypatch) -> dict[str, list]:
    """Count serialisations of events, and every thread hop the consumers make (their own database
    calls, and the connection clean-up Channels runs before each handler)."""
    counts: dict[str, list] = {"serialised": [], "hops": [], "on": []}
    serialise, wrap = events.serialise, consumers.database_sync_to_async
    clean_up = channels.consumer.aclose_old_connections

    def counting_serialise(event):
        if counts["on"]:
            counts["serialised"].append(event.seq)
        return serialise(event)

    def counting_wrap(function):
        wrapped = wrap(function)

        async def call_it(*args, **kwargs):
            if counts["on"]:
                counts["hops"].append(function.__name__)
            return await wrapped(*args, **kwargs)

        return call_it

    async def counting_clean_up():
        if counts["on"]:
            counts["hops"].append("close_old_connections")
        return await clean_up()

    monkeypatch.setattr(events, "serialise", counting_serialise)
    monkeypatch.setattr(consumers, "database_sync_to_async", counting_wrap)
    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counting_clean_up)
    return counts


def tokens_of(user, meeting_id: int) -> frozenset[str]:
    return permissions.audience_tokens(permissions.meeting_access(user, meeting_id))


def test_it_serialises_each_event_once_and_its_fan_out_touches_no_database(cast, counted):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    viewers = [cast.pm, cast.secretary, cast.member, cast.member2, cast.observer] * 3  # 15 sockets
    headers = [token_headers(user) for user in viewers]
    meeting_id = cast.meeting.pk

    def write() -> list[int]:
        before = Meeting.objects.get(pk=meeting_id).event_seq
        for n in range(8):
            services.comment_post(actor=cast.member, item_id=cast.item.pk, text=f"Ý kiến {n}")
            services.comment_post(actor=cast.member2, item_id=cast.item.pk, text=f"Gửi Văn phòng {n}",
                                  visibility="secretariat")
            services.comment_post(actor=cast.pm, item_id=cast.item.pk, text=f"Ghi chú {n}", visibility="private")
            services.position_set(actor=cast.member, item_id=cast.item.pk, value="object" if n % 2 else "no_objection")
        return list(Event.objects.filter(meeting_id=meeting_id, seq__gt=before).values_list("seq", flat=True))

    written: list[int] = []
    clients: list[ProtocolClient] = []

    async def scenario():
        clients.extend([ProtocolClient(await Tablet(h, meeting_id).open()) for h in headers])
        for client in clients:
            await client.pump()
        counted["on"].append(True)
        written.extend(await call(write)())
        for client in clients:
            await client.pump()
        counted["on"].clear()
        for client in clients:
            await client.tablet.close()

    run(scenario)
    assert len(written) == 32
    # Serialised once per event: not per socket (15), not per group.
    assert counted["serialised"] == written
    # The consumers' event path: no database call, no thread hop, for 15 sockets × 32 events.
    assert counted["hops"] == []
    for user, client in zip(viewers, clients, strict=True):
        expected = visible_seqs(meeting_id, tokens_of(user, meeting_id), client.snapshot_seq)
        # (Not the presence changes of the sockets closing at the end.)
        assert client.applied == [seq for seq in expected if seq <= written[-1]], user.username
        # Secretariat notes, private notes and positions of others were jumps before markers and prev.
        assert client.resumes_sent == 0, user.username


def test_it_sends_each_tablet_a_few_tallies_for_a_storm_of_500_votes_and_stores_every_vote(monkeypatch):
    # A wide window, so that the bound below holds on a slow machine too (the default is 0.5 s).
    monkeypatch.setattr(sequencer, "COALESCE_SECONDS", 1.0)
    room = build_room(members=499, prefix="bt")
    motion = room.motion()
    watchers = [room.secretary, room.chair, room.members[0], room.members[-1]]
    headers = [token_headers(user) for user in watchers]
    meeting_id = room.meeting.pk

    def vote_all() -> None:
        for index, voter in enumerate(room.voters):
            motions.vote_cast(actor=voter, motion_id=motion.pk, choice=("yes", "yes", "no", "abstain")[index % 4])

    clients: list[ProtocolClient] = []

    async def scenario():
        clients.extend([ProtocolClient(await Tablet(h, meeting_id).open()) for h in headers])
        for client in clients:
            await client.pump()
        await call(vote_all)()
        for client in clients:
            await client.pump(timeout=1.5)  # longer than the window: the trailing tally has gone out
            await client.tablet.close()

    run(scenario)
    # Every vote is stored, and so is every tally (the log replays each one).
    assert Vote.objects.filter(motion=motion).count() == 500
    assert Event.objects.filter(meeting_id=meeting_id, kind="vote.tally").count() == 500
    final = {"motion": motion.pk, **tally_of(motion)}
    assert final["voted"] == 500 and (final["yes"], final["no"], final["abstain"]) == (250, 125, 125)
    for user, client in zip(watchers, clients, strict=True):
        tallies = [m for m in client.tablet.received if m["type"] == "event" and m["kind"] == "vote.tally"]
        assert 1 <= len(tallies) <= 125, (user.username, len(tallies))  # not 500
        assert tallies[-1]["data"] == final, user.username  # the final count always arrives
        assert client.resumes_sent == 0, user.username  # 499 other voters' vote.mine: no resume
    mine = [m for m in clients[1].tablet.received if m["type"] == "event" and m["kind"] == "vote.mine"]
    assert [m["data"]["my_vote"]["choice"] for m in mine] == ["yes"]  # the chair's own, once


def test_a_socket_whose_doorbells_were_lost_catches_up_at_the_next_pings(cast, monkeypatch):
    # Doorbells lost with nothing after them (Redis restarted, memberships expired): no jump shows
    # the client a gap, so the server notices at the heartbeat — the session's head at one ping is
    # still unaccounted for at the next — and sends the missing events, chained with prev.
    cast.set_status(Meeting.Status.IN_PROGRESS)
    ring = realtime._send
    deaf = {"on": False}
    monkeypatch.setattr(realtime, "_send", lambda groups, message: None if deaf["on"] else ring(groups, message))
    headers = token_headers(cast.member)
    meeting_id = cast.meeting.pk

    def lost_comments() -> None:
        for n in range(3):
            services.comment_post(actor=cast.member2, item_id=cast.item.pk, text=f"Chuông mất {n}")
        services.comment_post(actor=cast.member2, item_id=cast.item.pk, text="Riêng", visibility="secretariat")

    client_box: list[ProtocolClient] = []

    async def scenario():
        client = ProtocolClient(await Tablet(headers, meeting_id).open())
        client_box.append(client)
        await client.pump()
        deaf["on"] = True
        await call(lost_comments)()
        deaf["on"] = False
        assert await client.tablet.quiet()
        pongs = 0
        while pongs < 2:
            await client.tablet.send({"type": "ping"})
            while (message := await client.tablet.recv())["type"] != "pong":
                await client.handle(message)
            pongs += 1
        await client.pump()
        await client.tablet.close()

    run(scenario)
    client = client_box[0]
    expected = visible_seqs(meeting_id, tokens_of(cast.member, meeting_id), client.snapshot_seq)
    assert len(expected) >= 3
    assert client.applied == expected
    assert client.resumes_sent == 0
