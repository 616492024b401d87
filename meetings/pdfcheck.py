"""Admission control for uploaded documents: PDF only, checked by parsing, within limits, with no
active content that cannot be removed — and done so that no upload can stall the service.

**Where the work happens.** ``inspect_upload`` runs *before* any transaction opens (the services
call it first, the API from its ``prepare`` step), so a slow file holds no database lock. The
parsing itself runs in a child process (``meetings/pdf_worker.py``) given the upload's *path*
(uploads are streamed to disk by Django's ``TemporaryFileUploadHandler``; small ones held in
memory are written to a temporary file first), with hard limits: address space
(``PDF_INSPECT_MEMORY_MB``), CPU seconds (``PDF_INSPECT_CPU_SECONDS``), a wall-clock timeout after
which it is killed (``PDF_INSPECT_TIMEOUT_SECONDS``), and at most ``PDF_INSPECT_CONCURRENCY``
children per server process (never more than half of ``HTTP_MAX_CONCURRENCY``). Inside the child
the file's own bounds are checked while it is read
(objects, nesting depth, pages, decoded bytes per stream and in all): see the worker's docstring.
The SHA-256 is computed here, streaming.

Refusals, each with its own machine code (422 unless said otherwise):

* ``file_too_large`` (413) — more than ``DOCUMENT_MAX_BYTES``;
* ``not_pdf`` (415) — no ``%PDF-`` header, whatever the file is called;
* ``pdf_truncated`` — the end of the file is missing (no ``%%EOF``, or ``%%EOF`` without the
  ``startxref`` that precedes it in a complete file): the upload or the copy was interrupted;
* ``pdf_damaged`` — qpdf cannot read it without repairing it (the cross-reference table is not
  rebuilt: a rebuilt file may silently lack its end), it has no pages, or a stream is corrupt;
* ``pdf_encrypted`` — any encryption, even with an empty user password;
* ``too_many_pages`` — more than ``DOCUMENT_MAX_PAGES``;
* ``pdf_too_complex`` — more objects than ``PDF_MAX_OBJECTS``, direct objects nested deeper than
  ``PDF_MAX_DEPTH``, a page using more XObjects and fonts than ``PDF_MAX_FORMS_PER_PAGE``, or fonts'
  character maps that, counted once per page using them, decode to more than
  ``PDF_MAX_TEXT_MAP_BYTES`` (text extraction would parse them again for every page);
* ``pdf_stream_too_large`` — one stream decodes to more than ``PDF_MAX_STREAM_BYTES``;
* ``pdf_decoded_too_large`` — all streams, page content counted once per page that draws it,
  decode to more than ``PDF_MAX_DECODED_BYTES`` (a decompression bomb shared by many pages);
* ``pdf_unsupported_filter`` — a compression whose output cannot be bounded before decoding it;
* ``pdf_inspection_timeout`` / ``pdf_inspection_memory`` — the child passed its CPU, wall-clock or
  memory limit; ``pdf_inspection_failed`` — it died otherwise; ``pdf_inspection_busy`` (503, with
  ``Retry-After``) — all inspection slots stayed busy for ``PDF_INSPECT_QUEUE_SECONDS``;
* ``pdf_javascript``, ``pdf_launch_action``, ``pdf_embedded_files`` — refused rather than cleaned:
  removing a script can change what a page shows;
* ``state_secret`` — a page stamped MẬT / TỐI MẬT / TUYỆT MẬT (``meetings.pdf_secrets``; the
  refusal itself is in ``services.documents``).

**Active content that is removed, not refused.** Link and form actions that reach outside the
document (URI, GoToR, GoToE, SubmitForm, ImportData, ResetForm, Rendition, Sound, Movie, …),
``/AA`` additional actions, and an ``/OpenAction`` that acts are *accepted* at upload and the stored
file stays exactly the bytes its author sent ("nothing is lost"; an archive keeps the original).
They are removed from every copy a reader is served (``meetings.pdfsanitise``, applied by
``watermark_pdf``), so no served copy can call home, leak a Windows logon to a UNC path, or post a
form.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ecabinet.errors import UploadRejected

__all__ = ["InspectedUpload", "PdfFacts", "inspect_path", "inspect_pdf", "inspect_upload"]

WORKER = Path(__file__).resolve().parent / "pdf_worker.py"
_DAMAGED = _("The PDF is damaged and cannot be read. Export it again from the original and upload the new file.")
_SCRIPT = _("The PDF contains JavaScript, which is not allowed. Save it again without scripts (print to PDF) "
            "and upload it.")
MESSAGES = {
    "pdf_truncated": _("The PDF is incomplete (its end is missing): the upload or the copy was interrupted. "
                       "Upload the complete file again."),
    "pdf_damaged": _DAMAGED,
    "pdf_encrypted": _("The PDF is encrypted or password-protected. Remove the protection and upload it again."),
    "too_many_pages": _("The PDF has %(pages)s pages; the limit is %(limit)s."),
    "pdf_too_complex": _("The PDF is built in an unusually complex way (too many objects or too deeply nested) "
                         "and was not accepted. Print it to a new PDF and upload that."),
    "pdf_stream_too_large": _("Part of the PDF expands to more than %(limit_mb)s MB when opened (a "
                              "“decompression bomb” or an extreme image). Print it to a new PDF and upload that."),
    "pdf_decoded_too_large": _("The PDF expands to more than %(limit_mb)s MB when its pages are opened (a "
                               "“decompression bomb”). Print it to a new PDF and upload that."),
    "pdf_unsupported_filter": _("The PDF uses a compression (%(filter)s) that cannot be checked safely. "
                                "Save it again with current software and upload it."),
    "pdf_inspection_timeout": _("Checking the PDF took longer than the %(seconds)s seconds allowed, so it was "
                                "not accepted. Print it to a new PDF, or split it, and upload again."),
    "pdf_inspection_memory": _("Checking the PDF needed more than the %(limit)s MB of memory allowed, so it "
                               "was not accepted. Print it to a new PDF, or split it, and upload again."),
    "pdf_inspection_failed": _("The PDF could not be checked (its reader stopped on it), so it was not accepted. "
                               "Export it again from the original and upload the new file."),
    "pdf_inspection_busy": _("Too many documents are being checked right now. Try again in a minute."),
    "pdf_javascript": _SCRIPT,
    "pdf_launch_action": _("The PDF tries to launch a program when opened, which is not allowed. "
                           "Save it again as a plain PDF."),
    "pdf_embedded_files": _("The PDF contains embedded files, which are not allowed. Upload each attachment as "
                            "its own document."),
}
NO_PAGES = _("The PDF has no pages.")
PAGE_GEOMETRY = _("Page %(page)s of the PDF has an invalid size, crop box or rotation, so it cannot be shown "
                  "reliably. Export it again from the original and upload the new file.")
XFA = _("The PDF is an XFA form, which may run scripts. Print it to a plain PDF and upload that.")

# Inspections running at once in this server process: each child may use PDF_INSPECT_MEMORY_MB.
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


@dataclass(frozen=True)
class PdfFacts:
    sha256: str
    size: int
    pages: int
    text: str
    secret_mark: str | None
    secret_page: int | None = None
    decoded_bytes: int = 0


@dataclass(frozen=True)
class InspectedUpload:
    """An upload and the facts found by inspecting it; the services store ``upload`` as is."""

    upload: object
    facts: PdfFacts


def _reject(code: str, message, status: int = 422) -> UploadRejected:
    return UploadRejected(message, code=code, status=status)


def _too_large(size: int) -> UploadRejected:
    limit = settings.DOCUMENT_MAX_BYTES
    return _reject("file_too_large", _("The file is %(size)s MB; the limit is %(limit)s MB.")
                   % {"size": round(size / 1048576, 1), "limit": limit // 1048576}, status=413)


def limits(*, max_pages: int | None = None) -> dict:
    """The worker's limits, from the settings."""
    return {
        "max_pages": max_pages or settings.DOCUMENT_MAX_PAGES,
        "max_objects": settings.PDF_MAX_OBJECTS,
        "max_depth": settings.PDF_MAX_DEPTH,
        "max_forms_per_page": settings.PDF_MAX_FORMS_PER_PAGE,
        "max_stream_bytes": settings.PDF_MAX_STREAM_BYTES,
        "max_decoded_bytes": settings.PDF_MAX_DECODED_BYTES,
        "max_text_map_bytes": settings.PDF_MAX_TEXT_MAP_BYTES,
        "max_page_chars": settings.PDF_MAX_PAGE_TEXT_CHARS,
        "max_text_chars": settings.PDF_MAX_TEXT_CHARS,
        "cpu_seconds": settings.PDF_INSPECT_CPU_SECONDS,
        "memory_mb": settings.PDF_INSPECT_MEMORY_MB,
    }


def inspect_concurrency() -> int:
    """Children at once: ``PDF_INSPECT_CONCURRENCY``, but never more than half the request threads
    (``HTTP_MAX_CONCURRENCY``), so uploads being checked can never hold every thread a reader's
    request needs."""
    http_threads = getattr(settings, "HTTP_MAX_CONCURRENCY", 4)
    return max(1, min(settings.PDF_INSPECT_CONCURRENCY, http_threads // 2))


def _busy() -> UploadRejected:
    refusal = _reject("pdf_inspection_busy", MESSAGES["pdf_inspection_busy"], status=503)
    refusal.retry_after = max(1, settings.PDF_INSPECT_RETRY_AFTER_SECONDS)
    return refusal


def work_slot() -> threading.BoundedSemaphore:
    """The slots of this process's slow PDF work (inspections, and the one-time cleaned copy of a
    task's attachment): take one with a short timeout and answer "busy" rather than queue a thread."""
    return _slot()


def _slot() -> threading.BoundedSemaphore:
    size = inspect_concurrency()
    with _slots_lock:
        return _slots.setdefault(size, threading.BoundedSemaphore(size))


def _refusal(code: str, params: dict) -> UploadRejected:
    if code == "pdf_damaged" and params.get("reason") == "no_pages":
        return _reject(code, NO_PAGES)
    if code == "pdf_damaged" and params.get("reason") == "page_geometry":
        return _reject(code, PAGE_GEOMETRY % {"page": params.get("page", "?")})
    if code == "pdf_javascript" and params.get("reason") == "xfa":
        return _reject(code, XFA)
    message = MESSAGES.get(code, _DAMAGED)
    values = dict(params)
    if "limit" in values and code in ("pdf_stream_too_large", "pdf_decoded_too_large"):
        values["limit_mb"] = values["limit"] // 1048576
    values.setdefault("seconds", settings.PDF_INSPECT_TIMEOUT_SECONDS)
    values.setdefault("filter", "?")
    with contextlib.suppress(KeyError, TypeError, ValueError):
        message = message % values
    return _reject(code if code in MESSAGES else "pdf_damaged", message)


def _run_worker(path: str, max_pages: int | None) -> dict:
    slot = _slot()
    timeout = settings.PDF_INSPECT_TIMEOUT_SECONDS
    # A request thread waits only briefly for a slot: waiting the whole inspection timeout held
    # one of the HTTP_MAX_CONCURRENCY threads per queued upload, and four uploads of a slow file
    # stalled every reader's page.
    if not slot.acquire(timeout=max(0, settings.PDF_INSPECT_QUEUE_SECONDS)):
        raise _busy()
    try:
        request = json.dumps({"path": path, "limits": limits(max_pages=max_pages)})
        # -I: isolated mode, no environment variables or user site-packages steer the child.
        # subprocess.run kills the child when the timeout passes.
        completed = subprocess.run(  # noqa: S603 — our interpreter and our script; the file is only a path
            [sys.executable, "-I", str(WORKER)], input=request.encode(), capture_output=True, timeout=timeout,
            check=False, env={"LC_ALL": "C.UTF-8"})
    except subprocess.TimeoutExpired as exc:
        raise _refusal("pdf_inspection_timeout", {"seconds": timeout}) from exc
    finally:
        slot.release()
    if completed.returncode < 0 and -completed.returncode in (24, 9):  # SIGXCPU, then SIGKILL
        raise _refusal("pdf_inspection_timeout", {"seconds": settings.PDF_INSPECT_CPU_SECONDS})
    try:
        answer = json.loads(completed.stdout)
    except ValueError:
        if b"MemoryError" in completed.stderr or b"bad_alloc" in completed.stderr:
            raise _refusal("pdf_inspection_memory", {"limit": settings.PDF_INSPECT_MEMORY_MB}) from None
        raise _refusal("pdf_inspection_failed", {}) from None
    if "refused" in answer:
        raise _refusal(answer["refused"], answer.get("params") or {})
    return answer["facts"]


def _head_and_tail(path: str, size: int) -> tuple[bytes, bytes]:
    with open(path, "rb") as handle:
        head = handle.read(1024)
        handle.seek(max(0, size - 2048))
        tail = handle.read()
    return head, tail


def inspect_path(path: str, *, size: int, sha256: str, max_pages: int | None = None) -> PdfFacts:
    """Inspect the PDF at ``path`` (already known to be ``size`` bytes with this digest)."""
    if size > settings.DOCUMENT_MAX_BYTES:
        raise _too_large(size)
    head, tail = _head_and_tail(path, size)
    if size == 0 or b"%PDF-" not in head:
        raise _reject("not_pdf", _("This file is not a PDF. Only PDF documents can be uploaded."), status=415)
    if b"%%EOF" not in tail:
        raise _reject("pdf_truncated", MESSAGES["pdf_truncated"])
    facts = _run_worker(path, max_pages)
    return PdfFacts(sha256=sha256, size=size, pages=facts["pages"], text=facts["text"],
                    secret_mark=facts["secret_mark"], secret_page=facts["secret_page"],
                    decoded_bytes=facts["decoded_bytes"])


def inspect_upload(upload) -> InspectedUpload:
    """Inspect a Django upload. Call it outside any transaction. A file Django spooled to disk is
    handed to the child by its path; a small one held in memory is written to a temporary file."""
    if upload.size is not None and upload.size > settings.DOCUMENT_MAX_BYTES:
        raise _too_large(upload.size)
    digest, size = hashlib.sha256(), 0
    upload.seek(0)
    if hasattr(upload, "temporary_file_path"):
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
        facts = inspect_path(upload.temporary_file_path(), size=size, sha256=digest.hexdigest())
    else:
        with tempfile.NamedTemporaryFile(prefix="ecabinet-upload-", suffix=".pdf") as copy:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > settings.DOCUMENT_MAX_BYTES:
                    raise _too_large(size)
                digest.update(chunk)
                copy.write(chunk)
            copy.flush()
            facts = inspect_path(copy.name, size=size, sha256=digest.hexdigest())
    upload.seek(0)
    return InspectedUpload(upload=upload, facts=facts)


def inspect_pdf(data: bytes, *, max_bytes: int | None = None, max_pages: int | None = None) -> PdfFacts:
    """Inspect PDF bytes (tests and tools; uploads use ``inspect_upload``)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise _too_large(len(data))
    with tempfile.NamedTemporaryFile(prefix="ecabinet-pdf-", suffix=".pdf") as copy:
        copy.write(data)
        copy.flush()
        return inspect_path(copy.name, size=len(data), sha256=hashlib.sha256(data).hexdigest(), max_pages=max_pages)
