"""Issue 18: the written ballots linked to a session go into its archive package — a closed one in
full (drafts with their sha256, the summary as the summary shows it, its PDF), an open one listed
without answers, a draft by its id alone — and ``verify_archive`` checks them."""

from __future__ import annotations

import hashlib
import json

import pytest

from ecabinet.models import AuditEntry
from records.archive.export import build_bag
from records.archive.verify import verify_bag
from voting.models import BallotDocument

from .conftest import CLOSED_BALLOT, KEPT_OUT_BALLOT, link_ballots
from .tamper import copy_of, files_of, flip_byte, matching, rebuild

pytestmark = pytest.mark.django_db
INDEX = "data/ballots/ballots.json"


def index_of(root) -> dict:
    return json.loads((root / INDEX).read_text(encoding="utf-8"))


def ballot_problems(report) -> list[str]:
    return [str(p) for c in report.checks if c.name == "ballots" for p in c.problems]


def test_the_bag_lists_the_linked_ballots_by_state(bag):
    index = index_of(bag.path)
    assert index["format"] == "ecabinet-ballots/1" and index["meeting_id"] == bag.meeting_id
    closed, still_open, draft = index["ballots"]
    assert (closed["state"], still_open["state"], draft["state"]) == ("closed", "open", "draft")
    assert set(draft) == {"id", "state"}
    assert not {"summary", "documents", "summary_pdf", "description"} & set(still_open)
    assert closed["title"] == CLOSED_BALLOT and closed["closed_at"]
    summary = closed["summary"]
    assert summary["final"] and summary["recipients"] == 3 and summary["fully_answered"] == 3
    first = summary["questions"][0]
    assert first["counts"] == {"agree": 1, "disagree": 1, "other": 1, "not_answered": 0}
    assert sorted((a["username"], a["choice"], a["opinion"]) for a in first["answers"]) == [
        ("member01", "disagree", "Cần sửa Điều 3."), ("member02", "other", "Đề nghị lùi hiệu lực."),
        ("pm", "agree", "")]
    assert "thành viên" in summary["silence_statement"]  # in Vietnamese whatever the exporter's language


def test_the_closed_ballots_drafts_and_summary_pdf_are_in_the_bag_with_their_sha256(bag):
    closed = index_of(bag.path)["ballots"][0]
    (document,) = closed["documents"]
    data = (bag.path / document["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == document["sha256"] and data.startswith(b"%PDF-")
    assert document["path"] == f"data/ballots/{closed['id']}/drafts/{document['id']}-{document['sha256'][:16]}.pdf"
    pdf = (bag.path / closed["summary_pdf"]["path"]).read_bytes()
    assert pdf.startswith(b"%PDF-") and hashlib.sha256(pdf).hexdigest() == closed["summary_pdf"]["sha256"]
    ballot_files = [f for f in files_of(bag.path) if f.startswith("data/ballots/")]
    assert sorted(ballot_files) == sorted([INDEX, document["path"], closed["summary_pdf"]["path"]])
    info = dict(line.split(": ", 1) for line in (bag.path / "bag-info.txt").read_text().splitlines())
    assert info["Written-Ballots"] == "3"


def test_nothing_of_the_open_ballot_or_the_draft_is_in_the_bag(bag):
    for relative in files_of(bag.path):
        content = (bag.path / relative).read_bytes()
        for marker in KEPT_OUT_BALLOT:
            assert marker.encode() not in content, (relative, marker)


def test_the_link_is_in_the_sessions_audit_trail_ids_only(bag):
    index = index_of(bag.path)
    entries = [json.loads(line) for line in (bag.path / "data/audit/entries.jsonl").read_text().splitlines()]
    linked = [e for e in entries if e["action"] == "ballot.meeting_linked"]
    assert sorted(int(e["object_id"]) for e in linked) == [b["id"] for b in index["ballots"]]
    assert all(set(e["data"]) == {"ballot", "meeting", "previous"} for e in linked)
    assert not [e for e in entries if e["action"] == "ballot.answered"]  # answers are not session entries


def test_the_ballots_check_passes_and_says_what_it_saw(bag):
    report = verify_bag(bag.path, trust_roots=bag.trust_roots)
    check = next(c for c in report.checks if c.name == "ballots")
    assert check.ok, check.problems
    assert check.notes == ["3 linked ballots: 1 closed (drafts, summary and answers hold together), 1 open, "
                           "1 drafts (listed only)"]


def test_a_session_without_ballots_lists_none(closed_session, tmp_path):
    summary = build_bag(closed_session.meeting, tmp_path / "bag")
    assert index_of(summary.path)["ballots"] == []
    report = verify_bag(summary.path, trust_roots=[])
    assert next(c for c in report.checks if c.name == "ballots").ok


def test_a_ballot_closed_by_its_deadline_alone_is_archived_in_full(cast, closed_session, tmp_path, monkeypatch):
    """The scheduler has not recorded the close: the deadline has passed, so it is closed."""
    from voting.services import ballots as ballot_services

    linked = link_ballots(cast)
    later = linked.open.deadline
    monkeypatch.setattr(ballot_services, "current_time", lambda: later)
    summary = build_bag(closed_session.meeting, tmp_path / "bag")
    rows = {b["id"]: b for b in index_of(summary.path)["ballots"]}
    assert rows[linked.open.pk]["state"] == "closed" and rows[linked.open.pk]["summary"]["final"]
    assert rows[linked.draft.pk] == {"id": linked.draft.pk, "state": "draft"}
    report = verify_bag(summary.path, trust_roots=[])
    assert next(c for c in report.checks if c.name == "ballots").ok, ballot_problems(report)


def test_a_damaged_stored_draft_stops_the_export(cast, closed_session, tmp_path):
    from records.archive.export import ArchiveSourceDamaged

    linked = link_ballots(cast)
    document = BallotDocument.objects.get(ballot=linked.closed)
    with document.file.open("wb") as handle:
        handle.write(b"%PDF-1.7 replaced on disk\n")
    with pytest.raises(ArchiveSourceDamaged):
        build_bag(closed_session.meeting, tmp_path / "bag")
    assert not (tmp_path / "bag").exists()
    assert not AuditEntry.objects.filter(action="archive.exported").exists()


# --- tampering (the attacker rebuilds the manifests) ------------------------------------------------

def _edit_index(root, change) -> None:
    index = index_of(root)
    change(index)
    (root / INDEX).write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    rebuild(root)


def test_a_changed_answer_with_rebuilt_manifests_fails_the_ballots_check(bag, bag_copy):
    def change(index):
        answers = index["ballots"][0]["summary"]["questions"][0]["answers"]
        next(a for a in answers if a["choice"] == "disagree")["choice"] = "agree"
    _edit_index(bag_copy, change)
    report = verify_bag(bag_copy, trust_roots=bag.trust_roots)
    problems = ballot_problems(report)
    assert problems and all(p.startswith(INDEX) for p in problems), problems
    assert any("are not the answers counted" in p for p in problems), problems
    assert {c.name for c in report.checks if not c.ok} == {"ballots"}


def test_answers_smuggled_into_an_open_ballot_fail(bag, bag_copy):
    def change(index):
        index["ballots"][1]["summary"] = index["ballots"][0]["summary"]
    _edit_index(bag_copy, change)
    assert any("is open but carries summary" in p for p in ballot_problems(verify_bag(bag_copy, trust_roots=[])))


def test_a_disagreement_without_its_opinion_fails(bag, bag_copy):
    def change(index):
        answers = index["ballots"][0]["summary"]["questions"][0]["answers"]
        next(a for a in answers if a["choice"] == "disagree")["opinion"] = ""
    _edit_index(bag_copy, change)
    assert any("without the written opinion" in p for p in ballot_problems(verify_bag(bag_copy, trust_roots=[])))


def test_a_swapped_draft_with_rebuilt_manifests_is_named(bag, bag_copy):
    (relative,) = matching(bag_copy, "data/ballots/*/drafts/*.pdf")
    flip_byte(bag_copy / relative)
    rebuild(bag_copy)
    report = verify_bag(bag_copy, trust_roots=bag.trust_roots)
    assert f"{relative}: changed (sha256 differs from ballots.json)" in ballot_problems(report)
    assert next(c for c in report.checks if c.name == "bag").ok


def test_a_stray_file_under_ballots_with_rebuilt_manifests_is_named(bag, bag_copy):
    stray = "data/ballots/999/drafts/1-0000000000000000.pdf"
    (bag_copy / stray).parent.mkdir(parents=True)
    (bag_copy / stray).write_bytes(b"%PDF-1.7 not ours\n")
    rebuild(bag_copy)
    assert f"{stray}: not a file of the linked ballots" in ballot_problems(verify_bag(bag_copy, trust_roots=[]))


def test_a_removed_summary_pdf_with_rebuilt_manifests_is_named(bag, bag_copy):
    (relative,) = matching(bag_copy, "data/ballots/*/summary.pdf")
    (bag_copy / relative).unlink()
    rebuild(bag_copy)
    assert f"{relative}: missing (listed in ballots.json)" in ballot_problems(verify_bag(bag_copy, trust_roots=[]))


def test_a_ballots_file_of_another_session_is_named(bag, bag_copy):
    _edit_index(bag_copy, lambda index: index.update(meeting_id=index["meeting_id"] + 1))
    problems = ballot_problems(verify_bag(bag_copy, trust_roots=[]))
    assert any(p.startswith(f"{INDEX}: is for session") for p in problems), problems


def test_a_bag_from_before_issue_18_is_noted_not_failed(bag, bag_copy):
    (bag_copy / INDEX).unlink()
    for relative in matching(bag_copy, "data/ballots/*.pdf"):
        (bag_copy / relative).unlink()
    rebuild(bag_copy)
    report = verify_bag(bag_copy, trust_roots=[])
    check = next(c for c in report.checks if c.name == "ballots")
    assert check.ok and "no ballots file" in check.notes[0]


def test_a_copy_verifies_untouched(bag, tmp_path):
    copy = copy_of(bag.path, tmp_path / "untouched")
    assert verify_bag(copy, trust_roots=bag.trust_roots).ok
