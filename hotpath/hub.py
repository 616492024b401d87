"""One channel-layer subscriber per server process, shared by all of its room sockets.

Channels' own way is a channel per socket, each socket a member of its groups: a group message is
then copied to every socket's queue by the layer (the in-memory layer deep-copies it for each, and
sweeps *every* channel and group for expired entries on each receive: quadratic in the sockets),
and each socket's task wakes for it. With 500 tablets in a session, an event cost ~0.7 ms of CPU
per tablet before anything was written to the network.

Here the process joins each group once, through one channel of its own (``Hub.channel``), and a
single task reads it and hands each message to the inboxes of the local sockets that joined that
group: a dictionary look-up and a ``put_nowait`` per socket. The layer, local or Redis, carries one
copy per process and group. What the socket does with the message (order, duplicates, coalescing:
``hotpath.sequencer.Sequencer``) is unchanged.

* Messages say which group they were sent to (``"group"``, set by ``ecabinet.realtime``); a
  message to a socket's inbox alone (``"to"``: the probe a socket sends itself to learn that
  everything queued before it has been handed out) comes back through the same channel, behind
  everything queued before it.
* Memberships in Redis expire (``group_expiry``): the hub renews its groups every
  ``RENEW_SECONDS``, which also restores them after Redis restarted empty.
* An inbox holds at most ``INBOX_CAPACITY`` messages; beyond, new ones are dropped — the socket
  sees the gap and its client resumes from the database, as with a doorbell lost anywhere else.
  What has piled up in an inbox is handed over as one ``room.batch``, in order.
* A group's sockets are handed each message in the order they joined it: the tablets that have
  been following the session take an event before the hundreds that are joining in a reconnect
  storm (handing one event to 1,000 sockets takes the loop tens of milliseconds; in a set's order,
  a tablet connected all along waited for a random share of that).
* One hub per event loop and channel layer (the server has one loop; tests make many).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
import weakref

from channels.layers import InMemoryChannelLayer

log = logging.getLogger(__name__)

__all__ = ["Hub", "Inbox", "hub_for", "local", "loop_of"]

RENEW_SECONDS = 60.0
INBOX_CAPACITY = 1000
BATCH_MAX = 200
# After the layer failed (Redis away), wait this long before reading again.
RETRY_SECONDS = 1.0


class Inbox:
    """A socket's queue of messages from the hub; ``get`` is what the consumer's loop awaits.

    ``handle_now``, if the socket gives one, is tried first for each message while nothing is
    queued: it handles the message right away, in the hub's call, and answers True — or False
    (the socket is busy: a snapshot or a replay is being sent), and the message is queued. With
    hundreds of sockets, waking each socket's task for every doorbell cost more than the rest of
    the fan-out together."""

    def __init__(self, handle_now=None) -> None:
        self.name = f"room.{uuid.uuid4().hex}"  # unique across processes: presence is keyed by it
        self.queue: asyncio.Queue = asyncio.Queue()
        self.dropped = 0
        self.handle_now = handle_now

    def put(self, message: dict) -> None:
        if self.handle_now is not None and self.queue.empty():
            try:
                if self.handle_now(message):
                    return
            except Exception:  # one socket's failure must not stop the others' doorbells
                log.warning("room hub: a socket failed to take a doorbell; it is queued instead", exc_info=True)
        if self.queue.qsize() >= INBOX_CAPACITY:
            self.dropped += 1
            return
        self.queue.put_nowait(message)

    async def get(self) -> dict:
        """The next message; when more are waiting, all of them (up to ``BATCH_MAX``) as one
        ``room.batch``: under a burst the socket's task wakes once for many doorbells, instead of
        paying Channels' per-message wake-up (a task and an ``asyncio.wait``) for each."""
        message = await self.queue.get()
        if self.queue.empty():
            return message
        batch = [message]
        while not self.queue.empty() and len(batch) < BATCH_MAX:
            batch.append(self.queue.get_nowait())
        return {"type": "room.batch", "messages": batch}


class Hub:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, dict[Inbox, None]] = {}  # each group's inboxes, in the order they joined
        self.inboxes: weakref.WeakValueDictionary[str, Inbox] = weakref.WeakValueDictionary()
        self._started = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []

    async def _start(self) -> None:
        async with self._started:
            if self.channel is not None:
                return
            # In memory, the prefix is the name's start; channels_redis adds "." and the process's own part.
            prefix = "hub." if isinstance(self.layer, InMemoryChannelLayer) else "hub"
            self.channel = await self.layer.new_channel(prefix)
            self._tasks = [asyncio.ensure_future(self._read()), asyncio.ensure_future(self._renew())]

    # -- sockets ----------------------------------------------------------------------------------

    async def join(self, inbox: Inbox, groups) -> None:
        await self._start()
        self.inboxes[inbox.name] = inbox
        for group in groups:
            members = self.members.setdefault(group, {})
            first = not members
            members.setdefault(inbox)
            if first:
                await self.layer.group_add(group, self.channel)

    async def leave(self, inbox: Inbox, groups) -> None:
        for group in groups:
            members = self.members.get(group)
            if members is None:
                continue
            members.pop(inbox, None)
            if not members:
                del self.members[group]
                with contextlib.suppress(Exception):  # Redis away: the membership expires anyway
                    await self.layer.group_discard(group, self.channel)

    async def probe(self, inbox: Inbox) -> None:
        """Send ``inbox`` a ``room.probe`` that comes back behind everything queued for this process."""
        await self._start()
        await self.layer.send(self.channel, {"type": "room.probe", "to": inbox.name})

    # -- the process's channel --------------------------------------------------------------------

    def route(self, message: dict) -> None:
        to = message.get("to")
        if to is not None:
            inbox = self.inboxes.get(to)
            if inbox is not None:
                inbox.put(message)
            return
        for inbox in tuple(self.members.get(message.get("group"), ())):
            inbox.put(message)

    def deliver(self, groups: list[str], message: dict) -> None:
        """A doorbell of this very process (the in-memory layer): handed to the sockets' inboxes
        directly, as if it had come through the layer. The in-memory layer would deep-copy it and
        sweep every channel and group for expired messages on each send and receive — with a group
        per person in the room, a storm of ``vote.mine`` events cost more there than anywhere else."""
        for group in groups:
            self.route({**message, "group": group})

    async def _read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: the sockets' pings find what was missed
                log.warning("room hub: the channel layer failed; retrying", exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self.route(message)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS * random.uniform(0.8, 1.0))  # noqa: S311 (jitter)
            for group in list(self.members):
                with contextlib.suppress(Exception):  # Redis away: try again next time
                    await self.layer.group_add(group, self.channel)


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def local(layer) -> tuple[asyncio.AbstractEventLoop, Hub] | None:
    """The running event loop whose hub serves ``layer``'s sockets (the server's), and that hub."""
    for loop, hubs in list(_hubs.items()):
        the_hub = hubs.get(id(layer))
        if the_hub is not None and the_hub.layer is layer and loop.is_running() and not loop.is_closed():
            return loop, the_hub
    return None


def loop_of(layer) -> asyncio.AbstractEventLoop | None:
    """The running event loop whose hub serves ``layer``'s sockets (the server's), if any."""
    found = local(layer)
    return found[0] if found else None


def hub_for(layer) -> Hub:
    """The hub of the running event loop for ``layer``."""
    loop = asyncio.get_running_loop()
    hubs = _hubs.setdefault(loop, {})
    hub = hubs.get(id(layer))
    if hub is None or hub.layer is not layer:
        hub = hubs[id(layer)] = Hub(layer)
    return hub
