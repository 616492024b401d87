"""The BagIt layer of an archive check (no ORM): structure, manifests, fixity, Payload-Oxum.

Every disagreement is attributed to the file that changed. Each payload file is listed in two
manifests (sha256 and sha512) and each tag file in two tag manifests, so a single edit is told apart:
both digests wrong → the file changed; one wrong → that manifest was edited; a path only one manifest
lists → that manifest was edited; a file no manifest lists → an unexpected file. Finally bagit.py
(``bagit.Bag.validate``) must agree.

``bag`` is the verifier's view of the bag directory: ``root``, ``files`` and ``links`` (relative
POSIX paths), ``read(path)`` and ``info1(key)``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

import bagit

from . import layout
from .bagdir import ALGORITHMS
from .report import Check

__all__ = ["REQUIRED_TAG_FILES", "check_bag"]

REQUIRED_TAG_FILES = ("bagit.txt", "bag-info.txt", *(f"manifest-{a}.txt" for a in ALGORITHMS),
                      *(f"tagmanifest-{a}.txt" for a in ALGORITHMS))
DIGEST_LENGTH = {"sha256": 64, "sha512": 128}


def _manifest(bag, name: str, alg: str, check: Check) -> dict[str, str] | None:
    data = bag.read(name)
    if data is None:
        return None
    entries: dict[str, str] = {}
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    else:
        check.fail(name, "edited: the last line has no newline")
    pattern = re.compile(rf"([0-9a-f]{{{DIGEST_LENGTH[alg]}}})[ \t]+\*?(.+)")
    for number, raw in enumerate(lines, start=1):
        try:
            match = pattern.fullmatch(raw.decode("utf-8"))
        except UnicodeDecodeError:
            match = None
        if match is None:
            check.fail(name, f"edited: line {number} is not “<{alg}>  <path>”")
            continue
        digest, path = match.groups()
        parts = PurePosixPath(path).parts
        if path.startswith("/") or ".." in parts:
            check.fail(name, f"line {number} names an unsafe path {path!r}")
        elif path in entries:
            check.fail(name, f"lists {path} twice")
        else:
            entries[path] = digest
    return entries

def _compare(bag, on_disk: set[str], manifests: dict[str, dict[str, str] | None], manifest_name: str,
             check: Check) -> None:
    """Attribute every disagreement between files and manifests to the file that changed."""
    available = {alg: entries for alg, entries in manifests.items() if entries is not None}
    if not available:
        return
    listed = set().union(*(entries.keys() for entries in available.values()))
    for path in sorted(listed | on_disk):
        in_algs = [alg for alg in available if path in available[alg]]
        if path not in on_disk:
            if len(in_algs) == len(available):
                check.fail(path, "missing (listed in the manifests)")
            else:
                for alg in in_algs:
                    check.fail(manifest_name.format(alg), f"edited: lists {path}, which is not in the bag")
            continue
        if not in_algs:
            check.fail(path, "unexpected file (in no manifest)")
            continue
        for alg in available:
            if alg not in in_algs:
                check.fail(manifest_name.format(alg), f"edited: does not list {path}")
        hashers = {alg: hashlib.new(alg) for alg in in_algs}
        with open(bag.root / path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                for hasher in hashers.values():
                    hasher.update(chunk)
        wrong = [alg for alg in in_algs if hashers[alg].hexdigest() != available[alg][path]]
        if wrong and len(wrong) == len(in_algs):
            check.fail(path, f"changed ({wrong[0]} mismatch)")
        else:
            for alg in wrong:
                check.fail(manifest_name.format(alg), f"edited: its {alg} of {path} is wrong")


def check_bag(bag) -> Check:
    check = Check("bag", "BagIt structure, manifests and fixity")
    for link in sorted(bag.links):
        check.fail(link, "is a symbolic link")
    manifests = {alg: _manifest(bag, f"manifest-{alg}.txt", alg, check) for alg in ALGORITHMS}
    tagmanifests = {alg: _manifest(bag, f"tagmanifest-{alg}.txt", alg, check) for alg in ALGORITHMS}
    payload = {p for p in bag.files if p.startswith("data/")}
    tags = {p for p in bag.files if not p.startswith("data/") and not re.fullmatch(r"tagmanifest-\w+\.txt", p)}
    extra_tagmanifests = {p for p in bag.files if re.fullmatch(r"tagmanifest-\w+\.txt", p)} - set(
        REQUIRED_TAG_FILES)
    for name in sorted(extra_tagmanifests):
        check.fail(name, "unexpected file (in no manifest)")
    _compare(bag, payload, manifests, "manifest-{}.txt", check)
    _compare(bag, tags, tagmanifests, "tagmanifest-{}.txt", check)
    named = {problem.path for problem in check.problems}
    for name in REQUIRED_TAG_FILES:
        if name not in bag.files and name not in named:
            check.fail(name, "missing")
    if "data" not in {p.split("/")[0] for p in bag.files}:
        check.fail("data/", "missing: the bag has no payload")
    oxum = bag.info1("Payload-Oxum")
    actual = f"{sum((bag.root / p).stat().st_size for p in payload)}.{len(payload)}"
    if oxum != actual and check.ok:
        check.fail("bag-info.txt", f"Payload-Oxum is {oxum}, the payload is {actual}")
    if check.ok:
        try:
            with layout.quiet_bagit():
                bagit.Bag(str(bag.root)).validate()
        except bagit.BagError as exc:
            check.fail("bagit.txt", f"bagit.py rejects the bag: {exc}")
        else:
            check.notes.append(f"{len(payload)} payload files, {actual.split('.')[0]} bytes; sha256 and sha512 "
                               "manifests hold; bagit.py validates the bag")
    return check
