"""Finding a state-secret stamp (dấu độ mật) in the text of a PDF's pages.

The Law on Protection of State Secrets (No. 29/2018/QH14, Article 8) has three degrees, stamped on
every page of a classified document: MẬT, TỐI MẬT, TUYỆT MẬT — often as "Độ mật: TUYỆT MẬT".
A document carrying one must not be stored on a networked system, so an upload that carries one
is refused (``services.documents``).

What counts as a stamp: a line of a page's text that *is* the marking, after

* Unicode normalisation (NFKC, so NFD-decomposed "MẬT" and full-width letters compare equal),
  case folding (a typed "Tuyệt mật" is as much a stamp as the rubber-stamped "TUYỆT MẬT"),
  removal of invisible format characters (zero-width spaces, soft hyphens);
* whitespace collapsed and letter-spacing joined: the line is compared with every space removed,
  so "TỐI  MẬT" and "T U Y Ệ T   M Ậ T" are the stamps they look like;
* trimming of the decoration around a stamp (brackets, quotes, asterisks, dashes, a full stop);
* an optional "Độ mật:" prefix.

What does not count: the word inside a sentence ("bảo mật", "mật khẩu", "bí mật kinh doanh",
"Tài liệu MẬT phải được bảo quản") — the line is more than the marking. A stamp also begins with a
capital letter: a sentence wrapped so that its last words ("tuyệt mật.", "mật.") stand alone on the
next line is in lower case. The single word needs more: "MẬT" in capitals (as it is stamped), or
any case after "Độ mật:" — a list item "Mật" (honey, bile) is not a marking.

Known false positive: a line that is only a degree's name in title case or capitals, such as the
rows of a table counting documents by degree ("Tuyệt mật", "Tối mật", "MẬT"), is taken for a stamp.
The text cannot tell a table cell from a stamp; refusing is the safe side of the law.

Annotations count as page text: a stamp is often added in a PDF editor as a stamp or free-text
annotation, whose ``/Contents`` (the worker reads it) carries the words. The drawing of such an
annotation (its appearance stream) is not read.

Every page is read (the stamp is on each page of a classified paper, but a careless upload may
carry it only on the page that was classified). Pure functions: strings in, result out; no Django.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["MARKS", "find_secret_mark", "normalise_line"]

# Canonical spelling of each degree, as it is printed.
MARKS = {"mật": "MẬT", "tốimật": "TỐI MẬT", "tuyệtmật": "TUYỆT MẬT"}

_STAMP = re.compile(r"^(?:độmật:?)?(tuyệtmật|tốimật|mật)$")
_DECORATION = " \t*-–—_.·•:;,\"'“”‘’«»()[]{}<>|/\\"
_SPACE = re.compile(r"\s+")


def _nfkc_casefold(text: str) -> str:
    # Case folding can leave text that is no longer in normal form (Unicode's NFKC_Casefold does
    # both); normalise again so precomposed and decomposed letters always compare equal.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def normalise_line(line: str) -> str:
    """The comparison key of one line: normalised, folded, invisible characters and all spaces
    removed, decoration trimmed."""
    folded = "".join(ch for ch in _nfkc_casefold(line) if unicodedata.category(ch) != "Cf")
    return _SPACE.sub("", folded).strip(_DECORATION)


def _letters(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalpha())


_PREFIX = re.compile(r"^\W*độ\W*mật\W*:", re.IGNORECASE)


def _looks_stamped(line: str, key: str) -> bool:
    """The case rule above: the marking (after any "Độ mật:") begins with a capital letter, and the
    single word "mật" is in capitals unless it follows "Độ mật:"."""
    prefixed = _PREFIX.match(unicodedata.normalize("NFKC", line)) is not None
    marking = _letters(line.split(":")[-1]) if prefixed else _letters(line)
    if not marking or not marking[0].isupper():
        return False
    return key != "mật" or prefixed or marking.isupper()


def find_secret_mark(pages: Iterable[str], *, max_line_chars: int = 80) -> tuple[str, int] | None:
    """The first stamp found as ``(canonical mark, page number from 1)``, or None.

    Lines longer than ``max_line_chars`` are skipped unread: a stamp is short, and this keeps the
    work per page linear in its text whatever the page holds.
    """
    for number, text in enumerate(pages, start=1):
        for line in text.splitlines():
            if len(line) > max_line_chars:
                continue
            match = _STAMP.match(normalise_line(line))
            if match is None:
                continue
            key = match.group(1)
            if _looks_stamped(line, key):
                return MARKS[key], number
    return None
