"""Presence: who has the session open right now, across processes, with crash recovery.

A session's closed state (``Meeting.Status.CLOSED``) is immutable (DESIGN.md §3 principle 7): reading
it (the archivist, a member looking back) appends no presence events to its log and no rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, Value

from ecabinet import bulk, realtime

from .. import events, permissions
from ..models import Meeting, Presence
from ..snapshot import PRESENCE_TTL
from .guards import current_time


def presence_connect(*, user, meeting_id: int, channel_name: str) -> None:
    presence_apply(changes=[(user, meeting_id, channel_name, True)])


def presence_disconnect(*, user, meeting_id: int, channel_name: str) -> None:
    presence_apply(changes=[(user, meeting_id, channel_name, False)])


@dataclass
class _Row:
    pk: int | None  # None: inserted by this batch
    meeting_id: int
    user_id: int
    username: str
    order: tuple  # newest last: (connected_at, inserted by this batch, pk or place in the batch)
    fresh: bool


@transaction.atomic
def presence_apply(*, changes: list[tuple[object, int, str, bool]], keep: int = 0) -> None:
    """Sockets opened (``True``) and closed (``False``) — ``(user, session id, channel name, opened)``,
    in the order they happened — recorded in one transaction, in a handful of statements whatever
    their number (issue 19: a reconnect storm of 1,000 tablets, one trip each, kept the sockets'
    database thread busy). The result is that of recording them one by one:

    * an opened socket is a presence row (none in a closed session: it is immutable, DESIGN.md §3
      principle 7); a session where sockets opened is swept of the rows of crashed processes (no
      heartbeat within ``PRESENCE_TTL``);
    * with ``keep`` > 0, each account that opened sockets keeps its newest ``keep`` live ones across
      sessions, the older ones are forgotten and told to close after the commit (``room.evict``,
      ``WS_MAX_SOCKETS_PER_ACCOUNT``; the oldest goes: a tablet reconnecting over a flaky network leaves dead
      sockets behind, and its new one must win over them);
    * ``presence.changed`` for each person whose online state (a fresh row in the session) differs
      after the batch from before it, in an open session, once: someone who came and went within one
      batch is not announced; a person swept offline is announced offline (as ``_sweep``).
    """
    if not changes:
        return
    now = current_time()
    since = now - PRESENCE_TTL
    users = {user.pk: user for user, _m, _c, _opened in changes}
    swept = {meeting_id for _u, meeting_id, _c, opened in changes if opened}
    rows: dict[str, _Row] = {}
    stale: dict[tuple[int, int], str] = {}  # (session, person) swept -> username
    gone: list[int] = []
    for pk, meeting_id, user_id, username, channel, connected_at, seen_at in Presence.objects.filter(
            Q(meeting_id__in=swept, seen_at__lt=since) | Q(user_id__in=list(users))).order_by("pk").values_list(
            "pk", "meeting_id", "user_id", "user__username", "channel_name", "connected_at", "seen_at"):
        # (in the rows' order: the announcements come out the same on every database)
        if seen_at < since and meeting_id in swept:
            gone.append(pk)
            stale[meeting_id, user_id] = username
        elif user_id in users:
            rows[channel] = _Row(pk, meeting_id, user_id, username, (connected_at, 0, pk), seen_at >= since)
    before = {(r.meeting_id, r.user_id) for r in rows.values() if r.fresh}
    others = {user_id for _m, user_id in stale} - set(users)
    # Swept people who are not in the batch: online still on another socket (before and after)?
    elsewhere = set(Presence.objects.filter(meeting_id__in=swept, user_id__in=others, seen_at__gte=since)
                    .values_list("meeting_id", "user_id")) if others else set()
    before |= elsewhere
    # A session closed, or deleted since the socket's handshake, gets no rows and no events; nor does
    # an account deleted meanwhile: either would fail the whole batch (a row whose session or account
    # is gone), and every other socket in it with 1011.
    sessions = swept | {m for _u, m, _c, _o in changes} | {r.meeting_id for r in rows.values()}
    # One statement for both: the open sessions (kind 0) and the accounts that still exist (kind 1).
    found = (Meeting.objects.filter(pk__in=sessions).exclude(status=Meeting.Status.CLOSED)
             .order_by().annotate(presence_part=Value(0)).values_list("pk", "presence_part")
             .union(get_user_model()._default_manager.filter(pk__in={u.pk for u, _m, _c, o in changes if o})
                    .order_by().annotate(presence_part=Value(1)).values_list("pk", "presence_part"), all=True))
    open_sessions, accounts = set(), set()
    for pk, kind in found:
        (accounts if kind else open_sessions).add(pk)
    closed = sessions - open_sessions
    touched: dict[tuple[int, int], str] = dict(stale)
    for place, (user, meeting_id, channel, opened) in enumerate(changes):
        row = rows.pop(channel, None)
        if row is not None and row.pk is not None:
            gone.append(row.pk)  # closed (a channel name opens once: ``hotpath.hub.Inbox``)
        if opened and meeting_id not in closed and user.pk in accounts:
            rows[channel] = _Row(None, meeting_id, user.pk, user.username, (now, 1, place), True)
        touched.setdefault((meeting_id, user.pk), user.username)
    evicted: dict[int, list[tuple[int, str]]] = {}
    for user_id in ({user.pk for user, _m, _c, opened in changes if opened} if keep > 0 else ()):
        live = sorted(((r.order, channel) for channel, r in rows.items() if r.user_id == user_id and r.fresh),
                      reverse=True)
        for _order, channel in live[keep:]:
            row = rows.pop(channel)
            if row.pk is not None:
                gone.append(row.pk)
            evicted.setdefault(user_id, []).append((row.meeting_id, channel))
            touched.setdefault((row.meeting_id, user_id), row.username)
    if gone:
        Presence.objects.filter(pk__in=gone).delete()
    if any(r.pk is None for r in rows.values()):
        bulk.insert(Presence, ("channel_name", "meeting", "user", "connected_at", "seen_at"),
                    [(channel, r.meeting_id, r.user_id, now, now) for channel, r in rows.items() if r.pk is None])
    after = {(r.meeting_id, r.user_id) for r in rows.values() if r.fresh} | elsewhere
    announced: dict[int, list] = {}
    for (meeting_id, user_id), username in touched.items():
        online = (meeting_id, user_id) in after
        if meeting_id not in closed and (online != ((meeting_id, user_id) in before)
                                         or (not online and (meeting_id, user_id) in stale)):
            announced.setdefault(meeting_id, []).append(
                ("presence.changed", {"username": username, "online": online}, list(permissions.PRESENCE_AUDIENCE)))
    for meeting_id, items in announced.items():
        events.emit_many(meeting_id, items)
    for user_id, sockets in evicted.items():
        realtime.sockets_close_on_commit(user_id=user_id, sockets=sockets)


def presence_touch(*, channel_name: str) -> None:
    presence_touch_many(channel_names=[channel_name])


def presence_touch_many(*, channel_names: list[str]) -> None:
    """These connections are alive (their heartbeats): one statement for all of them."""
    if channel_names:
        Presence.objects.filter(channel_name__in=channel_names).update(seen_at=current_time())
