"""The one place that rings the doorbell (DESIGN.md §3 principles 2–3).

Services write an event row in their transaction and call ``broadcast_on_commit``; after the
commit, the already-serialised event is sent once per audience group. The channel layer may drop
messages (groups drop over capacity, Redis restarts): clients notice a gap in ``seq`` and resume
from the database, so a lost doorbell costs latency, never data.

Audience tokens and their groups (a consumer joins the groups of the tokens it holds):

* ``all``          → ``m<meeting>.all``          every participant who may see the session;
* ``internal``     → ``m<meeting>.internal``     those who read internal papers (not observers);
* ``secretariat``  → ``m<meeting>.secretariat``  the session's secretaries;
* ``chair``        → ``m<meeting>.chair``        the chair;
* ``u<user id>``   → ``m<meeting>.u<user id>``   one person.

A control message to ``m<meeting>.u<user id>`` tells that person's sockets to re-check their
access (after a removal or a change of role).
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

__all__ = ["access_changed_on_commit", "broadcast_on_commit", "group_name", "user_token"]


def user_token(user_id: int) -> str:
    return f"u{user_id}"


def group_name(meeting_id: int, token: str) -> str:
    return f"m{meeting_id}.{token}"


def _send(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    for group in groups:
        send(group, message)


def broadcast_on_commit(*, meeting_id: int, audience: list[str], seq: int, text: str) -> None:
    """After commit, send the serialised event ``text`` to each audience group, once."""
    groups = [group_name(meeting_id, token) for token in audience]
    message = {"type": "room.event", "seq": seq, "audience": audience, "text": text}
    transaction.on_commit(lambda: _send(groups, message), robust=True)


def access_changed_on_commit(*, meeting_id: int, user_id: int) -> None:
    """After commit, make that user's sockets on the session re-check their access."""
    message = {"type": "room.access", "meeting_id": meeting_id}
    transaction.on_commit(lambda: _send([group_name(meeting_id, user_token(user_id))], message), robust=True)
