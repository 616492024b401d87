"""``ecabinet.audit.record_many`` appends without reading the head when this process knows it (issue 19:
every page view appends an entry), and still never forks the chain: a stale guess, a rolled-back
transaction or appends racing from several threads all leave one intact chain whose head is its last
entry."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ecabinet import audit
from ecabinet.models import AuditEntry, AuditHead

from .factories import UserFactory


def intact() -> int:
    problem, last, head_hash = audit.verify_chain()
    assert problem is None, problem
    assert AuditEntry.objects.order_by("-seq").values_list("hash", flat=True).first() == head_hash
    return last


def test_it_chains_onto_the_real_head_when_the_one_it_remembers_is_stale(db, monkeypatch):
    actor = UserFactory(username="secretary")
    entries = [audit.record(actor, f"test.step{n}") for n in range(3)]
    # Another process appended entries[2] since this one last looked: its guess is one behind.
    monkeypatch.setattr(audit, "_known_head", (entries[1].seq, entries[1].hash))
    entry = audit.record(actor, "test.after")
    assert (entry.seq, entry.prev_hash) == (entries[2].seq + 1, entries[2].hash)
    assert intact() == entry.seq


def test_it_appends_with_an_update_and_an_insert_when_it_knows_the_head(db):
    actor = UserFactory(username="secretary")
    audit.record(actor, "test.first")
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        entry = audit.record(actor, "test.second")
    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    # Inside the caller's transaction: no savepoint, no read of the head; BEGIN and COMMIT are the caller's.
    assert statements == ["BEGIN", "UPDATE", "INSERT", "COMMIT"] or statements == ["UPDATE", "INSERT"], statements
    head = AuditHead.objects.get()
    assert (head.seq, head.hash) == (entry.seq, entry.hash)
    assert intact() == entry.seq


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_entry_and_no_head_change():
    actor = UserFactory(username="secretary")
    audit.record(actor, "test.kept")
    before = AuditHead.objects.values_list("seq", "hash").get()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(actor, "test.undone")
        raise RuntimeError("a later step failed")
    assert AuditHead.objects.values_list("seq", "hash").get() == before
    assert not AuditEntry.objects.filter(action="test.undone").exists()
    # The process remembered the rolled-back head: the next append must find the real one.
    entry = audit.record(actor, "test.next")
    assert (entry.seq, entry.prev_hash) == (before[0] + 1, before[1])
    assert intact() == entry.seq


@pytest.mark.django_db(transaction=True)
def test_appends_racing_from_several_threads_never_fork_the_chain():
    actors = [UserFactory(username=f"member{n:02d}") for n in range(4)]
    per_thread = 10
    barrier = threading.Barrier(len(actors))
    errors: list[Exception] = []

    def append(actor):
        try:
            barrier.wait()
            for n in range(per_thread):
                with transaction.atomic():
                    audit.record_many([audit.Entry(actor, f"test.{n}a"), audit.Entry(actor, f"test.{n}b")])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert intact() == AuditEntry.objects.count() == len(actors) * per_thread * 2
    for actor in actors:  # each append's two entries are neighbours, in the order given
        seqs = list(AuditEntry.objects.filter(actor_username=actor.username).order_by("seq")
                    .values_list("seq", "action"))
        assert all(b == a + 1 and x.endswith("a") and y.endswith("b")
                   for (a, x), (b, y) in zip(seqs[::2], seqs[1::2], strict=True))
