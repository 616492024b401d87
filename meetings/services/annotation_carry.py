"""Carrying annotations forward onto a new version of a document (issue 17; docs/limits.md
§ Annotations): called by ``services.documents`` inside the new version's transaction. One
``annotation.carried`` audit entry per new version, with the counts only.
"""

from __future__ import annotations

import bisect

from django.conf import settings

from ecabinet import audit

from ..models import Annotation, DocumentVersion
from .annotations import normalise_quote
from .guards import current_time

__all__ = ["PAGE_SEPARATOR", "annotations_carry_forward"]

K = Annotation.Kind
# How DocumentVersion.text joins the pages' texts (meetings/pdf_worker.py).
PAGE_SEPARATOR = "\n\f\n"


# --- carrying forward onto a new version --------------------------------------------------------------

class _PageText:
    """A version's text split into pages, whitespace collapsed, and a search for a quote in it that
    prefers a given page; counts the characters it searches against a budget."""

    def __init__(self, text: str, budget: int, per_author: int) -> None:
        self.pages = [normalise_quote(page) for page in text.split(PAGE_SEPARATOR)] if text else []
        self.whole = "\n".join(self.pages)  # no quote holds a newline: a match never spans two pages
        self.starts, offset = [], 0
        for page in self.pages:
            self.starts.append(offset)
            offset += len(page) + 1
        self.budget = budget
        self.per_author = per_author
        self.spent: dict[int, int] = {}  # author → characters searched for their quotes
        self.found: dict[str, int | None] = {}

    def page_of(self, quote: str, page: int, author: int) -> int | None:
        """The page (1-based) holding ``quote``: ``page`` itself if it does, else the first that
        does; None if none does, or if the budget (in all, or the author's share) is spent."""
        if 1 <= page <= len(self.pages) and self._spend(len(self.pages[page - 1]), author) \
                and quote in self.pages[page - 1]:
            return page
        if quote not in self.found:
            if not self._spend(len(self.whole), author):
                return None
            at = self.whole.find(quote)
            self.found[quote] = None if at < 0 else bisect.bisect_right(self.starts, at)
        return self.found[quote]

    def _spend(self, chars: int, author: int) -> bool:
        spent = self.spent.get(author, 0)
        if chars > self.budget or spent + chars > self.per_author:
            return False
        self.budget -= chars
        self.spent[author] = spent + chars
        return True


CARRY_BATCH = 500
_COPIED = ("document_id", "meeting_id", "author_id", "kind", "visibility", "color", "rects", "ink", "point", "quote",
           "text", "weight")


def annotations_carry_forward(*, actor, previous: DocumentVersion, version: DocumentVersion) -> dict:
    """Copy every live annotation of ``previous`` onto ``version`` (called inside the new version's
    transaction, ``services.documents``): placed on the page where its quote is found in the new
    version's text (the same page number if it is there, else the first page that has it), else
    "unplaced" — as is every annotation without a quote. A highlight's rectangles are left empty
    (the reader finds the quote in the page's text layer). Work is bounded: the quotes are searched
    in at most ``ANNOTATION_CARRY_MAX_SEARCH_CHARS`` characters of text in all and
    ``ANNOTATION_CARRY_MAX_SEARCH_CHARS_PER_AUTHOR`` for one author's (each distinct quote once in the
    whole text); past that the rest (of that author) are carried unplaced. One audit entry with the
    counts; no event per annotation: the ``document.published`` of the new version tells the readers
    to fetch its annotations (docs/protocol.md). Returns ``{"carried", "placed", "unplaced"}``."""
    rows = Annotation.objects.filter(version=previous, deleted_at__isnull=True).order_by("id")
    if not rows.exists():
        return {"carried": 0, "placed": 0, "unplaced": 0}
    text = _PageText(version.text, settings.ANNOTATION_CARRY_MAX_SEARCH_CHARS,
                     settings.ANNOTATION_CARRY_MAX_SEARCH_CHARS_PER_AUTHOR)
    now = current_time()
    placed = unplaced = 0
    batch: list[Annotation] = []
    for row in rows.values("id", "page", *_COPIED).iterator(chunk_size=CARRY_BATCH):
        page = text.page_of(row["quote"], row["page"], row["author_id"]) if row["quote"] else None
        if page is None:
            unplaced += 1
        else:
            placed += 1
        copied = {name: row[name] for name in _COPIED}
        if row["kind"] == K.HIGHLIGHT:
            copied["rects"] = []
        batch.append(Annotation(version=version, carried_from_id=row["id"], created_at=now, updated_at=now,
                                page=page or min(row["page"], version.pages),
                                placement=Annotation.Placement.PLACED if page else Annotation.Placement.UNPLACED,
                                **copied))
        if len(batch) >= CARRY_BATCH:
            Annotation.objects.bulk_create(batch)
            batch = []
    Annotation.objects.bulk_create(batch)
    counts = {"carried": placed + unplaced, "placed": placed, "unplaced": unplaced}
    audit.record(actor, "annotation.carried", version.document, meeting_id=version.document.agenda_item.meeting_id,
                 data={"from_version": previous.number, "version": version.number, **counts})
    return counts
