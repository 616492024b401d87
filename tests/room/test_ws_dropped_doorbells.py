"""The channel layer is only a doorbell (DESIGN.md §3 principle 2; issue #3 "Done means"): groups
may drop messages (the ASGI spec lets them drop over capacity), so this test drops them on purpose
and shows that tablets following the protocol still converge — each ends with exactly the events
the database holds for its audience, in order, each once.

The tablets here are ``ProtocolClient``s (tests/room/wsclient.py), which follow the rule of
``static/room/state.js``: apply the next ``seq`` only; on a jump, buffer and send ``resume``.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from ecabinet import realtime
from hotpath import hub
from meetings import permissions, services
from meetings.models import Meeting

from .wsclient import ProtocolClient, Tablet, call, run, token_headers, visible_seqs

pytestmark = pytest.mark.django_db(transaction=True)

FOLLOWERS = ["pm", "secretary", "member", "member2", "observer"]


class Dropper:
    """Decides which messages the channel layer loses."""

    def __init__(self, strategy: str) -> None:
        self.strategy = strategy
        self.on = False
        self.count = 0
        self.dropped = 0
        self.random = random.Random(20190624)

    def drop(self) -> bool:
        if not self.on:
            return False
        self.count += 1
        lost = self.count % 2 == 1 if self.strategy != "random_half" else self.random.random() < 0.5
        self.dropped += lost
        return lost


def install(strategy: str, monkeypatch) -> Dropper:
    dropper = Dropper(strategy)
    if strategy == "every_other_doorbell":
        # The whole event is lost, for every group of its audience.
        ring = realtime._send

        def lossy_send(groups, message):
            if not dropper.drop():
                ring(groups, message)

        monkeypatch.setattr(realtime, "_send", lossy_send)
    else:
        # One group message at a time is lost: a secretary (all + internal + secretariat groups) may get
        # an event through one group and miss it through another. In one process the hub hands each
        # group's copy to its sockets (hotpath.hub.Hub.deliver), so that is where a copy is lost.
        route = hub.Hub.route

        def lossy_route(self, message):
            if message.get("type") == "room.event" and dropper.drop():
                return
            route(self, message)

        monkeypatch.setattr(hub.Hub, "route", lossy_route)
    return dropper


def actions(cast) -> list:
    """About forty writes by everyone, for every audience."""
    item, second = cast.item, cast.second
    plan = []
    for n in range(4):
        plan += [
            lambda n=n: services.comment_post(actor=cast.member, item_id=item.pk, text=f"Chung {n}"),
            lambda n=n: services.comment_post(actor=cast.member2, item_id=item.pk, text=f"Riêng {n}",
                                              visibility="private"),
            lambda n=n: services.comment_post(actor=cast.member, item_id=second.pk, text=f"Văn phòng {n}",
                                              visibility="secretariat"),
            lambda n=n: services.position_set(actor=cast.member2, item_id=second.pk,
                                              value=["object", "no_objection"][n % 2]),
            lambda: services.speak_request(actor=cast.member, item_id=item.pk),
            lambda: services.speak_request(actor=cast.observer, item_id=item.pk),
            lambda: services.floor_give(actor=cast.pm, item_id=item.pk),
            lambda: services.floor_give(actor=cast.secretary, item_id=item.pk),
            lambda: services.floor_end(actor=cast.pm, item_id=item.pk),
            lambda n=n: services.presence_connect(user=cast.member2, meeting_id=cast.meeting.pk,
                                                  channel_name=f"other.process!{n}"),
            lambda n=n: services.presence_disconnect(user=cast.member2, meeting_id=cast.meeting.pk,
                                                     channel_name=f"other.process!{n}"),
            lambda n=n: services.agenda_set_current(actor=cast.pm, meeting_id=cast.meeting.pk,
                                                    item_id=[item.pk, None][n % 2]),
        ]
    return plan


async def follow(client: ProtocolClient, stop: asyncio.Event, head: dict, patience: float = 20.0) -> None:
    """Handle messages as they come; once told to stop, finish when the client has reached the log's
    head (the last event is for everyone) and the socket has been quiet — or after ``patience``
    seconds, for the assertions to say what is missing. Waiting for the head rather than for a fixed
    quiet spell keeps a loaded machine (held doorbells, probes, resumes take longer) from cutting
    the test short."""
    deadline = None
    while True:
        stopping = stop.is_set()  # read before waiting: a short wait begun earlier does not count as quiet
        if stopping and deadline is None:
            deadline = asyncio.get_running_loop().time() + patience
        message = await client.tablet.poll(0.3 if stopping else 0.02)
        if message is not None:
            await client.handle(message)
        elif stopping and ((client.tracker.seq >= head["seq"] and not client.tracker.resuming)
                           or asyncio.get_running_loop().time() > deadline):
            return


@pytest.mark.parametrize("strategy", ["every_other_doorbell", "every_other_group_message", "random_half"])
def test_it_converges_when_the_channel_layer_drops_messages(cast, strategy, monkeypatch):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    cast.second = services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Mục 2")
    headers = {who: token_headers(getattr(cast, who)) for who in FOLLOWERS}
    plan = actions(cast)
    outcome: dict = {}

    async def scenario():
        dropper = install(strategy, monkeypatch)
        clients = {}
        for who in FOLLOWERS:
            clients[who] = ProtocolClient(await Tablet(headers[who], cast.meeting.pk).open())
            await clients[who].handle(await clients[who].tablet.recv())  # the snapshot
        stop, head = asyncio.Event(), {}
        followers = [asyncio.ensure_future(follow(c, stop, head)) for c in clients.values()]
        dropper.on = True
        for action in plan:
            await call(action)()
        dropper.on = False
        # A last shared event rings through: whoever lost the tail of the log notices the jump.
        await call(services.comment_post)(actor=cast.pm, item_id=cast.item.pk, text="Kết thúc")
        head["seq"] = outcome["head"] = await call(lambda: Meeting.objects.get(pk=cast.meeting.pk).event_seq)()
        stop.set()
        await asyncio.gather(*followers)
        for client in clients.values():  # (their "offline" events come after the head above)
            await client.tablet.close()
        outcome.update(clients=clients, dropped=dropper.dropped)

    run(scenario)
    clients = outcome["clients"]
    assert outcome["dropped"] >= 10  # the layer really lost messages
    for who, client in clients.items():
        user = getattr(cast, who)
        tokens = permissions.audience_tokens(permissions.meeting_access(user, cast.meeting.pk))
        expected = [seq for seq in visible_seqs(cast.meeting.pk, tokens,
                                                client.snapshot_seq) if seq <= outcome["head"]]
        assert client.applied == expected, who
        assert len(client.applied) == len(set(client.applied))
        assert client.tracker.buffer == {} and not client.tracker.resuming
    assert sum(c.resumes_sent for c in clients.values()) > 0
    # The secretariat sees the most; the observer the least — and neither is empty.
    assert len(clients["secretary"].applied) > len(clients["member"].applied) > len(clients["observer"].applied) > 0
