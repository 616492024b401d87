"""Verifying an archive bag offline: no database, no network (issue 5, item 7).

``verify_bag(path)`` takes a bag directory or its zip and runs every check below; each reports OK or
FAIL, and every problem names the file it is about (``Problem.path``, relative to the bag):

``bag``          the bag itself: the required tag files exist; every payload file is in both manifests
                 (sha256 and sha512) with matching digests, nothing is missing and nothing extra is in
                 ``data/``; the tag files match both tag manifests; Payload-Oxum holds; and bagit.py
                 (``bagit.Bag.validate``) agrees. When one manifest disagrees with the file and the
                 other agrees, the manifest is the file named as edited.
``signatures``   every PDF under ``data/minutes``, ``data/resolution`` and ``data/corrections`` verifies
                 (``records.minutes.verify.verify_sealed_pdf``) against the trust roots: every signature
                 intact, valid and trusted, the last one covering the whole file, every signer the
                 embedded record names has signed, and the embedded record is the one the signed text
                 refers to.
``record``       ``data/record/record.json`` and ``record.akn.xml`` are byte for byte the files embedded in
                 the signed minutes — or, with no sealed minutes, the report says so.
``akoma-ntoso``  ``record.akn.xml`` validates against the official Akoma Ntoso 3.0 schema.
``documents``    every document version the record lists is in ``data/documents`` with that sha256, and
                 nothing else is.
``votes``        the CSV files say what the record's frozen results say.
``annotations``  ``data/annotations/shared.jsonl`` holds shared annotations only, each on a document version
                 the record lists, each id once (a bag exported before issue 17 has no such file).
``ballots``      the written ballots linked to the session (``ballot_check``): drafts and summary PDFs
                 with their sha256, answers and counts holding together, open ones and drafts
                 without content, nothing else in ``data/ballots``.
``tasks``        the session's follow-up tasks (``task_check``): each of this session, its history
                 ending in its state, every report attachment with its sha256, nothing else in
                 ``data/tasks`` (a bag exported before they were archived has no ``tasks.jsonl``).
``audit``        the chain proof recomputes (``records.archive.chain``) and holds every checkpoint that
                 a signed document carries.

A verifier that does not trust this code can repeat each check with other tools: docs/archive.md.

Over 400 lines on purpose: the table of checks above and the one runner that holds them in order
(each check's detail lives in its own module where it grew: ``ballot_check``, ``task_check``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import pikepdf

from ..minutes.verify import verify_sealed_pdf
from ..record_akn import validate_akoma_ntoso
from . import chain, layout
from .bagcheck import check_bag
from .ballot_check import check_ballots
from .report import Check, Problem, Report
from .task_check import check_tasks

__all__ = ["Check", "Problem", "Report", "verify_bag"]


def _default_trust_roots() -> list:
    from django.conf import settings

    from ecabinet import pki

    return pki.load_pem_certs([p for p in settings.SIGNING_TRUST_ROOTS if Path(p).exists()])


def verify_bag(path, *, trust_roots: list | None = None) -> Report:
    """Verify the bag at ``path`` (a directory or a ``.zip``). ``trust_roots`` (``cryptography``
    certificates) default to the configured ``SIGNING_TRUST_ROOTS``."""
    path = Path(path)
    roots = _default_trust_roots() if trust_roots is None else list(trust_roots)
    if path.is_dir():
        return _Verifier(path, roots).run(str(path))
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="ecabinet-verify-") as scratch:
            unpack = Check("zip", "The zip file")
            root = _unzip(path, Path(scratch), unpack)
            report = _Verifier(root, roots).run(str(path))
            if not unpack.ok:
                report.checks.insert(0, unpack)
            return report
    check = Check("bag", "The bag")
    check.fail(str(path), "not a bag directory or a zip file" if path.exists() else "not found")
    return Report(str(path), [check])


def _unzip(path: Path, target: Path, check: Check) -> Path:
    """Extract safely; the bag root is the zip's single top-level folder, or the zip's root."""
    with zipfile.ZipFile(path) as archive:
        tops = set()
        for member in archive.infolist():
            name = PurePosixPath(member.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in member.filename:
                check.fail(member.filename, "unsafe path in the zip: not extracted")
                continue
            tops.add(name.parts[0] if len(name.parts) > 1 or member.is_dir() else "")
            archive.extract(member, target)
    if len(tops) == 1 and "" not in tops:
        return target / tops.pop()
    return target


class _Verifier:
    def __init__(self, root: Path, trust_roots: list) -> None:
        self.root = root
        self.trust_roots = trust_roots
        self.files, self.links = self._listing()
        self.info = self._bag_info()
        self._embedded: dict[str, dict[str, bytes] | None] = {}

    # -- reading ------------------------------------------------------------------------------------

    def _listing(self) -> tuple[set[str], set[str]]:
        files, links = set(), set()
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                full = Path(dirpath) / name
                relative = full.relative_to(self.root).as_posix()
                if full.is_symlink():
                    links.add(relative)
                elif name in filenames:
                    files.add(relative)
        return files, links

    def read(self, relative: str) -> bytes | None:
        if relative not in self.files:
            return None
        return (self.root / relative).read_bytes()

    def _bag_info(self) -> dict[str, list[str]]:
        info: dict[str, list[str]] = {}
        text = (self.read("bag-info.txt") or b"").decode("utf-8", errors="replace")
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line[:1].isspace():
                info.setdefault(key.strip(), []).append(value.strip())
        return info

    def info1(self, key: str) -> str | None:
        values = self.info.get(key)
        return values[0] if values else None

    def sealed_pdfs(self) -> list[str]:
        folders = tuple(f"data/{folder}/" for folder in layout.SEALED_DIRS.values())
        return sorted(p for p in self.files if p.startswith(folders) and p.endswith(".pdf"))

    def embedded(self, relative: str) -> dict[str, bytes] | None:
        if relative not in self._embedded:
            data = self.read(relative)
            try:
                self._embedded[relative] = None if data is None else layout.embedded_files(data)
            except (pikepdf.PdfError, ValueError):
                self._embedded[relative] = None
        return self._embedded[relative]

    def record(self) -> dict | None:
        data = self.read("data/" + layout.RECORD_JSON)
        try:
            return json.loads(data) if data is not None else None
        except ValueError:
            return None

    # -- the checks ---------------------------------------------------------------------------------

    def run(self, label: str) -> Report:
        plan = ((lambda: check_bag(self), "bag", "bagit.txt"),
                (self.check_signatures, "signatures", "data/minutes/"),
                (self.check_record, "record", "data/" + layout.RECORD_JSON),
                (self.check_akoma_ntoso, "akoma-ntoso", "data/" + layout.RECORD_AKN),
                (self.check_documents, "documents", "data/" + layout.RECORD_JSON),
                (self.check_votes, "votes", "data/" + layout.VOTES_DIR + "/"),
                (self.check_annotations, "annotations", "data/" + layout.ANNOTATIONS),
                (lambda: check_ballots(self), "ballots", "data/" + layout.BALLOTS_INDEX),
                (lambda: check_tasks(self), "tasks", "data/" + layout.TASKS_INDEX),
                (self.check_audit, "audit", "data/" + layout.AUDIT_PROOF))
        checks = []
        for method, name, subject in plan:
            try:
                checks.append(method())
            except Exception as exc:  # a damaged bag must give a report, never a traceback
                check = Check(name, "(could not run)")
                check.fail(subject, f"cannot be checked: {type(exc).__name__}: {exc}")
                checks.append(check)
        return Report(label, checks)

    def check_signatures(self) -> Check:
        check = Check("signatures", "Signatures of the sealed documents")
        pdfs = self.sealed_pdfs()
        if self.info1("Minutes-Status") == "sealed" and "data/minutes/minutes.pdf" not in pdfs:
            check.fail("data/minutes/minutes.pdf", "missing (bag-info.txt says the minutes are sealed)")
        if not pdfs:
            check.notes.append("no sealed minutes" if self.info1("Minutes-Status") != "sealed"
                               else "no sealed documents")
            return check
        if not self.trust_roots:
            check.fail("(trust roots)", "no trust roots: configure SIGNING_TRUST_ROOTS or pass --trust-root")
            return check
        for path in pdfs:
            result = verify_sealed_pdf(self.read(path), trust_roots=self.trust_roots)
            if result.ok:
                signers = ", ".join(s.signer for s in result.signatures.signatures)
                check.notes.append(f"{path}: {len(result.signatures.signatures)} valid signature(s) by {signers}")
                continue
            check.fail(path, "signature check failed: " + "; ".join(result.problems or ["not verified"]))
        return check

    def check_record(self) -> Check:
        check = Check("record", "The records are the ones embedded in the signed minutes")
        minutes = "data/minutes/minutes.pdf"
        pairs = ((layout.EMBEDDED_JSON, "data/" + layout.RECORD_JSON),
                 (layout.EMBEDDED_AKN, "data/" + layout.RECORD_AKN))
        for _, path in pairs:
            if path not in self.files:
                check.fail(path, "missing")
        if path_json := self.read("data/" + layout.RECORD_JSON):
            try:
                json.loads(path_json)
            except ValueError:
                check.fail("data/" + layout.RECORD_JSON, "not valid JSON")
        if minutes not in self.files:
            check.notes.append("no sealed minutes: data/record/ was generated at export from the database and is "
                               "not signed")
            if self.info1("Minutes-Status") == "sealed":
                check.fail(minutes, "missing (bag-info.txt says the minutes are sealed)")
            return check
        files = self.embedded(minutes)
        if files is None:
            check.fail(minutes, "its embedded files cannot be read")
            return check
        for name, path in pairs:
            data = self.read(path)
            if name not in files:
                check.fail(minutes, f"has no embedded {name}")
            elif data is not None and data != files[name]:
                check.fail(path, f"differs from the {name} embedded in the signed minutes")
        if check.ok:
            check.notes.append("record.json and record.akn.xml are the files embedded in the signed minutes")
        return check

    def check_akoma_ntoso(self) -> Check:
        check = Check("akoma-ntoso", "record.akn.xml against the Akoma Ntoso 3.0 schema")
        path = "data/" + layout.RECORD_AKN
        data = self.read(path)
        if data is None:
            check.fail(path, "missing")
            return check
        errors = validate_akoma_ntoso(data)
        if errors:
            check.fail(path, "not valid Akoma Ntoso 3.0: " + "; ".join(errors[:3]))
        return check

    def check_documents(self) -> Check:
        check = Check("documents", "Document versions against the record")
        record = self.record()
        if record is None:
            check.fail("data/" + layout.RECORD_JSON, "missing or unreadable: documents cannot be checked")
            return check
        session = record.get("session", record)
        expected: dict[str, str] = {}
        for item in session.get("agenda", []):
            for document in item.get("documents", []):
                for version in document.get("versions", []):
                    path = "data/" + layout.document_path(item["position"], document["id"], version["number"],
                                                          version["sha256"])
                    expected[path] = version["sha256"]
        for path, sha256 in sorted(expected.items()):
            data = self.read(path)
            if data is None:
                check.fail(path, "missing (listed in the record)")
            elif hashlib.sha256(data).hexdigest() != sha256:
                check.fail(path, "changed (sha256 differs from the record)")
        present = {p for p in self.files if p.startswith("data/documents/") and p != "data/" + layout.DOCUMENTS_INDEX}
        for path in sorted(present - set(expected)):
            check.fail(path, "not a document version of the record")
        if check.ok:
            check.notes.append(f"{len(expected)} document versions match the record")
        return check

    def _csv(self, name: str, check: Check) -> list[dict] | None:
        path = f"data/{layout.VOTES_DIR}/{name}"
        data = self.read(path)
        if data is None:
            check.fail(path, "missing")
            return None
        try:
            return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        except (UnicodeDecodeError, csv.Error):
            check.fail(path, "not a readable CSV file")
            return None

    def check_votes(self) -> Check:
        check = Check("votes", "Vote tables against the record")
        motions_csv, votes_csv, receipts_csv = (self._csv(n, check) for n in ("motions.csv", "votes.csv",
                                                                               "receipts.csv"))
        record = self.record()
        if record is None or None in (motions_csv, votes_csv, receipts_csv):
            return check
        motions = [m for item in record.get("session", record).get("agenda", []) for m in item.get("motions", [])]
        rows = {row.get("motion_id"): row for row in motions_csv}
        where = f"data/{layout.VOTES_DIR}/"
        for motion in motions:
            row = rows.pop(str(motion["id"]), None)
            result = motion.get("result") or {}
            if row is None:
                check.fail(where + "motions.csv", f"has no row for motion {motion['id']}")
                continue
            for key in ("yes", "no", "abstain", "eligible", "present"):
                if key in result and row.get(key) != str(result[key]):
                    check.fail(where + "motions.csv", f"motion {motion['id']}: {key} is {row.get(key)!r}, "
                                                      f"the record says {result[key]}")
            if result and row.get("adopted") != ("true" if result.get("adopted") else "false"):
                check.fail(where + "motions.csv", f"motion {motion['id']}: adopted differs from the record")
        for motion_id in rows:
            check.fail(where + "motions.csv", f"motion {motion_id} is not in the record")
        roll = {(str(m.get("id")), r.get("username"), r.get("choice"), r.get("on_behalf_of") or "")
                for m in motions for r in (m.get("roll_call") or [])}
        listed = {(r.get("motion_id"), r.get("voter"), r.get("choice"), r.get("on_behalf_of") or "") for r in votes_csv}
        if roll != listed:
            check.fail(where + "votes.csv", f"differs from the roll calls of the record ({len(listed - roll)} rows "
                                            f"not in the record, {len(roll - listed)} missing)")
        receipts = {(str(m.get("id")), r.get("receipt_hash"), r.get("choice")) for m in motions
                    for r in ((m.get("result") or {}).get("receipts") or [])}
        stated = {(r.get("motion_id"), r.get("receipt_hash"), r.get("choice")) for r in receipts_csv}
        if receipts != stated:
            check.fail(where + "receipts.csv", "differs from the secret-vote receipts of the record")
        if check.ok:
            check.notes.append(f"{len(motions)} motions, {len(roll)} named votes, {len(receipts)} secret receipts "
                               "match the record")
        return check

    def check_annotations(self) -> Check:
        check = Check("annotations", "Shared annotations against the record")
        path = "data/" + layout.ANNOTATIONS
        data = self.read(path)
        if data is None:
            check.notes.append("no annotations file (a bag exported before annotations existed)")
            return check
        record = self.record()
        if record is None:
            check.fail("data/" + layout.RECORD_JSON, "missing or unreadable: annotations cannot be checked")
            return check
        versions = {(document["id"], version["number"])
                    for item in record.get("session", record).get("agenda", [])
                    for document in item.get("documents", []) for version in document.get("versions", [])}
        seen: set = set()
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            try:
                row = json.loads(line)
                key, visibility, ident = (row["document"], row["version"]), row["visibility"], row["id"]
            except (ValueError, KeyError, TypeError):
                check.fail(path, f"line {number} is not an annotation")
                continue
            if visibility != "shared":
                check.fail(path, f"line {number}: annotation {ident} is {visibility!r}, not shared")
            if key not in versions:
                check.fail(path, f"line {number}: annotation {ident} is on document {key[0]} v{key[1]}, "
                                 "which the record does not list")
            if ident in seen:
                check.fail(path, f"line {number}: annotation {ident} is listed twice")
            seen.add(ident)
        if check.ok:
            check.notes.append(f"{len(seen)} shared annotations, each on a document version of the record")
        return check

    def check_audit(self) -> Check:
        check = Check("audit", "Audit entries, chain proof and signed checkpoints")
        entries_path, proof_path = "data/" + layout.AUDIT_ENTRIES, "data/" + layout.AUDIT_PROOF
        entries, proof = self.read(entries_path), self.read(proof_path)
        for path, data in ((entries_path, entries), (proof_path, proof)):
            if data is None:
                check.fail(path, "missing")
        if entries is None or proof is None:
            return check
        checkpoints = []
        for path in self.sealed_pdfs():
            files = self.embedded(path) or {}
            try:
                point = json.loads(files.get(layout.EMBEDDED_JSON, b"{}")).get("audit_checkpoint")
            except ValueError:
                point = None
            if point:
                checkpoints.append({"document": path, "seq": point["seq"], "hash": point["hash"]})
            else:
                check.fail(path, "carries no audit checkpoint in its embedded record")
        result = chain.check_chain_proof(entries, proof, checkpoints)
        files = {chain.ENTRIES: entries_path, chain.PROOF: proof_path}
        for name, message in result.problems:
            check.fail(files[name], message)
        if "bag-info.txt" in self.files:  # a missing one is the bag check's finding
            self._against_bag_info(check, checkpoints, proof, proof_path)
        check.notes.extend(result.notes)
        return check

    def _against_bag_info(self, check: Check, checkpoints: list[dict], proof: bytes, proof_path: str) -> None:
        minutes_point = next((c for c in checkpoints if c["document"] == "data/minutes/minutes.pdf"), None)
        stated = self.info1("Audit-Checkpoint")
        if minutes_point and stated != f"{minutes_point['seq']} {minutes_point['hash']}":
            check.fail("bag-info.txt", f"Audit-Checkpoint {stated!r} is not the checkpoint of the signed minutes")
        try:
            meeting_id = json.loads(proof).get("meeting_id")
        except (ValueError, AttributeError):
            meeting_id = None
        if meeting_id is not None and str(meeting_id) != self.info1("Meeting-Id"):
            check.fail(proof_path, f"is for session {meeting_id}, bag-info.txt says {self.info1('Meeting-Id')}")
