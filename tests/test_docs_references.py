"""Every repository path the documentation cites exists (README.md, docs/*.md, bench/README.md).

A path is a word starting with one of the project's top-level directories and a slash
(``ecabinet/settings/limits.py``, ``tests/voting/``, ``deploy/systemd/ecabinet-daphne@.service``);
a glob or a placeholder (``tests/room/*``, ``PKI_DIR/<username>.p12``) needs only the part before it.
A fenced block without a language (a directory tree, whose names are relative to their parent) is not
read. Files moved or renamed without their citations fail here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = ("ecabinet", "meetings", "voting", "followup", "records", "demo", "tests", "bench", "deploy", "docs", "static",
       "templates", "locale", "mk")
PATH = re.compile(r"(?<![\w/.@~$-])((?:" + "|".join(TOP) + r")/[\w./*{}<>@-]*)")
DOCS = sorted([ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")])


def cited_paths(text: str) -> list[str]:
    text = re.sub(r"(?ms)^```\s*$.*?^```\s*$", "", text)  # trees: names relative to their parent
    paths = []
    for match in PATH.finditer(text):
        path = re.split(r"[*{}<>]", match.group(1))[0].rstrip("./")
        if "/" in path or path in TOP:
            paths.append(path)
    return paths


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_document_cites_exists(doc):
    missing = sorted({p for p in cited_paths(doc.read_text(encoding="utf-8")) if not (ROOT / p).exists()})
    assert not missing, f"{doc.relative_to(ROOT)} cites paths that do not exist: {missing}"


def test_the_check_sees_a_missing_path():
    """The check itself: a cited path that does not exist is reported, one that exists is not."""
    assert not (ROOT / "static/js/room-state.js").exists() and (ROOT / "static/room/state.js").exists()
    assert cited_paths("see `static/js/room-state.js`, and tests/room/* (glob)") == ["static/js/room-state.js",
                                                                                     "tests/room"]
    assert cited_paths("deploy/systemd/ecabinet-daphne@.service; PKI_DIR/<username>.p12") == [
        "deploy/systemd/ecabinet-daphne@.service"]
    assert cited_paths("```\nmeetings/\n  demo/   the demo\n```\n```sh\npython bench/nothing.py\n```") == [
        "bench/nothing.py"]
