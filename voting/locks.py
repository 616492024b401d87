"""How a vote and the close of its motion are kept apart, on SQLite and on PostgreSQL.

The promise (issue #4): a vote racing the close is either counted in the frozen result or refused
with ``motion_not_open`` — never acknowledged and then missing. Both functions must be called inside
the service's transaction, before anything else is written.

SQLite
    Every transaction begins ``IMMEDIATE`` (settings), so it holds the database's single writer lock
    from its first statement to its commit: a vote and a close never overlap. The vote reads the
    status inside its transaction, so it sees either the open motion (and commits before the close
    begins, which then counts it) or the closed one (and is refused). ``FOR UPDATE`` would be
    ignored here, which is why the check is in the transaction rather than in a lock.

PostgreSQL (READ COMMITTED)
    A plain read of the status is not enough: the vote could read "open", the close could then
    count the committed votes and commit, and the vote would commit afterwards — acknowledged and
    missing. So the vote takes a row lock on the motion that the close must wait for:

    * the vote runs ``SELECT id FROM voting_motion WHERE id = %s AND status = 'open' FOR KEY SHARE``.
      ``FOR KEY SHARE`` does not conflict with itself, so voters never wait for each other here
      (inserting the vote takes the same lock anyway, for its foreign key);
    * the close runs ``SELECT … FOR UPDATE`` on the motion, which conflicts with ``FOR KEY SHARE``:
      it waits until every vote that got its lock has committed (or rolled back). Its next
      statement starts a new snapshot, so the count it makes then sees all of them;
    * a vote that arrives while the close holds its lock waits; when the close commits, PostgreSQL
      re-checks the row it waited for, finds ``status = 'closed'``, returns no row, and the vote is
      refused.

    Note that the close's own ``UPDATE … SET status = 'closed'`` would not do: an ``UPDATE`` that
    leaves the key alone takes ``FOR NO KEY UPDATE``, which ``FOR KEY SHARE`` does not block.

    Row share locks do not queue behind a waiting ``FOR UPDATE``: a vote that arrives while the
    close waits for earlier ones still gets in, and the close waits for it too. So under a steady
    stream of overlapping votes the close happens when the stream pauses (the race tests see all 50
    votes counted on PostgreSQL where SQLite, whose writer lock is first come first served, refuses
    some). That is correct — every vote is counted or refused — and bounded: each member votes once.

Lock order, to stay free of deadlocks with the rest of the services: the motion row first, then the
audit head (``ecabinet.audit``), then the session row (``meetings.events.emit``).
"""

from __future__ import annotations

from django.db import connection

from .models import Motion

__all__ = ["hold_open_motion", "lock_for_close"]


def hold_open_motion(motion_id: int) -> bool:
    """True if the motion is open, and — on PostgreSQL — keep it from being closed until this
    transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM voting_motion WHERE id = %s AND status = %s FOR KEY SHARE",
                           [motion_id, Motion.Status.OPEN])
            return cursor.fetchone() is not None
    return Motion.objects.filter(pk=motion_id, status=Motion.Status.OPEN).exists()


def lock_for_close(motion_id: int) -> Motion:
    """The motion, read after every vote in flight has finished (see the module docstring)."""
    return Motion.objects.select_for_update(of=("self",)).select_related("agenda_item__meeting").get(pk=motion_id)
