"""``verify_audit`` and the audit log's promises (issue #2 §6): append-only, hash-chained, written in
the same transaction as the change, and any alteration, removal or reordering named by ``seq``.

Tampering is done with raw SQL, the way someone with database access would do it, bypassing the ORM.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ecabinet import audit
from ecabinet.errors import UploadRejected
from ecabinet.models import AuditEntry, AuditHead
from meetings import services
from meetings.models import Meeting

from .conftest import upload
from .factories import UserFactory
from .pdfs import truncated_pdf

TABLE = AuditEntry._meta.db_table


@pytest.fixture
def chain(db) -> list[AuditEntry]:
    """Five entries, with Vietnamese text in their data (the JSON round trip must hash the same)."""
    actor = UserFactory(username="secretary", full_name="Trần Thị Thư")
    return [
        audit.record(actor, f"test.step{n}", actor, meeting_id=n, data={"bước": n, "ghi chú": "Tờ trình số " + str(n)})
        for n in range(1, 6)
    ]


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def run_verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def failure() -> CommandError:
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", stdout=io.StringIO(), stderr=io.StringIO())
    assert excinfo.value.returncode == 1
    return excinfo.value


def test_it_prints_the_number_of_entries_and_the_head_of_an_intact_chain(chain):
    output = run_verify()
    head = AuditHead.objects.get()
    assert head.seq == 5 and head.hash == chain[-1].hash
    assert "5 entries" in output
    assert head.hash in output


def test_it_passes_on_an_empty_log(db):
    assert "0 entries" in run_verify()


def test_it_passes_on_a_chain_written_by_the_services(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    count = AuditEntry.objects.count()
    assert count > 10
    assert f"{count} entries" in run_verify()


def test_it_names_an_entry_whose_data_was_edited_in_the_database(chain):
    json_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql(f"UPDATE {TABLE} SET data = {json_param} WHERE seq = %s",
        [json.dumps({"bước": 3, "ghi chú": "Tờ trình đã sửa"}, ensure_ascii=False), 3])
    error = failure()
    assert "entry #3" in str(error)
    assert "altered" in str(error)


def test_it_names_an_entry_whose_actor_was_rewritten(chain):
    sql(f"UPDATE {TABLE} SET actor_username = %s WHERE seq = %s", ["someone-else", 2])
    assert "entry #2" in str(failure())


def test_it_names_an_entry_whose_own_hash_was_recomputed_to_hide_an_edit(chain):
    # Rewriting the data and the row's own hash still breaks the next entry's link.
    sql(f"UPDATE {TABLE} SET action = %s WHERE seq = %s", ["test.forged", 2])
    forged = AuditEntry.objects.get(seq=2)
    sql(f"UPDATE {TABLE} SET hash = %s WHERE seq = %s", [audit.entry_hash(forged), 2])
    error = failure()
    assert "entry #3" in str(error)
    assert "does not link" in str(error)


def test_it_names_the_gap_when_a_middle_entry_was_deleted(chain):
    sql(f"DELETE FROM {TABLE} WHERE seq = %s", [3])
    error = failure()
    assert "entry #3" in str(error)
    assert "missing" in str(error)


def test_it_names_the_first_displaced_entry_when_two_entries_were_swapped(chain):
    # seq is unique, so the swap goes through a temporary value, as an attacker's would.
    sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [-2, 2])
    sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [2, 3])
    sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [3, -2])
    error = failure()
    assert "entry #2" in str(error)
    assert "does not link" in str(error)


def test_it_notices_when_the_newest_entry_was_deleted(chain):
    sql(f"DELETE FROM {TABLE} WHERE seq = %s", [5])
    error = failure()
    assert "entry #5" in str(error)
    assert "newest entries were removed" in str(error)


def test_it_exits_with_status_one_and_writes_the_problem_to_stderr_from_the_command_line(
        chain, monkeypatch, capsys):
    # run_from_argv is what manage.py calls; it closes every connection at the end, which would end
    # the test's transaction, so that one step is switched off here.
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)
    sql(f"DELETE FROM {TABLE} WHERE seq = %s", [4])
    from ecabinet.management.commands.verify_audit import Command

    with pytest.raises(SystemExit) as excinfo:
        Command().run_from_argv(["manage.py", "verify_audit"])
    assert excinfo.value.code == 1
    assert "entry #4" in capsys.readouterr().err


def test_it_leaves_no_audit_entry_behind_when_an_upload_is_refused(cast):
    before = list(AuditEntry.objects.values_list("seq", flat=True))
    with pytest.raises(UploadRejected) as excinfo:
        services.document_upload(actor=cast.secretary, item=cast.item, title="Báo cáo", classification="internal",
                                 upload=upload(data=truncated_pdf()))
    assert excinfo.value.code == "pdf_truncated"
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == before
    assert AuditHead.objects.get().seq == before[-1]


@pytest.mark.django_db(transaction=True)
def test_it_rolls_back_the_audit_entry_with_the_change_when_a_later_step_fails(cast, monkeypatch):
    # Publishing writes the status change and its audit entry, then notifies the invitees. If the
    # notification fails, the whole transaction is undone: no status change, no audit entry, and the
    # chain head still matches. transaction=True makes this a real COMMIT/ROLLBACK, not a savepoint.
    def broken_notify(*args, **kwargs):
        raise RuntimeError("mail queue unavailable")

    monkeypatch.setattr(services.participants, "notify", broken_notify)
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError):
        services.meeting_publish(actor=cast.secretary, meeting=cast.meeting)
    cast.meeting.refresh_from_db()
    assert cast.meeting.status == Meeting.Status.DRAFT
    assert AuditEntry.objects.count() == before
    assert not AuditEntry.objects.filter(action="meeting.status").exists()
    assert AuditHead.objects.get().seq == before
    assert f"{before} entries" in run_verify()
