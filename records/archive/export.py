"""Exporting a closed session as a BagIt package (issue 5, item 7). Layout: docs/archive.md.

Contract:

* Only a ``closed`` session is exported (``InvalidState``, code ``meeting_not_closed``). Through the
  API only archivists and the session's own secretariat may export (``archive_access``).
* The package holds the sealed documents exactly as signed (every signature is in the final bytes:
  signing is incremental), every version of every document exactly as uploaded (never the
  watermarked copies), the JSON and Akoma Ntoso records, the votes as CSV, the session's audit
  entries with a chain proof, the shared annotations on the documents (never private ones, never
  those to the secretariat: ``records.permissions.archived_annotations``), the written ballots linked
  to the session (``records.archive.ballots``: closed ones in full, open ones and drafts listed), the
  session's follow-up tasks with their history, reports and attachments (``records.archive.tasks``),
  and bag-info metadata.
* The records are the ones embedded in the sealed minutes, byte for byte. A closed session without
  sealed minutes is still exported: its records are generated from the database at export time,
  and ``bag-info.txt`` says so (``Minutes-Status: no sealed minutes``, ``Record-Source: generated…``);
  ``verify_archive`` repeats it. Unsealed (unsigned or half-signed) documents are not archived.
* Nothing half-written is ever left at the output path: the bag is built in a temporary directory
  beside it and renamed into place only once complete and read back by bagit.py.
* Every stored file is checked against the sha256 the database holds, and the audit chain over the
  exported range against its hashes; a mismatch stops the export (``archive_source_damaged``) rather
  than producing a package that would fail verification.
* Every export is an audit entry ``archive.exported``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import bagit
import pikepdf
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from ecabinet import audit, clock
from ecabinet.errors import DomainError, Forbidden, InvalidState
from meetings import permissions
from meetings.models import DocumentVersion, Meeting, SealedDocument
from records import permissions as records_permissions
from voting.services import ballots as ballot_services

from ..record import iso, session_record, session_record_json
from ..record_akn import akoma_ntoso
from . import chain, layout
from .bagdir import BagWriter
from .ballots import write_ballots
from .tables import annotation_lines, vote_tables
from .tasks import write_tasks

__all__ = ["ArchiveSourceDamaged", "ExportSummary", "Progress", "archive_access", "build_bag", "export_archive",
           "export_zip", "zip_bag"]

Progress = Callable[[int, int, str], None]
"""``progress(done, total, what)``: called before each step of an export."""

NO_SEALED_MINUTES = "no sealed minutes"
GENERATED = "generated at export from the database (no sealed minutes): not signed"
EMBEDDED = "embedded in the sealed minutes (data/minutes/minutes.pdf)"


class ArchiveSourceDamaged(DomainError):
    """A stored file or the audit chain does not match its recorded hash; nothing was exported."""

    status = 409
    code = "archive_source_damaged"


@dataclass
class ExportSummary:
    path: Path
    files: int
    bytes: int
    minutes_sealed: bool
    manifest_sha256: str
    checkpoint: dict | None


def require_closed(meeting: Meeting) -> None:
    if meeting.status != Meeting.Status.CLOSED:
        raise InvalidState(_("Only a closed session can be archived; this one is “%(status)s”.")
                           % {"status": meeting.get_status_display()}, code="meeting_not_closed")


def archive_access(user, meeting_id: int) -> Meeting:
    """The session ``user`` may export: 404 if they cannot see it, 403 unless they are an archivist
    (closed sessions) or its secretariat, 409 unless it is closed."""
    access = permissions.meeting_access(user, meeting_id)
    if not records_permissions.may_export_archive(access):
        raise Forbidden(_("Only archivists and the session's secretariat export archive packages."),
                        code="archive_forbidden")
    require_closed(access.meeting)
    return access.meeting


# --- reading the sources -----------------------------------------------------------------------------


def _read(field, sha256: str, what: str) -> bytes:
    try:
        with field.open("rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ArchiveSourceDamaged(_("The stored file of %(what)s cannot be read: %(error)s")
                                   % {"what": what, "error": exc}) from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArchiveSourceDamaged(_("The stored file of %(what)s does not match its recorded sha256.")
                                   % {"what": what})
    return data


def _chunks(field, what: str) -> Iterator[bytes]:
    try:
        with field.open("rb") as handle:
            yield from iter(lambda: handle.read(1 << 20), b"")
    except OSError as exc:
        raise ArchiveSourceDamaged(_("The stored file of %(what)s cannot be read: %(error)s")
                                   % {"what": what, "error": exc}) from exc


def _mismatch(what: str) -> ArchiveSourceDamaged:
    return ArchiveSourceDamaged(_("The stored file of %(what)s does not match its recorded sha256.") % {"what": what})


def _embedded_record(data: bytes, what: str) -> dict[str, bytes]:
    try:
        files = layout.embedded_files(data)
    except pikepdf.PdfError as exc:
        raise ArchiveSourceDamaged(_("%(what)s cannot be read as a PDF: %(error)s")
                                   % {"what": what, "error": exc}) from exc
    if layout.EMBEDDED_JSON not in files:
        raise ArchiveSourceDamaged(_("%(what)s has no embedded record.json.") % {"what": what})
    return files


def _label(document: SealedDocument) -> str:
    return "correction" if document.kind == SealedDocument.Kind.CORRECTION else document.kind


def _index_csv(versions: list[DocumentVersion]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["item_position", "item_id", "item_title", "document_id", "document_title", "classification",
                     "version", "sha256", "size", "pages", "uploaded_at", "uploaded_by", "original_filename", "note",
                     "path"])
    for v in versions:
        doc, item = v.document, v.document.agenda_item
        writer.writerow([item.position, item.pk, item.title, doc.pk, doc.title, doc.classification, v.number,
                         v.sha256, v.size, v.pages, iso(v.uploaded_at), v.uploaded_by.username, v.original_filename,
                         v.note, "data/" + layout.document_path(item.position, doc.pk, v.number, v.sha256)])
    return buffer.getvalue().encode("utf-8")


# --- building ----------------------------------------------------------------------------------------


class _Steps:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = 0, total, progress

    def __call__(self, what: str) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total, what)
        self.done += 1

    def end(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total, "done")


def _write(meeting: Meeting, root: Path, progress: Progress | None) -> ExportSummary:
    sealed = list(SealedDocument.objects.filter(meeting=meeting, status=SealedDocument.Status.SEALED)
                  .order_by("created_at", "id"))
    versions = list(DocumentVersion.objects.filter(document__agenda_item__meeting=meeting)
                    .select_related("document__agenda_item", "uploaded_by")
                    .order_by("document__agenda_item__position", "document_id", "number"))
    step = _Steps(len(sealed) + len(versions) + 10, progress)
    writer = BagWriter(root)
    checkpoints: list[dict] = []
    minutes_files: dict[str, bytes] | None = None
    minutes_sha = ""
    info_sealed: list[tuple[str, str]] = []
    for document in sealed:
        what = f"{document.get_kind_display()} {document.number}"
        path = layout.sealed_path(document.kind, document.pk)
        step(path)
        data = _read(document.file, document.sha256, what)
        writer.add(path, data)
        files = _embedded_record(data, what)
        try:
            record = json.loads(files[layout.EMBEDDED_JSON])
        except ValueError as exc:
            raise ArchiveSourceDamaged(_("%(what)s has an unreadable embedded record.json.") % {"what": what}) from exc
        point = record.get("audit_checkpoint") or {"seq": document.audit_seq, "hash": document.audit_hash}
        checkpoints.append({"document": _label(document), "seq": point["seq"], "hash": point["hash"]})
        info_sealed.append((f"{document.kind.title()}-SHA256", document.sha256))
        if document.kind == SealedDocument.Kind.MINUTES:
            minutes_files, minutes_sha = files, document.sha256

    step(layout.RECORD_JSON)
    if minutes_files is not None:
        record_json, record_akn = minutes_files[layout.EMBEDDED_JSON], minutes_files.get(layout.EMBEDDED_AKN)
        if record_akn is None:
            raise ArchiveSourceDamaged(_("The sealed minutes have no embedded record.akn.xml."))
    else:
        record_json = session_record_json(meeting)
        record_akn = akoma_ntoso(session_record(meeting))
    writer.add(layout.RECORD_JSON, record_json)
    writer.add(layout.RECORD_AKN, record_akn)

    for v in versions:
        item = v.document.agenda_item
        path = layout.document_path(item.position, v.document_id, v.number, v.sha256)
        step(path)
        what = f"“{v.document.title}” v{v.number}"
        if writer.add(path, _chunks(v.file, what)) != v.sha256:
            raise ArchiveSourceDamaged(_("The stored file of %(what)s does not match its recorded sha256.")
                                       % {"what": what})
    step(layout.DOCUMENTS_INDEX)
    writer.add(layout.DOCUMENTS_INDEX, _index_csv(versions))

    step("votes")
    for name, content in vote_tables(meeting).items():
        writer.add(f"{layout.VOTES_DIR}/{name}", content)

    step("annotations")
    writer.add(layout.ANNOTATIONS, annotation_lines(meeting))

    step("written ballots")
    ballots = write_ballots(meeting, ballot_services.current_time(), writer, _chunks, _mismatch)

    step("follow-up tasks")
    tasks = write_tasks(meeting, writer, _chunks, _mismatch)

    step("audit chain proof")
    try:
        entries, proof = chain.build_chain_proof(meeting.pk, checkpoints)
    except chain.ChainBroken as exc:
        raise ArchiveSourceDamaged(_("The audit chain is damaged (%(error)s); run “manage.py verify_audit”.")
                                   % {"error": exc}) from exc
    writer.add(layout.AUDIT_ENTRIES, entries)
    writer.add(layout.AUDIT_PROOF, proof)
    proof_head = json.loads(proof)

    step("manifests")
    minutes_point = next((c for c in checkpoints if c["document"] == "minutes"), None)
    info = [
        ("Source-Organization", settings.MINUTES_ISSUER),
        ("Bagging-Date", clock.moment().date().isoformat()),
        ("External-Identifier", f"ecabinet-session-{meeting.pk}"),
        ("External-Description", f"{meeting.title} — {meeting.get_kind_display()}, "
                                 f"{iso(meeting.starts_at)}, {meeting.location or '—'}"),
        ("Bag-Count", "1 of 1"),
        ("Bag-Software-Agent", f"e-Cabinet archive export ({layout.ARCHIVE_FORMAT}; bagit.py {bagit.VERSION})"),
        ("Archive-Format", layout.ARCHIVE_FORMAT),
        ("Meeting-Id", str(meeting.pk)),
        ("Meeting-Title", meeting.title),
        ("Meeting-Closed-At", iso(meeting.closed_at) or ""),
        ("Minutes-Status", "sealed" if minutes_files is not None else NO_SEALED_MINUTES),
        ("Minutes-SHA256", minutes_sha or "none"),
        *[pair for pair in info_sealed if not pair[0].startswith("Minutes-")],
        ("Record-Source", EMBEDDED if minutes_files is not None else GENERATED),
        ("Written-Ballots", str(ballots)),
        ("Follow-Up-Tasks", str(tasks)),
        ("Audit-Checkpoint", f"{minutes_point['seq']} {minutes_point['hash']}" if minutes_point else "none"),
        ("Audit-Range", f"{proof_head['first_seq']}-{proof_head['last_seq']}" if proof_head["links"] else "none"),
        ("Audit-Head-At-Export", f"{proof_head['head_at_export']['seq']} {proof_head['head_at_export']['hash']}"),
    ]
    writer.finish(info)

    step("bagit.py read-back")
    with layout.quiet_bagit():
        bagit.Bag(str(root)).validate(completeness_only=True)
    step.end()
    manifest_sha = hashlib.sha256((root / "manifest-sha256.txt").read_bytes()).hexdigest()
    return ExportSummary(path=root, files=len(writer.digests), bytes=writer.total_bytes,
                         minutes_sealed=minutes_files is not None, manifest_sha256=manifest_sha,
                         checkpoint=minutes_point)


def build_bag(meeting: Meeting, directory: Path, progress: Progress | None = None) -> ExportSummary:
    """Write the bag of ``meeting`` (closed) as the new directory ``directory``. Built in a temporary
    directory beside it and renamed at the end, so on any failure ``directory`` does not exist."""
    require_closed(meeting)
    directory = Path(directory).absolute()
    if directory.exists():
        raise FileExistsError(f"{directory} already exists")
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".partial", dir=directory.parent))
    try:
        summary = _write(meeting, work, progress)
        os.rename(work, directory)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    summary.path = directory
    return summary


def zip_bag(directory: Path, fileobj, root_name: str | None = None) -> None:
    """Write the bag in ``directory`` as a zip into ``fileobj``, under the folder ``root_name``
    (default: the directory's name), files in sorted order."""
    directory = Path(directory)
    root_name = root_name or directory.name
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            archive.write(path, f"{root_name}/{path.relative_to(directory).as_posix()}")


def _audited(actor, meeting: Meeting, summary: ExportSummary, via: str) -> None:
    with transaction.atomic():
        audit.record(actor, "archive.exported", meeting, meeting_id=meeting.pk,
                     data={"via": via, "files": summary.files, "bytes": summary.bytes,
                           "manifest_sha256": summary.manifest_sha256, "minutes_sealed": summary.minutes_sealed})


def bag_name(meeting: Meeting) -> str:
    return f"ecabinet-session-{meeting.pk}"


def _zip_into(meeting: Meeting, fileobj, progress: Progress | None) -> ExportSummary:
    with tempfile.TemporaryDirectory(prefix="ecabinet-archive-") as scratch:
        summary = build_bag(meeting, Path(scratch) / bag_name(meeting), progress)
        zip_bag(summary.path, fileobj)
    return summary


def export_zip(*, actor, meeting: Meeting, fileobj, progress: Progress | None = None,
               via: str = "api") -> ExportSummary:
    """The bag of ``meeting`` as a zip written into ``fileobj`` (the caller checked access:
    ``archive_access``); recorded in the audit log."""
    summary = _zip_into(meeting, fileobj, progress)
    _audited(actor, meeting, summary, via)
    return summary


def export_archive(*, actor, meeting: Meeting, output: Path, as_zip: bool = False,
                   progress: Progress | None = None, via: str = "command") -> ExportSummary:
    """Export ``meeting`` to ``output``: a new bag directory, or with ``as_zip`` a zip file written
    to a temporary name beside it and renamed into place. ``output`` must not exist."""
    require_closed(meeting)
    output = Path(output).absolute()
    if output.exists():
        raise FileExistsError(f"{output} already exists")
    if not as_zip:
        summary = build_bag(meeting, output, progress)
        _audited(actor, meeting, summary, via)
        return summary
    output.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(prefix=f".{output.name}.", suffix=".partial", dir=output.parent,  # noqa: SIM115
                                         delete=False)
    try:
        with handle:
            summary = _zip_into(meeting, handle, progress)
        os.rename(handle.name, output)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    summary.path = output
    _audited(actor, meeting, summary, via)
    return summary
