"""The in-app reader on a long paper (issue 17): a 300-page PDF (text and a scanned-like image on every page,
made with reportlab like the other fixtures) is uploaded through the services into a session, and a
member opens it in Debian's Chromium (Playwright) through the real document page, served by Daphne.

Measured, each from the navigation's start to the reader's ``reader:page`` event of page 1 (canvas and
text layer drawn):
- ``first open``: the reader's copy is made at this request (watermarking all 300 pages, once);
- ``again``: the same member opens it again (the stored copy is reused, byte ranges only);
- ``jump``: then "go to page 150": from the Enter key to page 150 drawn.
``bytes``: what the browser received of the reader copy (every response body of ``/read/``, counted by
Chromium's network events, the dropped first request included) against the copy's size: PDF.js loads
the ranges of the pages it draws, never the whole file.
"""

from __future__ import annotations

import io
import time

from .common import table

NAME = "reader"
PAGES = 300
JUMP_TO = 150


def make_pdf(pages: int = PAGES) -> bytes:
    """A long government paper: a heading, 38 lines of Vietnamese text and a 'scanned' image a page."""
    import random

    from django.conf import settings
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "BenchDejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("BenchDejaVu", settings.WATERMARK_FONT))
    rng = random.Random(17)
    words = ["quy", "định", "chi", "tiết", "thi", "hành", "nghị", "hệ", "thống", "thông", "tin", "phục", "vụ",
             "họp", "và", "xử", "lý", "công", "việc", "của", "Chính", "phủ", "bộ", "cơ", "quan", "ngang", "trách",
             "nhiệm", "bảo", "đảm", "an", "toàn", "dữ", "liệu", "tài", "phiên"]
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(595, 842), pageCompression=1)
    for page in range(1, pages + 1):
        c.setFont("BenchDejaVu", 14)
        c.drawString(72, 780, f"Điều {page}. Nội dung thử tải của trang {page}")
        c.setFont("BenchDejaVu", 10.5)
        for line in range(38):
            c.drawString(72, 750 - line * 14, " ".join(rng.choice(words) for _ in range(13)))
        noise = Image.effect_noise((240, 160), 60 + page % 40).convert("RGB")
        image = io.BytesIO()
        noise.save(image, "JPEG", quality=70)
        image.seek(0)
        c.drawImage(ImageReader(image), 72, 60, width=240, height=160)
        c.drawString(72, 40, f"Trang {page}/{pages} — tài liệu thử tải")
        c.showPage()
    c.save()
    return buffer.getvalue()


def prepare() -> dict:
    """(In bench.fixtures' subprocess.) A session with member01 and the 300-page paper on its first item."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from meetings import services
    from meetings.models import AgendaItem

    from .fixtures import meeting

    room = meeting(title="Phiên họp thử đọc tài liệu dài", usernames=["pm", "member01"], items=1)
    secretary = get_user_model().objects.get(username="secretary")
    data = make_pdf()
    item = AgendaItem.objects.get(pk=room["items"][0])
    started = time.monotonic()
    document = services.document_upload(actor=secretary, item=item, title=f"Tài liệu thử đọc {PAGES} trang",
                                        classification="internal",
                                        upload=SimpleUploadedFile("dai.pdf", data, content_type="application/pdf"))
    return {"document": document.pk, "size": len(data), "pages": document.current_version.pages,
            "upload_seconds": round(time.monotonic() - started, 2)}


WAIT_PAGE = """(n) => new Promise((resolve) => {
  const reader = document.getElementById("reader");
  const done = () => resolve(performance.now());
  if (reader.querySelector(`.reader-page[data-page="${n}"].reader-page--rendered`)) return done();
  reader.addEventListener("reader:page", (e) => { if (e.detail.page === n) done(); });
})"""


def _open(page, url: str, received: dict) -> float:
    received.clear()
    page.goto(url, wait_until="commit")
    page.wait_for_function("() => document.getElementById('reader')?.classList.contains('reader--ready')",
                           timeout=180_000)
    return page.evaluate(WAIT_PAGE, 1) / 1000  # performance.now(): ms since the navigation started


def run(ctx) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    db = ctx.database("sqlite")
    prepared = db.fixtures("reader")
    cookie = db.fixtures("sessions", usernames=["member01"])["member01"]
    out = {"pages": prepared["pages"], "file_bytes": prepared["size"], "database": db.label, "runs": []}
    with ctx.server(db) as target, sync_playwright() as playwright:
        out["server"] = target.name
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="vi-VN")
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": target.http_url}])
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            reader_requests: set[str] = set()
            received = {"bytes": 0, "requests": 0, "ranges": 0}

            def on_request(event):
                if "/read/" in event["request"]["url"]:
                    reader_requests.add(event["requestId"])
                    received["requests"] = received.get("requests", 0) + 1
                    if "Range" in event["request"].get("headers", {}) or "range" in event["request"].get("headers", {}):
                        received["ranges"] = received.get("ranges", 0) + 1

            def on_data(event):
                if event["requestId"] in reader_requests:
                    received["bytes"] = received.get("bytes", 0) + event["dataLength"]

            cdp.on("Network.requestWillBeSent", on_request)
            cdp.on("Network.dataReceived", on_data)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            url = f"{target.http_url}/documents/{prepared['document']}/"
            for label in ("first open (copy made)", "again (copy reused)"):
                seconds = _open(page, url, received)
                page.wait_for_timeout(1500)  # late ranges (the next pages near the viewport) are counted too
                out["runs"].append({"label": label, "seconds": round(seconds, 3), "bytes": received.get("bytes", 0),
                                    "requests": received.get("requests", 0), "ranges": received.get("ranges", 0)})
                print(f"  {label}: page 1 in {seconds:.2f} s, {received.get('bytes', 0):,} bytes of the copy "
                      f"in {received.get('requests', 0)} requests", flush=True)
            before = dict(received)
            page.fill("#reader-page", str(JUMP_TO))
            started = page.evaluate("() => performance.now()")
            page.press("#reader-page", "Enter")
            ended = page.evaluate(WAIT_PAGE, JUMP_TO)
            page.wait_for_timeout(1500)
            out["runs"].append({"label": f"jump to page {JUMP_TO}", "seconds": round((ended - started) / 1000, 3),
                                "bytes": received.get("bytes", 0) - before.get("bytes", 0),
                                "requests": received.get("requests", 0) - before.get("requests", 0),
                                "ranges": received.get("ranges", 0) - before.get("ranges", 0)})
            out["total_bytes_after_jump"] = received.get("bytes", 0)
            out["copy_bytes"] = int(page.evaluate(
                "async (u) => (await fetch(u, {headers: {Range: 'bytes=0-0'}})).headers.get('content-range')"
                ".split('/')[1]", f"/documents/{prepared['document']}/read/1/"))
            out["console_errors"] = errors
        finally:
            browser.close()
    whole = out["copy_bytes"]
    out["ok"] = (not out["console_errors"] and all(r["bytes"] < whole for r in out["runs"])
                 and out["total_bytes_after_jump"] < whole)
    out["failure"] = None if out["ok"] else (f"console errors: {out['console_errors']}" if out["console_errors"]
                                             else "the reader loaded the whole file")
    return out


def report(payload: dict) -> str:
    whole = payload["copy_bytes"]
    rows = [[r["label"], round(r["seconds"] * 1000), r["requests"], r["ranges"], r["bytes"],
             f"{100 * r['bytes'] / whole:.1f} %"] for r in payload["runs"]]
    text = table(f"Reader — {payload['server']} on {payload['database']}; a {payload['pages']}-page paper "
                 f"({payload['file_bytes']:,} bytes; the reader's watermarked copy {whole:,} bytes), Chromium 1024×768",
                 ["step", "page drawn ms", "requests", "ranges", "bytes received", "of the copy"], rows)
    text += (f"\nAll three steps together: {payload['total_bytes_after_jump']:,} bytes = "
             f"{100 * payload['total_bytes_after_jump'] / whole:.1f} % of the copy")
    if not payload["ok"]:
        text += f"\nFAIL: {payload['failure']}"
    return text


def chart(payload: dict, info: dict):
    from .common import figure

    fig, (left, right) = figure(2, width=9)
    labels = [r["label"].replace(" (", "\n(") for r in payload["runs"]]
    left.bar(labels, [r["seconds"] * 1000 for r in payload["runs"]], color="#3182bd")
    left.set_ylabel("ms until the page is drawn")
    left.tick_params(axis="x", labelsize=7)
    whole = payload["copy_bytes"]
    right.bar([*labels, "whole copy"], [r["bytes"] / 1e6 for r in payload["runs"]] + [whole / 1e6],
              color=["#9ecae1"] * len(labels) + ["#de2d26"])
    right.set_ylabel("MB received")
    right.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"In-app reader, {payload['pages']}-page paper")
    return fig
