"""Export → verify: the package of a closed session passes every check and holds what docs/archive.md
promises; sessions that are not closed, damaged sources and existing outputs are refused cleanly."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import bagit
import pytest
from django.core.files.storage import default_storage

from ecabinet.errors import InvalidState
from ecabinet.models import AuditEntry
from meetings.models import Meeting
from records.archive import layout
from records.archive.export import ArchiveSourceDamaged, build_bag, zip_bag
from records.archive.verify import verify_bag

from .conftest import KEPT_OUT_NOTES, OTHER_SECRET, SHARED_NOTE
from .tamper import files_of

pytestmark = pytest.mark.django_db


def info_of(root) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in (root / "bag-info.txt").read_text().splitlines())


def test_the_exported_bag_verifies(bag):
    report = verify_bag(bag.path, trust_roots=bag.trust_roots)
    assert report.ok, [str(p) for p in report.problems]
    assert [c.name for c in report.checks] == ["bag", "signatures", "record", "akoma-ntoso", "documents", "votes",
                                               "annotations", "ballots", "tasks", "audit"]
    notes = " ".join(n for c in report.checks for n in c.notes)
    assert "bagit.py validates the bag" in notes and "checkpoint #" in notes


def test_bagit_py_and_sha256sum_accept_the_bag(bag):
    bagit.Bag(str(bag.path)).validate()
    if shutil.which("sha256sum"):
        for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
            done = subprocess.run(["sha256sum", "--check", "--strict", manifest], cwd=bag.path,
                                  capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stdout + done.stderr


def test_the_bag_info_describes_the_session(bag):
    info = info_of(bag.path)
    assert info["Meeting-Id"] == str(bag.meeting_id)
    assert info["External-Identifier"] == f"ecabinet-session-{bag.meeting_id}"
    assert info["Bag-Count"] == "1 of 1" and info["Source-Organization"]
    assert info["Minutes-Status"] == "sealed"
    assert info["Minutes-SHA256"] == hashlib.sha256((bag.path / "data/minutes/minutes.pdf").read_bytes()).hexdigest()
    assert info["Resolution-SHA256"] and info["Record-Source"].startswith("embedded in the sealed minutes")
    payload = [f for f in files_of(bag.path) if f.startswith("data/")]
    assert info["Payload-Oxum"] == f"{sum((bag.path / f).stat().st_size for f in payload)}.{len(payload)}"
    seq, digest = info["Audit-Checkpoint"].split()
    record = json.loads((bag.path / "data/record/record.json").read_bytes())
    assert (int(seq), digest) == (record["audit_checkpoint"]["seq"], record["audit_checkpoint"]["hash"])


def test_the_records_are_the_ones_embedded_in_the_signed_minutes(bag):
    embedded = layout.embedded_files((bag.path / "data/minutes/minutes.pdf").read_bytes())
    assert (bag.path / "data/record/record.json").read_bytes() == embedded["record.json"]
    assert (bag.path / "data/record/record.akn.xml").read_bytes() == embedded["record.akn.xml"]


def test_every_document_version_is_there_as_uploaded(bag):
    assert bag.uploads and all((bag.path / path).read_bytes() == data for path, data in bag.uploads.items())
    assert sorted(bag.uploads) == [f for f in files_of(bag.path) if f.endswith(".pdf") and "/documents/" in f]
    rows = list(csv.DictReader(io.StringIO((bag.path / "data/documents/index.csv").read_text())))
    assert sorted(row["path"] for row in rows) == sorted(bag.uploads)
    assert {row["classification"] for row in rows} == {"public", "internal", "restricted"}


def test_the_votes_are_tables_and_secret_votes_link_no_voter_to_a_choice(bag):
    def table(name):
        return list(csv.DictReader(io.StringIO((bag.path / f"data/votes/{name}").read_text())))

    motions = {row["title"]: row for row in table("motions.csv")}
    named, secret = motions["Thông qua Nghị định"], motions["Nhân sự"]
    assert (named["yes"], named["no"], named["adopted"]) == ("2", "0", "true")
    assert (secret["yes"], secret["no"], secret["adopted"]) == ("1", "1", "false")
    votes = table("votes.csv")
    assert {(v["voter"], v["choice"]) for v in votes} == {("pm", "yes"), ("member01", "yes")}
    assert {v["motion_id"] for v in votes} == {named["motion_id"]} and all(v["cast_at"] for v in votes)
    receipts = table("receipts.csv")
    assert sorted(r["choice"] for r in receipts) == ["no", "yes"]
    assert {r["motion_id"] for r in receipts} == {secret["motion_id"]}
    assert list(receipts[0]) == ["motion_id", "receipt_hash", "choice"]


def test_the_audit_entries_are_this_sessions_and_the_other_session_stays_confidential(bag):
    entries = [json.loads(line) for line in (bag.path / "data/audit/entries.jsonl").read_text().splitlines()]
    assert entries and {e["meeting_id"] for e in entries} == {bag.meeting_id}
    proof = json.loads((bag.path / "data/audit/chain-proof.json").read_bytes())
    others = [link for link in proof["links"] if not link.get("own")]
    assert others and {"seq", "prev_hash", "hash", "midstate", "prefix_length", "tail"} == set(others[0])
    assert len(proof["links"]) == proof["last_seq"] - proof["first_seq"] + 1
    for link in others:  # what a link discloses: under one block of the entry, then prev_hash and seq
        tail = base64.b64decode(link["tail"])
        assert len(tail) - len(f',"prev_hash":"{link["prev_hash"]}","seq":{link["seq"]}}}') < 64
    for path in files_of(bag.path):
        assert OTHER_SECRET.encode() not in (bag.path / path).read_bytes(), path


def test_a_zip_of_the_bag_verifies(bag, tmp_path):
    target = tmp_path / "bag.zip"
    with open(target, "wb") as handle:
        zip_bag(bag.path, handle, "ecabinet-session-x")
    with zipfile.ZipFile(target) as archive:
        assert "ecabinet-session-x/bagit.txt" in archive.namelist()
    assert verify_bag(target, trust_roots=bag.trust_roots).ok


def test_a_zip_with_a_missing_member_fails_naming_it(bag, tmp_path):
    target = tmp_path / "bag.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in files_of(bag.path):
            if path != "data/votes/motions.csv":
                archive.write(bag.path / path, f"top/{path}")
    report = verify_bag(target, trust_roots=bag.trust_roots)
    assert not report.ok and report.named("data/votes/motions.csv")


def test_a_path_that_is_no_bag_is_reported(tmp_path):
    report = verify_bag(tmp_path / "nothing-here")
    assert not report.ok and str(report.problems[0]).endswith("not found")


# --- sessions without sealed minutes, and refusals -------------------------------------------------

def test_a_closed_session_without_minutes_is_exported_and_says_so(closed_session, tmp_path):
    summary = build_bag(closed_session.meeting, tmp_path / "bag")
    assert not summary.minutes_sealed
    info = info_of(summary.path)
    assert info["Minutes-Status"] == "no sealed minutes" and info["Minutes-SHA256"] == "none"
    assert info["Record-Source"].startswith("generated at export") and info["Audit-Checkpoint"] == "none"
    report = verify_bag(summary.path, trust_roots=[])
    assert report.ok, [str(p) for p in report.problems]
    checks = {c.name: c for c in report.checks}
    assert "no sealed minutes" in checks["signatures"].notes
    assert any(n.startswith("no sealed minutes") for n in checks["record"].notes)
    assert any("not anchored" in n for n in checks["audit"].notes)


@pytest.mark.parametrize("status", [Meeting.Status.DRAFT, Meeting.Status.IN_PROGRESS, Meeting.Status.ADJOURNED])
def test_only_a_closed_session_is_exported(cast, tmp_path, status):
    cast.set_status(status)
    (tmp_path / "out").mkdir()
    with pytest.raises(InvalidState) as caught:
        build_bag(cast.meeting, tmp_path / "out" / "bag")
    assert caught.value.code == "meeting_not_closed"
    assert list((tmp_path / "out").iterdir()) == []


def test_a_damaged_stored_document_stops_the_export_and_leaves_nothing(closed_session, tmp_path):
    version = closed_session.internal_doc.current_version
    with default_storage.open(version.file.name, "wb") as handle:
        handle.write(b"%PDF-1.7 someone replaced the stored file")
    with pytest.raises(ArchiveSourceDamaged) as caught:
        build_bag(closed_session.meeting, tmp_path / "out" / "bag")
    assert caught.value.code == "archive_source_damaged" and "Tờ trình Chính phủ" in caught.value.message
    assert list((tmp_path / "out").iterdir()) == []


def test_a_damaged_audit_chain_stops_the_export(closed_session, tmp_path):
    entry = AuditEntry.objects.filter(meeting_id=closed_session.meeting.pk).order_by("seq")[1]
    AuditEntry.objects.filter(pk=entry.pk).update(data={"forged": True})
    with pytest.raises(ArchiveSourceDamaged) as caught:
        build_bag(closed_session.meeting, tmp_path / "bag")
    assert f"#{entry.seq}" in caught.value.message and not (tmp_path / "bag").exists()


def test_an_existing_output_is_never_overwritten(closed_session, tmp_path):
    (tmp_path / "bag").mkdir()
    with pytest.raises(FileExistsError):
        build_bag(closed_session.meeting, tmp_path / "bag")


def test_the_bag_keeps_the_shared_annotations_and_nothing_of_the_others(bag):
    """Issue 17: the live shared annotation is in data/annotations/shared.jsonl; a private one, one to
    the secretariat and a deleted shared one are in no file of the bag (the audit entries of all four
    carry ids, kind and visibility, never their text)."""
    lines = [json.loads(line) for line in (bag.path / "data/annotations/shared.jsonl").read_text().splitlines()]
    assert [(row["text"], row["visibility"], row["author"], row["kind"], row["quote"]) for row in lines] == [
        (SHARED_NOTE, "shared", "member01", "note", "Tờ trình")]
    for relative in files_of(bag.path):
        content = (bag.path / relative).read_bytes()
        for marker in KEPT_OUT_NOTES:
            assert marker.encode() not in content, (relative, marker)
    entries = [json.loads(line) for line in (bag.path / "data/audit/entries.jsonl").read_text().splitlines()]
    audited = [(e["action"], e["data"]["visibility"]) for e in entries if e["action"].startswith("annotation.")]
    assert audited == [("annotation.created", "shared"), ("annotation.created", "private"),
                       ("annotation.created", "secretariat"), ("annotation.created", "shared"),
                       ("annotation.deleted", "shared")]
    assert SHARED_NOTE.encode() not in (bag.path / "data/audit/entries.jsonl").read_bytes()


def test_an_annotation_that_is_not_shared_or_not_on_a_listed_version_fails(bag, tmp_path):
    copy = Path(shutil.copytree(bag.path, tmp_path / "bag"))
    path = copy / "data/annotations/shared.jsonl"
    row = json.loads(path.read_text().splitlines()[0])
    path.write_text("\n".join(json.dumps(r) for r in (
        {**row, "visibility": "private"}, {**row, "id": row["id"] + 1, "version": 99}, row)) + "\n")
    report = verify_bag(copy, trust_roots=bag.trust_roots)
    problems = [str(p) for c in report.checks if c.name == "annotations" for p in c.problems]
    assert any("is 'private', not shared" in p for p in problems), problems
    assert any("v99, which the record does not list" in p for p in problems), problems
    assert any("listed twice" in p for p in problems), problems
