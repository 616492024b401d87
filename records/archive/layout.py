"""Where things are in an archive bag, shared by the exporter and the verifier (no ORM).

The layout is documented in docs/archive.md; change both together.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pikepdf

__all__ = ["ANNOTATIONS", "ARCHIVE_FORMAT", "BALLOTS_DIR", "BALLOTS_FORMAT", "BALLOTS_INDEX", "RECORD_AKN",
           "RECORD_JSON", "SEALED_DIRS", "TASKS_DIR", "TASKS_INDEX", "ballot_draft_path", "ballot_summary_path",
           "document_path", "embedded_files", "quiet_bagit", "sealed_path", "task_attachment_path"]

ARCHIVE_FORMAT = "ecabinet-archive/1"
RECORD_JSON = "record/record.json"
RECORD_AKN = "record/record.akn.xml"
DOCUMENTS_INDEX = "documents/index.csv"
VOTES_DIR = "votes"
AUDIT_ENTRIES = "audit/entries.jsonl"
AUDIT_PROOF = "audit/chain-proof.json"
ANNOTATIONS = "annotations/shared.jsonl"  # issue 17: the shared annotations, one JSON object a line
BALLOTS_DIR = "ballots"  # issue 18: the written ballots linked to the session
BALLOTS_INDEX = "ballots/ballots.json"
BALLOTS_FORMAT = "ecabinet-ballots/1"
TASKS_INDEX = "tasks.jsonl"  # issue 18: the session's follow-up tasks, one JSON object a line
TASKS_DIR = "tasks"  # ... and their reports' attachments
# Sealed document kind → the payload folder holding it.
SEALED_DIRS = {"minutes": "minutes", "resolution": "resolution", "correction": "corrections"}
# The files a sealed PDF embeds (records.minutes.render.RECORD_JSON / RECORD_XML).
EMBEDDED_JSON = "record.json"
EMBEDDED_AKN = "record.akn.xml"


def sealed_path(kind: str, document_id: int) -> str:
    """Payload path (under ``data/``) of a sealed document."""
    if kind == "correction":
        return f"corrections/correction-{document_id}.pdf"
    return f"{SEALED_DIRS[kind]}/{kind}.pdf"


def document_path(item_position: int, document_id: int, number: int, sha256: str) -> str:
    """Payload path (under ``data/``) of one uploaded document version, as uploaded."""
    return f"documents/{item_position}-{document_id}/v{number}-{sha256[:16]}.pdf"


def ballot_draft_path(ballot_id: int, document_id: int, sha256: str) -> str:
    """Payload path (under ``data/``) of a draft of a linked written ballot, as uploaded."""
    return f"{BALLOTS_DIR}/{ballot_id}/drafts/{document_id}-{sha256[:16]}.pdf"


def ballot_summary_path(ballot_id: int) -> str:
    """Payload path (under ``data/``) of the summary PDF of a closed linked ballot."""
    return f"{BALLOTS_DIR}/{ballot_id}/summary.pdf"


def task_attachment_path(task_id: int, attachment_id: int, sha256: str) -> str:
    """Payload path (under ``data/``) of an attachment of a report on a task, as the ministry sent it."""
    return f"{TASKS_DIR}/{task_id}/{attachment_id}-{sha256[:16]}.pdf"


def embedded_files(pdf: bytes) -> dict[str, bytes]:
    """The embedded (associated) files of a PDF by name. Raises ``pikepdf.PdfError`` on a bad PDF."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return {name: spec.get_file().read_bytes() for name, spec in document.attachments.items()}


@contextmanager
def quiet_bagit() -> Iterator[None]:
    """bagit.py logs every file it hashes at INFO; our reports say what matters."""
    logger = logging.getLogger("bagit")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
