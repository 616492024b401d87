"""The audit log: append-only and hash-chained.

Why it is tamper-evident
------------------------
Entry *n* stores ``hash_n = SHA-256(canonical(entry_n) || hash_{n-1})`` where ``canonical`` is a
sorted-key JSON encoding of every stored field. Therefore:

* altering any field of an entry changes its recomputed hash;
* removing an entry leaves a gap in ``seq`` and breaks the ``prev_hash`` link of its successor;
* reordering entries breaks the ``prev_hash`` links;
* removing the newest entries is caught by comparing with ``AuditHead``, which is updated in the
  same transaction as each append.

An attacker with write access to the whole database can of course recompute the chain; that is why
the chain head is printed into signed minutes (a checkpoint outside the database) — see issue 5.

Appends are serialised by locking the ``AuditHead`` row (PostgreSQL) and by SQLite's IMMEDIATE
transactions, and ``seq`` is unique, so the chain can never fork.

An append does not read the head first when this process knows it (issue 19: every page view
appends an entry). The process remembers the head it last wrote or read; the append chains its
entries onto that guess and moves the head with a conditional ``UPDATE … WHERE seq = guess AND hash
= guess``, which both takes the head's lock (the row lock on PostgreSQL; SQLite already holds its
write lock from ``BEGIN IMMEDIATE``) and proves the guess right in the same statement. A guess made
stale by another process, a rolled-back transaction or a concurrent append matches no row: the
append then reads the head under lock and chains again, as before. Either way the entries link to
the head as it is under the lock, inside the caller's transaction, and the head moves in it.
On PostgreSQL the entries' ``at`` is taken before the lock is held (on SQLite after), so two
appends racing there may carry times out of ``seq`` order by the length of the wait: ``seq`` is
the order of the chain, ``at`` the moment of the request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections, models, router, transaction

from ecabinet import clock

from . import bulk
from .models import AuditEntry, AuditHead

__all__ = ["GENESIS", "ChainProblem", "Entry", "entry_hash", "lock_head", "record", "record_many", "verify_chain"]

GENESIS = "0" * 64
_COLUMNS = ("seq", "at", "actor_id", "actor_username", "action", "object_type", "object_id", "meeting_id", "data",
            "prev_hash", "hash")


def _now() -> datetime:
    """The audit chain's clock (``ecabinet.clock``, the server's one clock); tests may replace this."""
    return clock.moment()


def canonical(*, seq: int, at: datetime, actor_id: int | None, actor_username: str, action: str,
              object_type: str, object_id: str, meeting_id: int | None, data: Any, prev_hash: str) -> bytes:
    payload = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_username": actor_username,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "meeting_id": meeting_id,
        "data": data,
        "prev_hash": prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(
        canonical(
            seq=entry.seq, at=entry.at, actor_id=entry.actor_id, actor_username=entry.actor_username,
            action=entry.action, object_type=entry.object_type, object_id=entry.object_id,
            meeting_id=entry.meeting_id, data=entry.data, prev_hash=entry.prev_hash,
        )
    ).hexdigest()


# The head (seq, hash) this process last wrote or read: a guess, proven or refuted by the
# conditional UPDATE in ``record_many``. A tuple is replaced whole, so threads never see half of one.
_known_head: tuple[int, str] | None = None


def _remember(seq: int, hash_: str) -> None:
    global _known_head
    _known_head = (seq, hash_)


def lock_head() -> None:
    """Take the chain's lock now, before any other row lock of the transaction.

    Every write appends to the chain, so the head row is the first lock of every writing
    transaction: a service that must lock another row first (a session, a motion) calls this
    before it, and no two transactions can ever take their locks in opposite orders (which on
    PostgreSQL is a deadlock and a failed request). Re-entrant within a transaction.
    """
    head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    _remember(head.seq, head.hash)


def record(actor, action: str, target: models.Model | None = None, *, meeting_id: int | None = None,
           data: dict | None = None) -> AuditEntry:
    """Append one entry. Must run inside the caller's transaction so the entry commits with the
    change it describes (or not at all)."""
    return record_many([Entry(actor, action, target, meeting_id=meeting_id, data=data)])[0]


@dataclass(frozen=True)
class Entry:
    """One entry to append with ``record_many``: the same arguments as ``record``."""

    actor: Any
    action: str
    target: models.Model | None = None
    meeting_id: int | None = None
    data: dict | None = None


def record_many(entries: list[Entry]) -> list[AuditEntry]:
    """Append ``entries`` in this order, under one lock of the head and in one insert (a group
    commit of votes appends hundreds at once). Same contract as ``record``.

    Statements: a conditional ``UPDATE`` of the head and the ``INSERT`` when this process knows the
    head (the usual case), plus a ``SELECT … FOR UPDATE`` of it when not; ``BEGIN``/``COMMIT`` only
    when no transaction is open yet. Inside the caller's transaction no savepoint is made: if the
    append fails, the caller's whole transaction must roll back anyway (the entry commits with the
    change it describes, or neither does)."""
    if not entries:
        return []
    with transaction.atomic(savepoint=False):
        at = _now()
        guess = _known_head
        if guess is not None:
            rows = _chain(entries, *guess, at)
            # Moves the head only if it is still the guess; the row lock (or SQLite's write lock) is held from here.
            if _move_head(guess, rows[-1].seq, rows[-1].hash):
                bulk.insert_objects(rows, _COLUMNS)
                _remember(rows[-1].seq, rows[-1].hash)
                return rows
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        rows = _chain(entries, head.seq, head.hash, at)
        bulk.insert_objects(rows, _COLUMNS)
        head.seq, head.hash = rows[-1].seq, rows[-1].hash
        head.save(update_fields=["seq", "hash"])
        _remember(head.seq, head.hash)
    return rows


def _move_head(guess: tuple[int, str], seq: int, hash_: str) -> bool:
    """``AuditHead.objects.filter(id=1, seq=guess[0], hash=guess[1]).update(seq=seq, hash=hash_)``,
    true when it moved the head: the same statement, its SQL written once per process from the
    model's metadata instead of compiled by the ORM on every append (issue 19: a third of the
    append's CPU)."""
    connection = connections[router.db_for_write(AuditHead)]
    sql = _MOVE_HEAD_SQL.get(connection.alias)
    if sql is None:
        meta, quote = AuditHead._meta, connection.ops.quote_name
        table, pk, seq_col, hash_col = (quote(meta.db_table), quote(meta.pk.column),
                                        quote(meta.get_field("seq").column), quote(meta.get_field("hash").column))
        # Names from the model's own metadata, quoted by the backend; the values go as parameters.
        sql = _MOVE_HEAD_SQL[connection.alias] = (
            f"UPDATE {table} SET {seq_col} = %s, {hash_col} = %s "  # noqa: S608
            f"WHERE {pk} = %s AND {seq_col} = %s AND {hash_col} = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [seq, hash_, 1, guess[0], guess[1]])
        return cursor.rowcount > 0


_MOVE_HEAD_SQL: dict[str, str] = {}


def _chain(entries: list[Entry], seq: int, prev: str, at: datetime) -> list[AuditEntry]:
    """The rows for ``entries``, numbered and linked after the head ``(seq, prev)``."""
    rows = []
    for item in entries:
        actor, target = item.actor, item.target
        seq += 1
        row = AuditEntry(
            seq=seq,
            at=at,
            actor=actor if actor is not None and actor.pk else None,
            actor_username=getattr(actor, "username", "") or "",
            action=item.action,
            object_type=target._meta.label_lower if target is not None else "",
            object_id=str(target.pk) if target is not None else "",
            meeting_id=item.meeting_id,
            # JSON round trip: what we hash must be exactly what the JSON column gives back.
            data=json.loads(json.dumps(item.data or {}, ensure_ascii=False, default=str)),
            prev_hash=prev,
        )
        row.hash = prev = entry_hash(row)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def _check(entries: Iterable[AuditEntry], head: AuditHead | None) -> Iterator[ChainProblem]:
    expected_seq, prev = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            yield ChainProblem(expected_seq, f"entry #{expected_seq} is missing (next stored is #{entry.seq})")
            return
        if entry.prev_hash != prev:
            yield ChainProblem(entry.seq, f"entry #{entry.seq} does not link to entry #{entry.seq - 1} "
                               "(removed, reordered or rewritten)")
            return
        if entry_hash(entry) != entry.hash:
            yield ChainProblem(entry.seq, f"entry #{entry.seq} was altered: its content does not match its hash")
            return
        expected_seq, prev = entry.seq + 1, entry.hash
    last_seq = expected_seq - 1
    if head is not None and (head.seq, head.hash) != (last_seq, prev):
        yield ChainProblem(last_seq + 1, f"the chain ends at #{last_seq} but the recorded head is "
                           f"#{head.seq}: newest entries were removed")


def verify_chain() -> tuple[ChainProblem | None, int, str]:
    """Walk the whole chain. Returns ``(first problem or None, last seq, head hash)``."""
    head = AuditHead.objects.filter(id=1).first()
    entries = AuditEntry.objects.order_by("seq").iterator(chunk_size=2000)
    problem = next(_check(entries, head), None)
    if head is None:
        return problem, 0, GENESIS
    return problem, head.seq, head.hash
