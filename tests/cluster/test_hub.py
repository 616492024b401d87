"""The process's hub (``hotpath.hub``): one channel-layer subscriber for all the room sockets of a
process. Pure asyncio on the in-memory layer; the cluster tests cover Redis and several processes."""

from __future__ import annotations

import asyncio
import threading
import time

from channels.layers import InMemoryChannelLayer

from ecabinet import realtime
from hotpath import hub


def run(coroutine):
    return asyncio.run(coroutine)


async def drain(inbox: hub.Inbox, wait: float = 0.05) -> list[dict]:
    await asyncio.sleep(wait)
    out = []
    while not inbox.queue.empty():
        out.append(inbox.queue.get_nowait())
    return out


def test_the_layer_carries_one_copy_per_group_whatever_the_number_of_sockets():
    async def scenario():
        layer = InMemoryChannelLayer(capacity=10_000)
        the_hub = hub.hub_for(layer)
        inboxes = [hub.Inbox() for _ in range(200)]
        for inbox in inboxes:
            await the_hub.join(inbox, ["m1.all", "m1.internal"])
        # The process is the one member of each group, not its 200 sockets.
        assert {g: list(c) for g, c in layer.groups.items()} == {"m1.all": [the_hub.channel],
                                                                  "m1.internal": [the_hub.channel]}
        await realtime._ring(layer, ["m1.all"], {"type": "room.event", "seq": 1, "audience": ["all"], "text": "{}"})
        got = [await drain(inbox, wait=0.05 if i == 0 else 0) for i, inbox in enumerate(inboxes)]
        assert all(len(g) == 1 and g[0]["seq"] == 1 and g[0]["group"] == "m1.all" for g in got)

    run(scenario())


def test_a_private_event_reaches_its_person_and_its_marker_everyone_else():
    async def scenario():
        layer = InMemoryChannelLayer()
        the_hub = hub.hub_for(layer)
        mine, other = hub.Inbox(), hub.Inbox()
        await the_hub.join(mine, ["m1.all", "m1.u7"])
        await the_hub.join(other, ["m1.all", "m1.u8"])
        # What broadcast_on_commit rings for one private event: its text, then its marker.
        await realtime._ring(layer, ["m1.u7"], {"type": "room.event", "seq": 5, "audience": ["u7"], "text": "{}"})
        await realtime._ring(layer, ["m1.all"], realtime.marker([(5, ["u7"])]))
        to_mine, to_other = await drain(mine), await drain(other)
        assert to_other[0]["visible"] == {"u7": [5]} and (to_other[0]["first"], to_other[0]["seq"]) == (5, 5)
        assert [(m["group"], "text" in m) for m in to_mine] == [("m1.u7", True), ("m1.all", False)]
        assert [(m["group"], "text" in m) for m in to_other] == [("m1.all", False)]

    run(scenario())


def test_leaving_drops_the_process_from_a_group_when_its_last_socket_leaves():
    async def scenario():
        layer = InMemoryChannelLayer()
        the_hub = hub.hub_for(layer)
        first, second = hub.Inbox(), hub.Inbox()
        await the_hub.join(first, ["m1.all"])
        await the_hub.join(second, ["m1.all"])
        await the_hub.leave(first, ["m1.all"])
        assert list(layer.groups.get("m1.all", {})) == [the_hub.channel]
        await layer.group_send("m1.all", {"type": "room.event", "seq": 1, "audience": ["all"], "group": "m1.all"})
        assert await drain(first) == [] and len(await drain(second)) == 1
        await the_hub.leave(second, ["m1.all"])
        assert not layer.groups.get("m1.all")

    run(scenario())


def test_a_probe_comes_back_to_its_socket_alone_behind_what_was_queued_before_it():
    async def scenario():
        layer = InMemoryChannelLayer()
        the_hub = hub.hub_for(layer)
        asker, bystander = hub.Inbox(), hub.Inbox()
        await the_hub.join(asker, ["m1.all"])
        await the_hub.join(bystander, ["m1.all"])
        await layer.group_send("m1.all", {"type": "room.event", "seq": 1, "audience": ["all"], "group": "m1.all"})
        await the_hub.probe(asker)
        assert [m["type"] for m in await drain(asker)] == ["room.event", "room.probe"]
        assert [m["type"] for m in await drain(bystander)] == ["room.event"]

    run(scenario())


def test_an_inbox_that_is_not_read_is_bounded(monkeypatch):
    monkeypatch.setattr(hub, "INBOX_CAPACITY", 10)
    inbox = hub.Inbox()
    for seq in range(1, 26):
        inbox.put({"type": "room.event", "seq": seq})
    assert inbox.queue.qsize() == 10 and inbox.dropped == 15


def test_each_event_loop_has_its_own_hub():
    layer = InMemoryChannelLayer()

    async def which():
        return hub.hub_for(layer)

    first, second = run(which()), run(which())
    assert first is not second
    assert run(which()).layer is layer


def test_the_hub_keeps_reading_after_the_layer_failed(monkeypatch):
    monkeypatch.setattr(hub, "RETRY_SECONDS", 0.01)

    async def scenario():
        layer = InMemoryChannelLayer()
        the_hub = hub.hub_for(layer)
        inbox = hub.Inbox()
        await the_hub.join(inbox, ["m1.all"])
        receive, failures = layer.receive, []

        async def flaky(channel):
            if not failures:
                failures.append(channel)
                raise ConnectionError("Redis restarted")
            return await receive(channel)

        monkeypatch.setattr(layer, "receive", flaky)
        await layer.group_send("m1.all", {"type": "room.event", "seq": 1, "audience": ["all"], "group": "m1.all"})
        await asyncio.sleep(0.1)
        await layer.group_send("m1.all", {"type": "room.event", "seq": 2, "audience": ["all"], "group": "m1.all"})
        return [m["seq"] for m in await drain(inbox, wait=0.1)]

    assert run(scenario()) in ([1, 2], [2])


def test_what_piled_up_in_an_inbox_is_handed_over_as_one_batch_in_order():
    async def scenario():
        inbox = hub.Inbox()
        inbox.put({"type": "room.event", "seq": 1})
        first = await inbox.get()
        for seq in range(2, 6):
            inbox.put({"type": "room.event", "seq": seq})
        batch = await inbox.get()
        return first, batch

    first, batch = run(scenario())
    assert first == {"type": "room.event", "seq": 1}
    assert batch["type"] == "room.batch" and [m["seq"] for m in batch["messages"]] == [2, 3, 4, 5]


def test_a_doorbell_rung_from_a_request_thread_does_not_wait_for_a_busy_server_loop(monkeypatch):
    layer = InMemoryChannelLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)
    took: list[float] = []

    def request_thread() -> None:
        started = time.monotonic()
        for seq in (1, 2, 3):
            realtime._send(["m1.all"], {"type": "room.event", "seq": seq, "audience": ["all"], "text": "{}"})
        took.append(time.monotonic() - started)

    async def scenario():
        the_hub = hub.hub_for(layer)
        inbox = hub.Inbox()
        await the_hub.join(inbox, ["m1.all"])
        thread = threading.Thread(target=request_thread)
        thread.start()
        time.sleep(0.5)  # the loop is busy (blocked) meanwhile
        thread.join()
        return await drain(inbox)

    got = run(scenario())
    assert took[0] < 0.25  # it did not wait for the loop
    assert [m["seq"] for m in got] == [1, 2, 3]  # delivered once the loop was free, in order


def test_a_socket_that_is_idle_takes_a_doorbell_at_once_and_a_busy_one_has_it_queued():
    async def scenario():
        taken, busy = [], {"now": False}

        def handle_now(message):
            if busy["now"]:
                return False
            taken.append(message["seq"])
            return True

        inbox = hub.Inbox(handle_now)
        inbox.put({"type": "room.event", "seq": 1})
        busy["now"] = True
        inbox.put({"type": "room.event", "seq": 2})
        busy["now"] = False
        inbox.put({"type": "room.event", "seq": 3})  # behind 2, which waits: queued too, to keep the order
        assert taken == [1]
        assert [m["seq"] for m in (await inbox.get())["messages"]] == [2, 3]
        inbox.put({"type": "room.event", "seq": 4})  # the queue is empty again
        assert taken == [1, 4]

    run(scenario())


def test_a_socket_that_fails_to_take_a_doorbell_does_not_stop_the_others(caplog):
    async def scenario():
        layer = InMemoryChannelLayer()
        the_hub = hub.hub_for(layer)

        def broken(message):
            raise RuntimeError("socket half closed")

        failing, fine = hub.Inbox(broken), hub.Inbox()
        for inbox in (failing, fine):
            await the_hub.join(inbox, ["m1.all"])
        the_hub.deliver(["m1.all"], {"type": "room.event", "seq": 1, "audience": ["all"], "text": "{}"})
        assert (await drain(failing))[0]["seq"] == 1  # queued instead
        assert (await drain(fine))[0]["seq"] == 1

    run(scenario())
    assert "failed to take a doorbell" in caplog.text


def test_a_group_hands_each_message_to_its_sockets_in_the_order_they_joined():
    """A reconnect storm's hundreds of new sockets take an event after the tablets that have been
    following the session (handing it to 1,000 sockets takes the loop tens of milliseconds)."""

    async def scenario():
        layer = InMemoryChannelLayer()
        the_hub = hub.hub_for(layer)
        order: list[int] = []

        def taker(n):
            def take(message):
                order.append(n)
                return True
            return take

        inboxes = [hub.Inbox(taker(n)) for n in range(300)]
        for inbox in inboxes:
            await the_hub.join(inbox, ["m1.all"])
        await the_hub.join(inboxes[0], ["m1.all"])  # joining again keeps its place
        await the_hub.leave(inboxes[1], ["m1.all"])
        await the_hub.join(inboxes[1], ["m1.all"])  # a socket that left and came back: at the end
        the_hub.deliver(["m1.all"], {"type": "room.event", "seq": 1, "audience": ["all"], "text": "{}"})
        assert order == [0, *range(2, 300), 1]

    run(scenario())
