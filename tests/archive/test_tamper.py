"""Whatever is removed, edited or added in a bag, ``verify_bag`` fails and names the file — and an
attacker who recomputes the manifests is still caught by the signatures, the signed record and the
signed audit checkpoint."""

from __future__ import annotations

import fnmatch
import json

import pytest

from ecabinet import pki
from records.archive.verify import verify_bag

from .tamper import PATTERNS, copy_of, files_of, flip_byte, matching, read_audit, rebuild, rechain, write_audit

pytestmark = pytest.mark.django_db


def verify(bag, path):
    return verify_bag(path, trust_roots=bag.trust_roots)


def failing(report) -> dict[str, list[str]]:
    return {check.name: [str(p) for p in check.problems] for check in report.checks if not check.ok}


def test_the_patterns_cover_every_file_of_the_bag(bag):
    files = files_of(bag.path)
    assert [f for f in files if not any(fnmatch.fnmatchcase(f, p) for p in PATTERNS)] == []
    assert [p for p in PATTERNS if not matching(bag.path, p)] == []


@pytest.mark.parametrize("pattern", PATTERNS)
def test_removing_any_file_fails_and_names_it(bag, tmp_path, pattern):
    for index, relative in enumerate(matching(bag.path, pattern)):
        copy = copy_of(bag.path, tmp_path / f"bag{index}")
        (copy / relative).unlink()
        report = verify(bag, copy)
        assert not report.ok
        assert report.named(relative), (relative, failing(report))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_editing_one_byte_of_any_file_fails_and_names_it(bag, tmp_path, pattern):
    for index, relative in enumerate(matching(bag.path, pattern)):
        copy = copy_of(bag.path, tmp_path / f"bag{index}")
        flip_byte(copy / relative)
        report = verify(bag, copy)
        assert not report.ok
        assert report.named(relative), (relative, failing(report))


@pytest.mark.parametrize("stray", ["data/stray.txt", "data/documents/1-1/v9-0000000000000000.pdf",
                                   "data/minutes/unsigned.pdf", "notes.txt"])
def test_a_stray_file_fails_and_is_named(bag, bag_copy, stray):
    (bag_copy / stray).parent.mkdir(parents=True, exist_ok=True)
    (bag_copy / stray).write_bytes(b"%PDF-1.7 not ours\n")
    report = verify(bag, bag_copy)
    assert not report.ok
    assert report.named(stray), failing(report)
    assert "unexpected file (in no manifest)" in [p.message for p in report.problems if p.path == stray]


def test_a_changed_payload_file_is_reported_as_a_sha256_mismatch(bag, bag_copy):
    relative = matching(bag_copy, "data/documents/*/v*.pdf")[0]
    flip_byte(bag_copy / relative)
    assert f"{relative}: changed (sha256 mismatch)" in [str(p) for p in verify(bag, bag_copy).problems]


def test_an_edited_manifest_is_named_not_the_file_it_lists(bag, bag_copy):
    """One manifest disagrees with the file, the other agrees: the manifest was edited."""
    manifest = bag_copy / "manifest-sha512.txt"
    lines = manifest.read_text().splitlines(keepends=True)
    digest, path = lines[0].split("  ", 1)
    lines[0] = ("0" if digest[0] != "0" else "1") + digest[1:] + "  " + path
    manifest.write_text("".join(lines))
    report = verify(bag, bag_copy)
    names = {p.path for p in report.problems}
    assert "manifest-sha512.txt" in names and path.strip() not in names


# --- an attacker who rebuilds the manifests ---------------------------------------------------------

@pytest.mark.parametrize("pattern", ["data/minutes/minutes.pdf", "data/resolution/resolution.pdf",
                                     "data/corrections/correction-*.pdf"])
def test_a_flipped_pdf_byte_with_rebuilt_manifests_fails_the_signature_check(bag, bag_copy, pattern):
    relative = matching(bag_copy, pattern)[0]
    flip_byte(bag_copy / relative)
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    checks = {c.name: c for c in report.checks}
    assert checks["bag"].ok, checks["bag"].problems  # the manifests were rebuilt: the bag itself holds
    assert [p.path for p in checks["signatures"].problems] == [relative]


def test_an_edited_record_with_rebuilt_manifests_is_caught_by_the_signed_minutes(bag, bag_copy):
    path = bag_copy / "data/record/record.json"
    path.write_bytes(path.read_bytes().replace("Thông qua Nghị định".encode(), "Bác bỏ Nghị định".encode()))
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    assert "data/record/record.json: differs from the record.json embedded in the signed minutes" in \
        [str(p) for p in report.problems]


def test_an_invalid_akoma_ntoso_record_is_named(bag, bag_copy):
    path = bag_copy / "data/record/record.akn.xml"
    path.write_bytes(path.read_bytes().replace(b"<debateBody>", b"<debateBody><bogus/>", 1))
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    assert {c.name for c in report.checks if not c.ok} >= {"record", "akoma-ntoso"}
    assert all(p.path == "data/record/record.akn.xml" for c in report.checks if c.name == "akoma-ntoso"
               for p in c.problems)


def test_a_swapped_document_with_rebuilt_manifests_is_caught_by_the_record(bag, bag_copy):
    first, second = matching(bag_copy, "data/documents/*/v*.pdf")[:2]
    (bag_copy / first).write_bytes((bag_copy / second).read_bytes())
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    assert f"{first}: changed (sha256 differs from the record)" in [str(p) for p in report.problems]


def test_a_changed_vote_with_rebuilt_manifests_is_caught_by_the_record(bag, bag_copy):
    path = bag_copy / "data/votes/votes.csv"
    path.write_text(path.read_text().replace(",yes,", ",no,", 1))
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    assert [p.path for p in report.problems] == ["data/votes/votes.csv"]


def test_a_changed_checkpoint_in_bag_info_is_named(bag, bag_copy):
    info = bag_copy / "bag-info.txt"
    info.write_text(info.read_text().replace("Audit-Checkpoint: ", "Audit-Checkpoint: 1", 1))
    rebuild(bag_copy)
    assert [p.path for p in verify(bag, bag_copy).problems] == ["bag-info.txt"]


# --- the audit chain proof ------------------------------------------------------------------------

PROOF, ENTRIES = "data/audit/chain-proof.json", "data/audit/entries.jsonl"


def _other_link(proof: dict) -> dict:
    return next(link for link in proof["links"][1:-1] if not link.get("own"))


def test_a_changed_link_hash_fails(bag, bag_copy):
    proof, entries = read_audit(bag_copy)
    _other_link(proof)["hash"] = "f" * 64
    write_audit(bag_copy, proof, entries)
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    assert report.named(PROOF) and not report.named(ENTRIES)
    assert any("recomputed from its midstate" in p.message for p in report.problems)


def test_a_removed_link_fails(bag, bag_copy):
    proof, entries = read_audit(bag_copy)
    link = _other_link(proof)
    proof["links"].remove(link)
    write_audit(bag_copy, proof, entries)
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    assert f"{PROOF}: link #{link['seq']} is missing (next is #{link['seq'] + 1})" in [str(p) for p in report.problems]


def test_an_altered_entry_fails(bag, bag_copy):
    proof, entries = read_audit(bag_copy)
    entries[3]["actor_username"] = "someone-else"
    write_audit(bag_copy, proof, entries)
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    assert any(p.path == ENTRIES and "was altered" in p.message for p in report.problems)


def test_a_dropped_entry_fails(bag, bag_copy):
    proof, entries = read_audit(bag_copy)
    dropped = entries.pop(2)
    write_audit(bag_copy, proof, entries)
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    assert f"{PROOF}: link #{dropped['seq']} is a session entry missing from entries.jsonl" in \
        [str(p) for p in report.problems]


def test_history_rewritten_and_rechained_still_misses_the_signed_checkpoint(bag, bag_copy):
    """The attacker edits an early entry and recomputes every later hash — which the midstates let
    anyone do — but cannot reach the checkpoint printed in the signed minutes."""
    proof, entries = read_audit(bag_copy)
    target = entries[1]
    target["data"] = {**target["data"], "rewritten": True}
    rechain(proof, entries, target["seq"])
    write_audit(bag_copy, proof, entries)
    rebuild(bag_copy)
    report = verify(bag, bag_copy)
    problems = [p for c in report.checks if c.name == "audit" for p in c.problems]
    assert problems and all(p.path == PROOF for p in problems)
    assert any("checkpoint" in p.message and "but the proof has" in p.message for p in problems)
    assert not any("recomputed" in p.message or "chain" in p.message for p in problems)


def test_a_rechained_proof_without_changes_still_verifies(bag, bag_copy):
    """The tamper helper itself is faithful: recomputing an unchanged chain changes nothing."""
    proof, entries = read_audit(bag_copy)
    before = json.dumps(proof, sort_keys=True)
    rechain(proof, entries, proof["first_seq"] + 1)
    assert json.dumps(proof, sort_keys=True) == before


# --- trust roots ------------------------------------------------------------------------------------

def test_another_trust_root_fails_every_signed_document(bag):
    _, other_ca = pki.create_ca("Some other CA")
    report = verify_bag(bag.path, trust_roots=[other_ca])
    signatures = next(c for c in report.checks if c.name == "signatures")
    signed = [f for pattern in ("data/minutes/*.pdf", "data/resolution/*.pdf", "data/corrections/*.pdf")
              for f in matching(bag.path, pattern)]
    assert sorted(p.path for p in signatures.problems) == sorted(signed)
    assert all("trusted root" in p.message for p in signatures.problems)
