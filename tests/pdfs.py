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
