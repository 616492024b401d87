""""What changed" between two versions of a document: a line-by-line comparison of their text.

The text was extracted at upload time (``DocumentVersion.text``), so comparing costs no PDF parsing.
Lines are normalised for white space only. The comparison has a bounded cost whatever the texts
(docs/limits.md, "Comparing versions"):

* at most ``COMPARE_MAX_LINES`` lines of each version are read; the rest is not compared;
* lines are interned to integers, the common head and tail are matched in linear time, and what is
  left is cut at lines found exactly once in both versions (patience anchors, in order);
* only the regions between anchors go to ``difflib.SequenceMatcher``, whose work (the positions its
  inner loop visits) is counted against ``COMPARE_MAX_WORK`` for the whole comparison; a region
  that would overrun it is shown whole, as removed then added, and the comparison says it is not exact;
* at most ``COMPARE_MAX_CHANGES`` changed lines are listed (the first ones); the counts are complete.

The texts of a version never change, so the result (as opcodes) is cached per pair of versions.
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from ecabinet.errors import NotFound, ValidationFailed

from .models import Document, DocumentVersion

__all__ = ["Comparison", "TextDiff", "compare_texts", "compare_versions"]

_PAGE_NUMBER = re.compile(r"(?:Trang\s+|Page\s+)?\d{1,4}(?:\s*/\s*\d{1,4})?", re.IGNORECASE)
# The line breaks of str.splitlines other than "\n" (form feeds end pages): all become "\n".
_OTHER_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_ALGORITHM = "2"
# Work charged for each region compared, whatever its size: setting up a matcher costs some 100
# positions' worth of time, and many tiny regions must not escape the budget.
_REGION_COST = 100  # part of the cache key: bump when the result for the same texts would change


class Line(NamedTuple):
    op: str  # "same", "added", "removed"
    text: str


@dataclass
class TextDiff:
    """The comparison of two texts: the lines (up to the change limit) and the complete counts."""

    lines: list[Line] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    exact: bool = True  # False: the work limit was reached; some passages are shown whole
    lines_cut: bool = False  # a version has more than COMPARE_MAX_LINES lines: the rest is not compared
    changes_cut: bool = False  # more than COMPARE_MAX_CHANGES changed lines: only the first are listed
    work: int = 0  # work spent (counted positions), for tests and logs
    cached: bool = False

    @property
    def shown(self) -> int:
        return sum(1 for line in self.lines if line.op != "same")

    @property
    def complete(self) -> bool:
        return self.exact and not self.lines_cut and not self.changes_cut

    def notices(self) -> list[str]:
        found = []
        if self.lines_cut:
            found.append(_("The versions are too long to compare in full: only their first %(n)s lines "
                           "were compared.") % {"n": settings.COMPARE_MAX_LINES})
        if not self.exact:
            found.append(_("The versions differ too much to compare line by line everywhere: some "
                           "passages are shown whole, as removed and then added."))
        if self.changes_cut:
            found.append(_("Too many differences to show in full: the first %(n)s changes are shown.")
                         % {"n": self.shown})
        return found


@dataclass
class Comparison:
    old: DocumentVersion | None
    new: DocumentVersion | None
    diff: TextDiff = field(default_factory=TextDiff)

    @property
    def lines(self) -> list[Line]:
        return self.diff.lines

    @property
    def added(self) -> int:
        return self.diff.added

    @property
    def removed(self) -> int:
        return self.diff.removed

    def as_dict(self) -> dict:
        return {
            "from": self.old.number if self.old else None,
            "to": self.new.number if self.new else None,
            "added": self.added,
            "removed": self.removed,
            "changes": [{"op": line.op, "text": line.text} for line in self.lines if line.op != "same"],
            "complete": self.diff.complete,
            "exact": self.diff.exact,
            "shown": self.diff.shown,
            "notices": self.diff.notices(),
        }


def _lines(text: str, limit: int) -> tuple[list[str], bool]:
    """Non-empty lines with white space folded; bare page numbers are dropped, or every insertion
    would show as a change of every later page number. At most ``limit`` lines are read (blank ones
    count): the second value says whether there was more. Splitting is done in C and stops there."""
    raw = _OTHER_BREAKS.sub("\n", text).split("\n", limit)
    cut = len(raw) > limit
    if cut:
        raw.pop()  # the rest of the text, unsplit
    lines = [" ".join(line.split()) for line in raw]
    return [line for line in lines if line and not _PAGE_NUMBER.fullmatch(line)], cut


class _OutOfWork(Exception):
    pass


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit
        self.spent = 0

    def spend(self, amount: int) -> None:
        self.spent += amount
        self.left -= amount
        if self.left < 0:
            raise _OutOfWork


class _CountedMatcher(difflib.SequenceMatcher):
    """SequenceMatcher (autojunk off, as before) that charges every ``find_longest_match`` with an
    upper bound of the positions its inner loop visits: for each line of ``a`` in the range, the
    number of times that line occurs in ``b``. A prefix sum makes each charge O(1)."""

    def __init__(self, a: list[int], b: list[int], budget: _Budget) -> None:
        super().__init__(None, a, b, autojunk=False)
        self.budget = budget
        cost = [0]
        for value in a:
            cost.append(cost[-1] + len(self.b2j.get(value, ())))
        self.cost = cost

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        ahi = len(self.a) if ahi is None else ahi
        self.budget.spend(self.cost[ahi] - self.cost[alo] + (ahi - alo))
        return super().find_longest_match(alo, ahi, blo, len(self.b) if bhi is None else bhi)


def _anchors(a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int,
             count_b: Counter) -> list[tuple[int, int]]:
    """Lines found exactly once in both ranges, the longest run of them in the same order (patience)."""
    count_a = Counter(a[alo:ahi])
    where_b = {value: j for j, value in enumerate(b[blo:bhi], blo) if count_b[value] == 1}
    pairs = [(i, where_b[v]) for i, v in enumerate(a[alo:ahi], alo) if count_a[v] == 1 and v in where_b]
    if not pairs:
        return []
    tails: list[int] = []  # tails[k]: the smallest b position ending an increasing run of length k+1
    tail_at: list[int] = []  # index in pairs of that tail
    back: list[int] = [-1] * len(pairs)
    for n, (_i, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        back[n] = tail_at[k - 1] if k else -1
        if k == len(tails):
            tails.append(j)
            tail_at.append(n)
        else:
            tails[k] = j
            tail_at[k] = n
    chain = []
    n = tail_at[-1]
    while n != -1:
        chain.append(pairs[n])
        n = back[n]
    return chain[::-1]


def _opcodes(a: list[int], b: list[int], budget: _Budget) -> tuple[list[tuple[str, int, int, int, int]], bool]:
    """Opcodes (as SequenceMatcher's, "equal"/"replace"/"delete"/"insert") in order, and whether
    the work limit left any region compared coarsely."""
    ops: list[tuple[str, int, int, int, int]] = []
    exact = True

    def emit(tag: str, i1: int, i2: int, j1: int, j2: int) -> None:
        if i1 == i2 and j1 == j2:
            return
        if tag != "equal":
            tag = "replace" if i1 < i2 and j1 < j2 else ("delete" if i1 < i2 else "insert")
        if ops and ops[-1][0] == tag == "equal" and ops[-1][2] == i1 and ops[-1][4] == j1:
            ops[-1] = ("equal", ops[-1][1], i2, ops[-1][3], j2)
        else:
            ops.append((tag, i1, i2, j1, j2))

    # A stack of pending work, in reverse order: ("region", ...) to compare, ("equal", ...) to emit.
    stack: list[tuple[str, int, int, int, int]] = [("region", 0, len(a), 0, len(b))]
    while stack:
        kind, alo, ahi, blo, bhi = stack.pop()
        if kind == "equal":
            emit("equal", alo, ahi, blo, bhi)
            continue
        head = 0  # the common head and tail: linear, no budget needed beyond the lines read
        while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
            head += 1
        emit("equal", alo, alo + head, blo, blo + head)
        alo, blo = alo + head, blo + head
        tail = 0
        while alo < ahi - tail and blo < bhi - tail and a[ahi - tail - 1] == b[bhi - tail - 1]:
            tail += 1
        if tail:
            stack.append(("equal", ahi - tail, ahi, bhi - tail, bhi))
        ahi, bhi = ahi - tail, bhi - tail
        if alo == ahi or blo == bhi or not exact:
            emit("change", alo, ahi, blo, bhi)
            continue
        try:
            budget.spend(_REGION_COST + ahi - alo + bhi - blo)
            count_b = Counter(b[blo:bhi])
            # What SequenceMatcher's first search alone visits: every occurrence in b of each line of a.
            first = sum(map(count_b.get, a[alo:ahi], repeat(0)))
            if first * 2 <= budget.left:
                matcher = _CountedMatcher(a[alo:ahi], b[blo:bhi], budget)
                for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                    emit(tag, alo + i1, alo + i2, blo + j1, blo + j2)
                continue
            budget.spend(2 * (ahi - alo + bhi - blo))  # the anchors: a count and a pass over each side
            anchors = _anchors(a, b, alo, ahi, blo, bhi, count_b)
        except _OutOfWork:
            anchors = []
        if not anchors:
            exact = False  # from here on, what is left is shown whole
            emit("change", alo, ahi, blo, bhi)
            continue
        pending = []
        i, j = alo, blo
        for ai, bj in anchors:
            pending.append(("region", i, ai, j, bj))
            pending.append(("equal", ai, ai + 1, bj, bj + 1))
            i, j = ai + 1, bj + 1
        pending.append(("region", i, ahi, j, bhi))
        stack.extend(reversed(pending))
    return ops, exact


def compare_texts(old: str, new: str) -> TextDiff:
    """Compare two texts (not cached: ``compare_versions`` caches per pair of versions)."""
    limit = settings.COMPARE_MAX_LINES
    a_text, a_cut = _lines(old, limit)
    b_text, b_cut = _lines(new, limit)
    ops, exact, work = _diff_lines(a_text, b_text)
    return _build(a_text, b_text, ops, exact=exact, lines_cut=a_cut or b_cut, work=work)


def _diff_lines(a_text: list[str], b_text: list[str]) -> tuple[list, bool, int]:
    ids: dict[str, int] = {}
    a = [ids.setdefault(line, len(ids)) for line in a_text]
    b = [ids.setdefault(line, len(ids)) for line in b_text]
    budget = _Budget(settings.COMPARE_MAX_WORK)
    ops, exact = _opcodes(a, b, budget)
    return ops, exact, budget.spent


def _build(a_text, b_text, ops, *, exact: bool, lines_cut: bool, work: int) -> TextDiff:
    diff = TextDiff(exact=exact, lines_cut=lines_cut, work=work)
    room = settings.COMPARE_MAX_CHANGES
    lines = diff.lines
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            if not diff.changes_cut:
                lines.extend(Line("same", text) for text in a_text[i1:i2])
            continue
        diff.removed += i2 - i1
        diff.added += j2 - j1
        if diff.changes_cut:
            continue
        if (i2 - i1) + (j2 - j1) > room:  # the first changes fill the room; the counts go on
            diff.changes_cut = True
            i2 = min(i2, i1 + room)
            j2 = min(j2, j1 + room - (i2 - i1))
        changed = [Line("removed", text) for text in a_text[i1:i2]] + [Line("added", text) for text in b_text[j1:j2]]
        lines.extend(changed)
        room -= len(changed)
    return diff


def _cache_key(old: DocumentVersion, new: DocumentVersion) -> str:
    # The stored text of a version never changes; the file's SHA-256 and the text's length name it.
    parts = [_ALGORITHM, settings.COMPARE_MAX_LINES, settings.COMPARE_MAX_WORK,
             old.sha256, len(old.text), new.sha256, len(new.text)]
    return "compare:" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


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
            return Comparison(old=None, new=versions.get(newest))
        raise NotFound(_("There is no such version of this document."))
    old, new = versions[old_n], versions[new_n]
    limit = settings.COMPARE_MAX_LINES
    a_text, a_cut = _lines(old.text, limit)
    b_text, b_cut = _lines(new.text, limit)
    key = _cache_key(old, new)
    hit = cache.get(key)
    if hit is not None:
        ops, exact, work = hit[0], hit[1], 0
    else:
        ops, exact, work = _diff_lines(a_text, b_text)
        cache.set(key, (ops, exact), settings.COMPARE_CACHE_SECONDS)
    diff = _build(a_text, b_text, ops, exact=exact, lines_cut=a_cut or b_cut, work=work)
    diff.cached = hit is not None
    return Comparison(old=old, new=new, diff=diff)
