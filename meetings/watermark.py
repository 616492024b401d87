"""Personal watermarks drawn into every page of a downloaded document.

The mark is page content (not an annotation a viewer can hide or a reader can delete with one
click): a diagonal line across the page and a footer line, naming the reader, their ministry, the
UTC time and the copy number. The text is real text with an embedded Unicode font, so the name is
machine-readable in the copy (which is how a leaked copy is traced, and how tests check it).

Before the mark is drawn, active content is removed from the copy (``meetings.pdfsanitise``).

Bounded work: nothing of the original is decoded. The overlay is placed as a form XObject with
streams *added* to each page's ``/Contents`` array (``q`` before, ``Q`` and the placement after) —
pikepdf's ``Page.add_overlay`` would coalesce (decode and re-encode) every page's content — and
the copy is written with ``stream_decode_level=none``, so qpdf copies the existing streams' raw
bytes instead of decoding and recompressing them. The work is proportional to the file's size
(at most ``DOCUMENT_MAX_BYTES``) and its object count (``PDF_MAX_OBJECTS``), both checked at
admission; a stream that would decode to gigabytes is copied as the kilobytes it is.

Pure function: bytes and strings in, bytes out; no ORM, no clock.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

import pikepdf
from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from .pdfsanitise import sanitise

__all__ = ["watermark_pdf"]

FONT = "EcabinetWatermark"


@lru_cache(maxsize=1)
def _register_font(path: str) -> str:
    pdfmetrics.registerFont(TTFont(FONT, path))
    return FONT


def _overlay(width: float, height: float, diagonal: str, footer: str, font_path: str) -> pikepdf.Pdf:
    font = _register_font(font_path)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1)
    c.setTitle("watermark")
    # Diagonal: light grey, sized to the page so it stays readable without hiding the text under it.
    diagonal_size = max(10.0, min(28.0, math.hypot(width, height) / max(len(diagonal), 1) * 1.4))
    c.saveState()
    c.setFillColor(Color(0.55, 0.55, 0.6, alpha=0.28))
    c.setFont(font, diagonal_size)
    c.translate(width / 2, height / 2)
    c.rotate(math.degrees(math.atan2(height, width)))
    c.drawCentredString(0, -diagonal_size / 3, diagonal)
    c.restoreState()
    # Footer: small and fully legible, in the bottom margin.
    c.setFillColor(Color(0.35, 0.1, 0.1, alpha=0.85))
    footer_size = 7.0 if width > 400 else 5.5
    c.setFont(font, footer_size)
    c.drawCentredString(width / 2, 8, footer)
    c.showPage()
    c.save()
    buffer.seek(0)
    return pikepdf.open(buffer)


def _place_overlay(pdf: pikepdf.Pdf, page: pikepdf.Page, form: pikepdf.Object, rect: pikepdf.Rectangle) -> None:
    """Draw ``form`` over ``page`` inside ``rect`` without reading the page's content: the old
    content is wrapped in ``q``/``Q`` (its graphics state cannot leak into the mark) by adding two
    small streams around it."""
    name = page.add_resource(form, pikepdf.Name.XObject)
    placement = page.calc_form_xobject_placement(form, name, rect, allow_shrink=True, allow_expand=True)
    page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(pdf, b"Q\n" + placement), prepend=False)


def watermark_pdf(data: bytes, *, full_name: str, ministry: str, issued_utc: str, copy_number: int,
                  font_path: str, document_label: str = "") -> bytes:
    """Return ``data`` with the reader's mark drawn on every page."""
    identity = " · ".join(part for part in (full_name, ministry) if part)
    diagonal = f"{identity} · {issued_utc} · Bản số {copy_number}"
    footer = f"Bản số {copy_number} cấp cho {identity} lúc {issued_utc} — {document_label}".rstrip(" —")
    overlays: dict[tuple[int, int], pikepdf.Pdf] = {}
    with pikepdf.open(io.BytesIO(data)) as pdf:
        sanitise(pdf)
        forms: dict[tuple[int, int], pikepdf.Object] = {}
        for page in pdf.pages:
            # The visible area: a viewer shows the CropBox (the MediaBox when there is none), so a
            # mark placed by the MediaBox of a cropped page could fall outside what anyone sees.
            box = page.trimbox if "/TrimBox" in page.obj else page.cropbox
            x0, y0, x1, y1 = (float(v) for v in box)
            width, height = x1 - x0, y1 - y0
            # qpdf places the overlay upright on a rotated page; draw it in the page's displayed
            # proportions so it is not shrunk to fit sideways.
            if int(page.obj.get("/Rotate", 0)) % 180 == 90:
                width, height = height, width
            key = (round(width), round(height))
            if key not in overlays:
                overlays[key] = _overlay(width, height, diagonal, footer, font_path)
                forms[key] = pdf.copy_foreign(overlays[key].pages[0].as_form_xobject())
            _place_overlay(pdf, page, forms[key], pikepdf.Rectangle(x0, y0, x1, y1))
        out = io.BytesIO()
        pdf.save(out, compress_streams=True, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    for overlay in overlays.values():
        overlay.close()
    return out.getvalue()
