"""Real PDFs for tests, made with reportlab (with a Unicode font) and pikepdf."""

from __future__ import annotations

import io

import pikepdf
from django.conf import settings
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

_FONT = "TestDejaVu"


def _font() -> str:
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT, settings.WATERMARK_FONT))
    return _FONT


def make_pdf(lines: list[str] | None = None, pages: int = 1, size=(595, 842)) -> bytes:
    """A plain PDF with the given lines on each page (A4 by default)."""
    lines = lines or ["Dự thảo Nghị định quy định chi tiết", "Điều 1. Phạm vi điều chỉnh"]
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=size)
    font = _font()
    for page in range(pages):
        c.setFont(font, 12)
        y = size[1] - 72
        for line in lines:
            c.drawString(72, y, line)
            y -= 18
        c.drawString(72, 40, f"Trang {page + 1}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def _modify(data: bytes, change) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def pdf_with_javascript() -> bytes:
    def change(pdf):
        action = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")))
        pdf.Root.OpenAction = action
    return _modify(make_pdf(), change)


def pdf_with_launch_action() -> bytes:
    def change(pdf):
        pdf.Root.OpenAction = pdf.make_indirect(
            pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")))
    return _modify(make_pdf(), change)


def pdf_with_embedded_file() -> bytes:
    def change(pdf):
        pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(
            pdf, b"MZ payload", mime_type="application/octet-stream")
    return _modify(make_pdf(), change)


def encrypted_pdf() -> bytes:
    with pikepdf.open(io.BytesIO(make_pdf())) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(owner="owner-secret", user="", R=6))
    return out.getvalue()


def truncated_pdf() -> bytes:
    data = make_pdf(pages=3)
    return data[: len(data) // 2]


def state_secret_pdf(mark: str = "TỐI MẬT") -> bytes:
    return make_pdf([mark, "Báo cáo về tình hình quốc phòng", "Nội dung"])


# Active content hidden in direct (not indirect) objects, as real-world PDFs carry it: a link
# annotation's /A action, a page's /AA open action, a direct /OpenAction in the catalog.

def pdf_with_link_launch_action() -> bytes:
    def change(pdf):
        link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[72, 72, 300, 100],
                                  A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")))
        pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link)]))
    return _modify(make_pdf(), change)


def pdf_with_page_open_javascript() -> bytes:
    def change(pdf):
        pdf.pages[0].obj.AA = pikepdf.Dictionary(
            O=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")))
    return _modify(make_pdf(), change)


def pdf_with_direct_javascript_open_action() -> bytes:
    def change(pdf):
        pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    return _modify(make_pdf(), change)


# Damaged files. qpdf repairs some damage that pypdf does not, and both raise many kinds of errors
# on the rest: every one must end as a clear refusal or a file that can be watermarked and served.

def pdf_with_broken_startxref() -> bytes:
    """The pointer to the cross-reference table is garbled: qpdf rebuilds the table, pypdf gives up."""
    data = make_pdf(["Tờ trình có bảng tham chiếu hỏng"])
    at = data.rindex(b"startxref\n")
    return data[:at] + b"startxref \nzz\n" + data[at + len(b"startxref\n"):]


def pdf_with_non_utf8_name() -> bytes:
    """A /Type name whose bytes are not UTF-8 (legal PDF, but not a Python str)."""
    def change(pdf):
        pdf.Root.Extra = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name("/Barr")))
    return _modify(make_pdf(), change).replace(b"/Barr", b"/B#b8")


def pdf_with_undecodable_page() -> bytes:
    """A page whose content stream claims FlateDecode but is not deflated data."""
    with pikepdf.open(io.BytesIO(make_pdf())) as pdf:
        stream = pikepdf.Stream(pdf, b"")
        stream.write(b"this is not zlib data at all", filter=pikepdf.Name.FlateDecode)
        pdf.pages[0].obj.Contents = stream
        out = io.BytesIO()
        pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


def mutated_pdfs(count: int, seed: int = 2) -> list[bytes]:
    """Deterministic random damage (byte flips and cut-outs) to a real two-page PDF."""
    import random

    base = make_pdf(pages=2)
    rng = random.Random(seed)
    results = []
    for _ in range(count):
        data = bytearray(base)
        for _flip in range(rng.choice([1, 5, 50, 500])):
            data[rng.randrange(20, len(data) - 10)] = rng.randrange(256)
        if rng.random() < 0.3:
            start = rng.randrange(20, len(data) - 100)
            del data[start:start + rng.randrange(1, 2000)]
        results.append(bytes(data))
    return results
