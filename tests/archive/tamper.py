"""Helpers for the tamper tests: what an accident or an attacker does to a bag."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import shutil
from pathlib import Path

import bagit

from records.archive import chain, sha256
from records.archive.layout import quiet_bagit

# Every kind of file the bag holds (docs/archive.md); test_tamper checks that they cover the bag.
PATTERNS = [
    "bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt",
    "tagmanifest-sha512.txt", "data/minutes/minutes.pdf", "data/resolution/resolution.pdf",
    "data/corrections/correction-*.pdf", "data/record/record.json", "data/record/record.akn.xml",
    "data/documents/*/v*.pdf", "data/documents/index.csv", "data/votes/motions.csv", "data/votes/votes.csv",
    "data/votes/receipts.csv", "data/annotations/shared.jsonl", "data/ballots/ballots.json",
    "data/ballots/*/drafts/*.pdf", "data/ballots/*/summary.pdf", "data/tasks.jsonl", "data/tasks/*/*.pdf",
    "data/audit/entries.jsonl",
    "data/audit/chain-proof.json",
]


def files_of(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def matching(root: Path, pattern: str) -> list[str]:
    return [f for f in files_of(root) if fnmatch.fnmatchcase(f, pattern)]


def copy_of(bag: Path, target: Path) -> Path:
    return Path(shutil.copytree(bag, target))


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def rebuild(root: Path) -> None:
    """What an attacker who edits the payload does next: recompute every manifest with bagit.py."""
    with quiet_bagit():
        bagit.Bag(str(root)).save(manifests=True)


def rechain(proof: dict, entries: list[dict], start_seq: int) -> None:
    """Recompute every hash from ``start_seq`` on, as an attacker rewriting history would: own
    entries from their content, other sessions' links from their midstate and rewritten tail."""
    own = {e["seq"]: e for e in entries}
    previous_hash = None
    for link in proof["links"]:
        if link["seq"] < start_seq:
            previous_hash = link["hash"]
            continue
        link["prev_hash"] = previous_hash
        if link.get("own"):
            entry = own[link["seq"]]
            entry["prev_hash"] = previous_hash
            content = {k: v for k, v in entry.items() if k != "hash"}
            entry["hash"] = hashlib.sha256(chain.canonical_bytes(content)).hexdigest()
            link["hash"] = entry["hash"]
        else:
            head, _, _ = base64.b64decode(link["tail"]).rpartition(b',"prev_hash":"')
            tail = head + f',"prev_hash":"{previous_hash}","seq":{link["seq"]}}}'.encode()
            link["tail"] = base64.b64encode(tail).decode()
            link["hash"] = sha256.resume(link["midstate"], link["prefix_length"], tail)
        previous_hash = link["hash"]


def read_audit(root: Path) -> tuple[dict, list[dict]]:
    proof = json.loads((root / "data/audit/chain-proof.json").read_bytes())
    entries = [json.loads(line) for line in (root / "data/audit/entries.jsonl").read_text().splitlines() if line]
    return proof, entries


def write_audit(root: Path, proof: dict, entries: list[dict]) -> None:
    (root / "data/audit/chain-proof.json").write_text(json.dumps(proof, ensure_ascii=False, indent=1))
    (root / "data/audit/entries.jsonl").write_text(
        "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in entries))
