"""The written ballots linked to an archived session (issue 18), as they go into its bag.

``data/ballots/ballots.json`` lists every ballot linked to the session (``voting.Ballot.meeting``),
in id order, with what ``records.permissions.archived_ballots`` lets the package keep:

* a **closed** ballot (``"state": "closed"``): its details, its drafts (``data/ballots/<id>/drafts/``,
  the PDFs exactly as uploaded, each with its sha256), the summary exactly as the summary screen and
  API give it (``summary``: counts per question, each member's answer and opinion, who did not
  answer, the rule on silence) and the summary PDF rendered at export (``data/ballots/<id>/summary.pdf``);
* an **open** ballot (``"state": "open"``): title and deadline, no question, draft or answer;
* a **draft** (``"state": "draft"``): its id and state only.

Everything is read in Vietnamese (the summary and its PDF are administrative documents of the
Office of the Government). Checked offline by ``records.archive.ballot_check``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils import translation

from records.permissions import BALLOT_DRAFT, BALLOT_FULL, archived_ballots
from voting.ballot_summary import summarize
from voting.pdf import render_summary_pdf

from ..record import iso
from . import layout
from .bagdir import BagWriter

__all__ = ["write_ballots"]

Chunks = Callable[[object, str], Iterable[bytes]]


def _closed(ballot, now: datetime, writer: BagWriter, chunks: Chunks, mismatch: Callable[[str], Exception]) -> dict:
    documents = []
    for document in ballot.documents.order_by("id"):
        path = layout.ballot_draft_path(ballot.pk, document.pk, document.sha256)
        what = f"“{document.title}” (ballot {ballot.pk})"
        if writer.add(path, chunks(document.file, what)) != document.sha256:
            raise mismatch(what)
        documents.append({"id": document.pk, "title": document.title, "sha256": document.sha256,
                          "size": document.size, "pages": document.pages, "path": "data/" + path})
    summary = summarize(ballot, now)
    pdf, _html = render_summary_pdf(summary, generated_at=now)
    pdf_path = layout.ballot_summary_path(ballot.pk)
    pdf_sha = writer.add(pdf_path, pdf)
    return {"description": ballot.description, "documents": documents, "summary": summary.as_dict(),
            "summary_pdf": {"path": "data/" + pdf_path, "sha256": pdf_sha}}


def write_ballots(meeting, now: datetime, writer: BagWriter, chunks: Chunks,
                  mismatch: Callable[[str], Exception]) -> int:
    """Write ``ballots/`` for ``meeting`` into the bag; returns the number of ballots listed.
    ``chunks(field, what)`` reads a stored file; ``mismatch(what)`` is the error to raise when it
    does not match its recorded sha256."""
    rows = []
    with translation.override("vi"):
        for ballot, part in archived_ballots(meeting, now):
            row = {"id": ballot.pk, "state": part}
            if part != BALLOT_DRAFT:
                row.update({"title": ballot.title, "deadline": iso(ballot.deadline),
                            "issued_at": iso(ballot.issued_at), "silence_is_consent": ballot.silence_is_consent})
            if part == BALLOT_FULL:
                row["closed_at"] = iso(ballot.closed_at)
                row.update(_closed(ballot, now, writer, chunks, mismatch))
            rows.append(row)
    index = {"format": layout.BALLOTS_FORMAT, "meeting_id": meeting.pk, "exported_at": iso(now), "ballots": rows}
    writer.add(layout.BALLOTS_INDEX, json.dumps(index, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"))
    return len(rows)
