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


def _draw_mark(c: canvas.Canvas, width: float, height: float, diagonal: str, footer: str, font: str) -> None:
    c.setPageSize((width, height))
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


def _overlays(sizes: list[tuple[float, float]], diagonal: str, footer: str, font_path: str) -> pikepdf.Pdf:
    """One reportlab document with a page per overlay size: the embedded font (subset) is one
    object shared by every overlay, not one copy per page size (2,000 sizes made a 46 MB copy)."""
    font = _register_font(font_path)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pageCompression=1)
    c.setTitle("watermark")
    for width, height in sizes:
        _draw_mark(c, width, height, diagonal, footer, font)
    c.save()
    buffer.seek(0)
    return pikepdf.open(buffer)


def _size_key(width: float, height: float) -> tuple[int, int]:
    """Overlay sizes in steps of 2 %: the overlay of the nearest step is scaled onto the page by
    its placement matrix (by at most 1 %), which bounds the overlays a file of many page sizes needs."""
    return round(math.log(width) / _STEP), round(math.log(height) / _STEP)


_STEP = math.log(1.02)
# A mark drawn into a smaller box than this could not be read: such a box is not what a viewer shows.
MIN_BOX = 72.0


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _box(page: pikepdf.Page, key: str) -> tuple[float, float, float, float] | None:
    """The page's box ``key`` (inherited through the page tree) as (x0, y0, x1, y1), normalised,
    or None when it is missing or not four numbers."""
    value = page.obj.get(key)
    if value is None and key == "/MediaBox":
        with_inherited = page.mediabox if hasattr(page, "mediabox") else None
        value = with_inherited
    if not isinstance(value, pikepdf.Array) or len(value) != 4:
        return None
    numbers = [_number(v) for v in value]
    if any(n is None for n in numbers):
        return None
    x0, y0, x1, y1 = numbers
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _visible_box(page: pikepdf.Page) -> tuple[float, float, float, float]:
    """Where the mark goes: the TrimBox, else the CropBox (what a viewer shows), clipped to the
    MediaBox; the MediaBox when that box is missing, malformed, outside it or too small to hold a
    readable mark; a US-Letter box if even the MediaBox is unusable."""
    media = _box(page, "/MediaBox")
    if media is None or media[2] - media[0] < 1 or media[3] - media[1] < 1:
        media = (0.0, 0.0, 612.0, 792.0)
    for key in ("/TrimBox", "/CropBox"):
        box = _box(page, key)
        if box is None:
            continue
        x0, y0 = max(box[0], media[0]), max(box[1], media[1])
        x1, y1 = min(box[2], media[2]), min(box[3], media[3])
        if x1 - x0 >= MIN_BOX and y1 - y0 >= MIN_BOX:
            return x0, y0, x1, y1
    return media


def _rotation(page: pikepdf.Page) -> int:
    """The page's /Rotate in degrees; 0 when it is not a multiple of 90 (``/Rotate /Ninety``)."""
    value = page.obj.get("/Rotate", 0)
    if isinstance(value, pikepdf.Name | pikepdf.String | pikepdf.Array | pikepdf.Dictionary):
        return 0
    number = _number(value)
    if number is None or number != int(number) or int(number) % 90:
        return 0
    return int(number) % 360


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
    with pikepdf.open(io.BytesIO(data)) as pdf:
        sanitise(pdf)
        placements = []
        sizes: dict[tuple[int, int], int] = {}
        for page in pdf.pages:
            # The visible area: a viewer shows the CropBox (the MediaBox when there is none), so a
            # mark placed by the MediaBox of a cropped page could fall outside what anyone sees.
            x0, y0, x1, y1 = _visible_box(page)
            width, height = x1 - x0, y1 - y0
            # qpdf places the overlay upright on a rotated page; draw it in the page's displayed
            # proportions so it is not shrunk to fit sideways.
            if _rotation(page) % 180 == 90:
                width, height = height, width
            key = _size_key(width, height)
            sizes.setdefault(key, len(sizes))
            placements.append((page, key, pikepdf.Rectangle(x0, y0, x1, y1)))
        canonical = [(math.exp(w * _STEP), math.exp(h * _STEP)) for w, h in sizes]
        with _overlays(canonical, diagonal, footer, font_path) as overlays:
            # One foreign document: qpdf copies the shared font once for all the forms.
            forms = {key: pdf.copy_foreign(overlays.pages[index].as_form_xobject())
                     for key, index in sizes.items()}
        for page, key, rect in placements:
            _place_overlay(pdf, page, forms[key], rect)
        out = io.BytesIO()
        pdf.save(out, compress_streams=True, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()
