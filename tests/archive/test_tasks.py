"""Issue 18: a session's follow-up tasks go into its archive package — ``data/tasks.jsonl`` (each task
with its history and reports) and the reports' attachments as sent, with their sha256 — and
``verify_archive`` checks them (a changed byte, a stray or missing file, an edited line: named)."""

from __future__ import annotations

import hashlib
import json

import pytest

from ecabinet.models import AuditEntry
from followup.models import TaskAttachment
from records.archive.export import ArchiveSourceDamaged, build_bag
from records.archive.verify import verify_bag

from .conftest import link_tasks
from .tamper import flip_byte, matching, rebuild

pytestmark = pytest.mark.django_db
INDEX = "data/tasks.jsonl"


def tasks_of(root) -> list[dict]:
    return [json.loads(line) for line in (root / INDEX).read_text(encoding="utf-8").splitlines()]


def task_problems(report) -> list[str]:
    return [str(p) for c in report.checks if c.name == "tasks" for p in c.problems]


def test_the_bag_holds_the_tasks_with_their_history_and_reports(bag):
    done, cancelled = tasks_of(bag.path)
    assert (done["meeting_id"], cancelled["meeting_id"]) == (bag.meeting_id, bag.meeting_id)
    assert (done["state"], cancelled["state"]) == ("accepted", "cancelled")
    assert [c["kind"] for c in done["history"]] == ["created", "started", "reported", "accepted"]
    assert done["history"][2]["reason"] == "Nghị định đã được ban hành."
    assert [(r["kind"], r["author"]["username"], len(r["attachments"])) for r in done["reports"]] == [
        ("progress", "lead01", 1), ("done", "lead01", 2)]
    assert cancelled["history"][-1]["reason"] == "Đã được giao trong nhiệm vụ khác." and cancelled["reports"] == []
    info = dict(line.split(": ", 1) for line in (bag.path / "bag-info.txt").read_text().splitlines())
    assert info["Follow-Up-Tasks"] == "2"


def test_each_attachment_is_in_the_bag_as_sent_with_its_sha256(bag):
    (done, _cancelled) = tasks_of(bag.path)
    listed = [a for r in done["reports"] for a in r["attachments"]]
    for attachment in listed:
        data = (bag.path / attachment["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == attachment["sha256"] and data.startswith(b"%PDF-")
        assert attachment["path"] == (f"data/tasks/{done['id']}/{attachment['id']}-{attachment['sha256'][:16]}.pdf")
    assert [a["filename"] for a in listed] == ["tien-do.pdf", "nghi-dinh-ban-hanh.pdf", "phu-luc.pdf"]
    assert sorted(matching(bag.path, "data/tasks/*")) == sorted(a["path"] for a in listed)


def test_the_tasks_check_passes_and_says_what_it_saw(bag):
    report = verify_bag(bag.path, trust_roots=bag.trust_roots)
    check = next(c for c in report.checks if c.name == "tasks")
    assert check.ok, check.problems
    assert check.notes == ["2 tasks, their histories hold together; 3 report attachments match their sha256"]
    assert report.ok, [(c.name, c.problems) for c in report.checks if not c.ok]


def test_a_session_without_tasks_lists_none(closed_session, tmp_path):
    summary = build_bag(closed_session.meeting, tmp_path / "bag")
    assert (summary.path / INDEX).read_bytes() == b""
    report = verify_bag(summary.path, trust_roots=[])
    assert next(c for c in report.checks if c.name == "tasks").ok


def test_a_damaged_stored_attachment_stops_the_export(cast, closed_session, tmp_path):
    link_tasks(cast)
    attachment = TaskAttachment.objects.order_by("id").first()
    with attachment.file.open("wb") as handle:
        handle.write(b"%PDF-1.7 replaced on disk\n")
    with pytest.raises(ArchiveSourceDamaged):
        build_bag(closed_session.meeting, tmp_path / "bag")
    assert not (tmp_path / "bag").exists()
    assert not AuditEntry.objects.filter(action="archive.exported").exists()


# --- tampering -----------------------------------------------------------------------------------------

def test_a_changed_byte_of_an_attachment_fails_and_is_named(bag, bag_copy):
    relative = matching(bag_copy, "data/tasks/*/*.pdf")[0]
    flip_byte(bag_copy / relative)
    report = verify_bag(bag_copy, trust_roots=bag.trust_roots)
    assert not report.ok and report.named(relative)
    rebuild(bag_copy)  # the attacker recomputes the manifests: the tasks check still names it
    report = verify_bag(bag_copy, trust_roots=bag.trust_roots)
    assert f"{relative}: changed (sha256 differs from tasks.jsonl)" in task_problems(report)
    assert {c.name for c in report.checks if not c.ok} == {"tasks"}


def _edit(root, change) -> None:
    rows = tasks_of(root)
    change(rows)
    (root / INDEX).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    rebuild(root)


def test_a_task_whose_state_is_rewritten_fails(bag, bag_copy):
    _edit(bag_copy, lambda rows: rows[1].update(state="accepted"))
    problems = task_problems(verify_bag(bag_copy, trust_roots=[]))
    assert any("its history ends in 'cancelled', the task is 'accepted'" in p for p in problems), problems


def test_a_task_of_another_session_is_named(bag, bag_copy):
    _edit(bag_copy, lambda rows: rows[0].update(meeting_id=rows[0]["meeting_id"] + 1))
    assert any("is of session" in p for p in task_problems(verify_bag(bag_copy, trust_roots=[])))


def test_a_removed_attachment_line_leaves_its_file_named_as_stray(bag, bag_copy):
    removed = {}

    def change(rows):
        removed.update(rows[0]["reports"][0]["attachments"].pop())
    _edit(bag_copy, change)
    assert f"{removed['path']}: not a file of the session's tasks" in task_problems(
        verify_bag(bag_copy, trust_roots=[]))


def test_a_removed_attachment_with_rebuilt_manifests_is_named(bag, bag_copy):
    relative = matching(bag_copy, "data/tasks/*/*.pdf")[-1]
    (bag_copy / relative).unlink()
    rebuild(bag_copy)
    assert f"{relative}: missing (listed in tasks.jsonl)" in task_problems(verify_bag(bag_copy, trust_roots=[]))


def test_a_bag_from_before_the_tasks_is_noted_not_failed(bag, bag_copy):
    import shutil

    (bag_copy / INDEX).unlink()
    shutil.rmtree(bag_copy / "data/tasks")
    rebuild(bag_copy)
    check = next(c for c in verify_bag(bag_copy, trust_roots=[]).checks if c.name == "tasks")
    assert check.ok and "no tasks file" in check.notes[0]
