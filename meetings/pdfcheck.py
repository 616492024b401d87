"""Admission control for uploaded documents: PDF only, checked by parsing, within limits, with no
active content.

Rules (issue #2 §4), each with its own machine code:

* ``file_too_large`` (413) — more than ``DOCUMENT_MAX_BYTES``;
* ``not_pdf`` (415) — no ``%PDF-`` header, whatever the file is called;
* ``pdf_truncated`` — no ``%%EOF`` marker near the end (an interrupted upload or copy);
* ``pdf_damaged`` — qpdf cannot parse it, or a page's content cannot be decoded (it could be
  stored but never watermarked, so never served); any parser error on a hostile file ends here;
* ``pdf_encrypted`` — any encryption, even with an empty user password (we could not watermark,
  index or archive it);
* ``too_many_pages`` — more than ``DOCUMENT_MAX_PAGES``;
* ``pdf_javascript``, ``pdf_launch_action``, ``pdf_embedded_files`` — active or hidden content.
  These are refused rather than cleaned: removing a script can change what a page shows, and a
  cabinet paper must be exactly what its author sent;
* ``state_secret`` — a page stamped MẬT / TỐI MẬT / TUYỆT MẬT (see ``services``).

The module has no ORM access; it reads bytes and returns facts.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pikepdf
from django.utils.translation import gettext_lazy as _
from pypdf import PdfReader

from ecabinet.errors import UploadRejected

__all__ = ["STATE_SECRET_MARKS", "PdfFacts", "inspect_pdf"]

# Density stamps of the Law on Protection of State Secrets, as printed on a classified page.
STATE_SECRET_MARKS = ("TUYỆT MẬT", "TỐI MẬT", "MẬT")
_MARK_LINE = re.compile(r"^\s*(TUYỆT MẬT|TỐI MẬT|MẬT)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PdfFacts:
    sha256: str
    size: int
    pages: int
    text: str
    secret_mark: str | None


def _reject(code: str, message, status: int = 422) -> UploadRejected:
    return UploadRejected(message, code=code, status=status)


def _name(obj) -> str:
    return str(obj) if isinstance(obj, pikepdf.Name) else ""


def _dictionaries(obj) -> Iterator:
    """``obj`` (an indirect object) and every dictionary nested in it directly.

    Most actions are direct objects inside another one: a link annotation's ``/A``, a page's
    ``/AA``, a catalog's ``/OpenAction``. ``pdf.objects`` lists only indirect objects, so scanning
    those alone misses them. Indirect children are not followed: they are scanned in their own turn.
    """
    stack = [obj]
    while stack:
        current = stack.pop()
        if isinstance(current, pikepdf.Array):
            children = list(current)
        elif isinstance(current, pikepdf.Dictionary | pikepdf.Stream):
            yield current
            children = [value for _key, value in current.items()]
        else:
            continue
        stack.extend(child for child in children
                     if isinstance(child, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)
                     and not child.is_indirect)


def _scan_active_content(pdf: pikepdf.Pdf) -> None:
    """Refuse JavaScript, launch actions and embedded files wherever they hide."""
    root = pdf.Root
    names = root.get("/Names")
    if names is not None:
        if "/JavaScript" in names:
            raise _reject("pdf_javascript", _("The PDF contains JavaScript, which is not allowed. "
                                              "Save it again without scripts (print to PDF) and upload it."))
        if "/EmbeddedFiles" in names:
            raise _reject("pdf_embedded_files", _("The PDF contains embedded files, which are not allowed. "
                                                  "Upload each attachment as its own document."))
    if "/AcroForm" in root and "/XFA" in root.AcroForm:
        raise _reject("pdf_javascript", _("The PDF is an XFA form, which may run scripts. "
                                          "Print it to a plain PDF and upload that."))
    for obj in (d for top in pdf.objects for d in _dictionaries(top)):
        keys = set(obj.keys())
        kind = _name(obj.get("/S")) if "/S" in keys else ""
        if "/JS" in keys or kind == "/JavaScript":
            raise _reject("pdf_javascript", _("The PDF contains JavaScript, which is not allowed. "
                                              "Save it again without scripts (print to PDF) and upload it."))
        if kind == "/Launch":
            raise _reject("pdf_launch_action", _("The PDF tries to launch a program when opened, which is "
                                                 "not allowed. Save it again as a plain PDF."))
        obj_type = _name(obj.get("/Type")) if "/Type" in keys else ""
        subtype = _name(obj.get("/Subtype")) if "/Subtype" in keys else ""
        if "/EF" in keys or obj_type == "/EmbeddedFile" or subtype == "/FileAttachment":
            raise _reject("pdf_embedded_files", _("The PDF contains embedded files, which are not allowed. "
                                                  "Upload each attachment as its own document."))


def _decode_page_contents(pdf: pikepdf.Pdf) -> None:
    """Decode every page's content streams, as watermarking a copy for a reader will: a page qpdf
    cannot decode would be accepted here and fail at every download."""
    for page in pdf.pages:
        contents = page.obj.get("/Contents")
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        for stream in streams:
            if isinstance(stream, pikepdf.Stream):
                stream.read_bytes()


def _extract_text(data: bytes, max_pages: int = 400) -> str:
    """Plain text per page, for "what changed" comparisons and the secrecy stamp check."""
    reader = PdfReader(io.BytesIO(data))
    parts = []
    for index, page in enumerate(reader.pages):
        if index >= max_pages:
            break
        try:
            parts.append(page.extract_text() or "")
        except Exception:
            parts.append("")
    return "\n\f\n".join(parts)


def inspect_pdf(data: bytes, *, max_bytes: int, max_pages: int) -> PdfFacts:
    """Check an upload and return its facts, or raise ``UploadRejected`` with a precise code."""
    size = len(data)
    if size > max_bytes:
        raise _reject("file_too_large",
                      _("The file is %(size)s MB; the limit is %(limit)s MB.")
                      % {"size": round(size / 1048576, 1), "limit": max_bytes // 1048576}, status=413)
    if size == 0 or b"%PDF-" not in data[:1024]:
        raise _reject("not_pdf", _("This file is not a PDF. Only PDF documents can be uploaded."), status=415)
    if b"%%EOF" not in data[-2048:]:
        raise _reject("pdf_truncated", _("The PDF is incomplete (its end is missing): the upload or the copy "
                                         "was interrupted. Upload the complete file again."))
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if pdf.is_encrypted:
                raise _reject("pdf_encrypted", _("The PDF is encrypted or password-protected. Remove the "
                                                 "protection and upload it again."))
            pages = len(pdf.pages)
            if pages == 0:
                raise _reject("pdf_damaged", _("The PDF has no pages."))
            if pages > max_pages:
                raise _reject("too_many_pages", _("The PDF has %(pages)s pages; the limit is %(limit)s.")
                              % {"pages": pages, "limit": max_pages})
            _scan_active_content(pdf)
            _decode_page_contents(pdf)
            try:
                text = _extract_text(data)
            except Exception:
                # pypdf is stricter than qpdf about damaged cross-reference tables: read the text
                # from the copy qpdf repaired (the stored file stays the original bytes).
                repaired = io.BytesIO()
                pdf.save(repaired)
                text = _extract_text(repaired.getvalue())
    except UploadRejected:
        raise
    except pikepdf.PasswordError as exc:
        raise _reject("pdf_encrypted", _("The PDF is encrypted or password-protected. Remove the protection "
                                         "and upload it again.")) from exc
    except Exception as exc:
        # Hostile or damaged files make qpdf, pikepdf and pypdf raise many kinds of errors
        # (PdfError, QpdfRuntimeError, UnicodeDecodeError on a non-UTF-8 name, …): every one of them
        # is a refused upload, never a server error.
        raise _reject("pdf_damaged", _("The PDF is damaged and cannot be read. Export it again from the "
                                       "original and upload the new file.")) from exc
    first_page = text.split("\f", 1)[0]
    match = _MARK_LINE.search(first_page)
    return PdfFacts(
        sha256=hashlib.sha256(data).hexdigest(), size=size, pages=pages, text=text,
        secret_mark=match.group(1) if match else None,
    )
