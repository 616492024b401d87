""""What changed" between two versions of a document: a line-by-line comparison of their text.

The text was extracted at upload time (``DocumentVersion.text``), so comparing costs no PDF parsing.
Lines are normalised for white space only; the comparison itself is ``difflib.SequenceMatcher``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ecabinet.errors import NotFound, ValidationFailed

from .models import Document, DocumentVersion

__all__ = ["Comparison", "compare_texts", "compare_versions"]

_PAGE_NUMBER = re.compile(r"(?:Trang\s+|Page\s+)?\d{1,4}(?:\s*/\s*\d{1,4})?", re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    op: str  # "same", "added", "removed"
    text: str


@dataclass
class Comparison:
    old: DocumentVersion | None
    new: DocumentVersion | None
    lines: list[Line] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.op == "added")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.op == "removed")

    def as_dict(self) -> dict:
        return {
            "from": self.old.number if self.old else None,
            "to": self.new.number if self.new else None,
            "added": self.added,
            "removed": self.removed,
            "changes": [{"op": line.op, "text": line.text} for line in self.lines if line.op != "same"],
        }


def _lines(text: str) -> list[str]:
    """Non-empty lines with white space folded; bare page numbers are dropped, or every
    insertion would show as a change of every later page number."""
    lines = (" ".join(line.split()) for line in text.replace("\f", "\n").splitlines())
    return [line for line in lines if line and not _PAGE_NUMBER.fullmatch(line)]


def compare_texts(old: str, new: str) -> list[Line]:
    a, b = _lines(old), _lines(new)
    result: list[Line] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            result.extend(Line("same", text) for text in a[i1:i2])
            continue
        result.extend(Line("removed", text) for text in a[i1:i2])
        result.extend(Line("added", text) for text in b[j1:j2])
    return result


def _number(raw, default: int | None) -> int | None:
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("Version numbers must be whole numbers."), code="invalid_version") from exc


def compare_versions(document: Document, old_number=None, new_number=None) -> Comparison:
    """Compare two versions; by default the previous one with the current one."""
    versions = {v.number: v for v in document.versions.all()}
    newest = max(versions) if versions else None
    new_n = _number(new_number, newest)
    old_n = _number(old_number, (new_n - 1) if new_n else None)
    if new_n not in versions or old_n not in versions:
        if len(versions) < 2 and old_number in (None, "") and new_number in (None, ""):
            return Comparison(old=None, new=versions.get(newest), lines=[])
        raise NotFound(_("There is no such version of this document."))
    old, new = versions[old_n], versions[new_n]
    return Comparison(old=old, new=new, lines=compare_texts(old.text, new.text))
