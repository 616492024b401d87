"""docs/architecture.md is drawn from the code and must stay true: its table of arrows between packages
is exactly the import graph's, and a module over 400 lines says at its top why. (Which arrows are
allowed at all is import-linter's job: the contracts in pyproject.toml, run by `make test`.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ecabinet", "hotpath", "meetings", "voting", "followup", "records", "demo")
ARROW = re.compile(r"^\| `(\w+)` \| `(\w+)` \|", re.MULTILINE)
MAX_LINES = 400


def drawn_arrows() -> set[tuple[str, str]]:
    return set(ARROW.findall((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")))


def code_arrows() -> set[tuple[str, str]]:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    return {(a, b) for a in PACKAGES for b in PACKAGES
            if a != b and graph.direct_import_exists(importer=a, imported=b, as_packages=True)}


def test_the_architecture_page_draws_every_arrow_between_packages_and_no_other():
    drawn, code = drawn_arrows(), code_arrows()
    assert drawn, "docs/architecture.md has no table of arrows"
    assert code - drawn == set(), "in the code but not in docs/architecture.md"
    assert drawn - code == set(), "in docs/architecture.md but not in the code"


def _long_modules():
    for folder in (*PACKAGES, "tests", "bench", "deploy"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if text.count("\n") > MAX_LINES:
                yield path, text


def test_a_module_over_400_lines_says_at_its_top_why():
    unexplained = [str(path.relative_to(ROOT)) for path, text in _long_modules()
                   if "400 lines" not in (ast.get_docstring(ast.parse(text)) or "")]
    assert unexplained == []
