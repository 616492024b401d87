"""PDF admission that cannot stall the service (issue #14 §2, §7): decompression bombs, complexity,
process limits, truncated files — each refused with its own code, nothing stored, and no database
lock held while a file is inspected.

The hostile files are made here: zeros deflated with ``zlib.compressobj`` block by block (so a
1 GiB stream costs the test ~1 MB of memory), put into PDFs with pikepdf and saved without
decoding.
"""

from __future__ import annotations

import io
import os
import threading
import time
import zlib
from pathlib import Path

import pikepdf
import pytest
from django.db import connection, transaction
from django.test import override_settings

from ecabinet.errors import UploadRejected
from meetings.models import Meeting
from meetings.pdfcheck import inspect_pdf
from meetings.watermark import watermark_pdf

from .pdfs import make_pdf
from .test_api_documents import post_document, post_version, stored_state

MB = 1024 * 1024


def deflated_zeros(size: int) -> bytes:
    """``size`` zero bytes, deflated a megabyte at a time."""
    compressor, block, parts = zlib.compressobj(6), bytes(MB), []
    for _ in range(size // MB):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return b"".join(parts)


def pdf_of_pages(contents: list, *, extra=None) -> bytes:
    """A PDF whose page ``i`` draws ``contents[i]`` — raw Flate bytes, or the same ``pikepdf``
    stream shared by several pages (a list item ``"shared"`` reuses the first stream)."""
    pdf = pikepdf.new()
    first = None
    for raw in contents:
        pdf.add_blank_page(page_size=(595, 842))
        if raw == "shared":
            stream = first
        else:
            stream = pikepdf.Stream(pdf, b"")
            stream.write(raw, filter=pikepdf.Name.FlateDecode)
            first = first or stream
        pdf.pages[-1].obj.Contents = stream
    if extra:
        extra(pdf)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


def shared_bomb(pages: int = 50, decoded: int = 100 * MB) -> bytes:
    """The reported file: ~100 KB, ``pages`` pages sharing one stream that inflates to ``decoded``."""
    return pdf_of_pages([deflated_zeros(decoded)] + ["shared"] * (pages - 1))


def nested_pdf(depth: int) -> bytes:
    def nest(pdf):
        value = pikepdf.Array([1])
        for _ in range(depth):
            value = pikepdf.Array([value])
        pdf.Root.Deep = value
    return pdf_of_pages([zlib.compress(b"BT ET")], extra=nest)


def many_objects_pdf(count: int) -> bytes:
    def add(pdf):
        pdf.Root.Many = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(N=i)) for i in range(count)])
    return pdf_of_pages([zlib.compress(b"BT ET")], extra=add)


def lzw_pdf(raw_size: int) -> bytes:
    def add(pdf):
        stream = pikepdf.Stream(pdf, b"")
        stream.write(os.urandom(raw_size), filter=pikepdf.Name.LZWDecode)
        pdf.Root.Blob = stream
    return pdf_of_pages([zlib.compress(b"BT ET")], extra=add)


def long_paper(pages: int) -> bytes:
    """An honest but long paper: 40 full lines of text on every page (a few seconds to read)."""
    return make_pdf(["Dự thảo Nghị định quy định chi tiết một số điều của Luật Đất đai " * 2] * 40, pages=pages)


def truncated_with_eof() -> bytes:
    """A complete-looking file cut before its cross-reference table, with ``%%EOF`` put back: qpdf
    would rebuild the table from the objects it finds and say nothing."""
    data = make_pdf(pages=3)
    return data[: data.rindex(b"xref")] + b"%%EOF\n"


def truncated_update() -> bytes:
    """A file with an incremental update cut in the middle of that update, ``%%EOF`` appended:
    the first revision's trailer is still there to be found."""
    base = make_pdf(pages=2)
    with pikepdf.open(io.BytesIO(base)) as pdf:
        pdf.Root.Extra = pdf.make_indirect(pikepdf.Dictionary(Note=pikepdf.String("x" * 4000)))
        out = io.BytesIO()
        pdf.save(out)
        updated = out.getvalue()
    return updated[: len(updated) - 600] + b"\n%%EOF\n"


# --- bombs and limits through the API: the right code, nothing stored ----------------------------

HOSTILE = [
    # (case, maker, settings overrides, code)
    ("100 MB stream shared by 50 pages", shared_bomb, {}, "pdf_stream_too_large"),
    ("1 MB that inflates to 1 GiB", lambda: pdf_of_pages([deflated_zeros(1024 * MB)]), {}, "pdf_stream_too_large"),
    ("8 MB stream drawn by 40 pages", lambda: shared_bomb(40, 8 * MB), {"PDF_MAX_DECODED_BYTES": 200 * MB},
     "pdf_decoded_too_large"),
    ("objects nested 150 deep", lambda: nested_pdf(150), {}, "pdf_too_complex"),
    ("more objects than allowed", lambda: many_objects_pdf(3000), {"PDF_MAX_OBJECTS": 2000}, "pdf_too_complex"),
    ("LZW stream too large to bound", lambda: lzw_pdf(200_000), {}, "pdf_unsupported_filter"),
    ("truncated before the xref, %%EOF appended", truncated_with_eof, {}, "pdf_truncated"),
    ("truncated incremental update, %%EOF appended", truncated_update, {}, "pdf_truncated"),
    ("inspection over its CPU limit", lambda: long_paper(300), {"PDF_INSPECT_CPU_SECONDS": 1},
     "pdf_inspection_timeout"),
    ("inspection over its wall-clock limit", lambda: long_paper(300), {"PDF_INSPECT_TIMEOUT_SECONDS": 1},
     "pdf_inspection_timeout"),
    # A page whose content (32 MB of spaces, within every stream and total limit) must be held whole
    # to read its text: the child's address space, set to 40 MB (less than the interpreter already
    # maps), refuses the allocation.
    ("inspection over its memory limit", lambda: pdf_of_pages([deflated_zeros(32 * MB)]),
     {"PDF_INSPECT_MEMORY_MB": 40}, "pdf_inspection_memory"),
]


@pytest.mark.parametrize(("case", "maker", "overrides", "code"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_it_refuses_a_hostile_document_with_its_own_code_and_stores_nothing(cast, settings, case, maker,
                                                                             overrides, code):
    data = maker()
    for name, value in overrides.items():
        setattr(settings, name, value)
    before = stored_state(settings)
    response = post_document(cast.client(cast.secretary), cast.item, data)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "detail"} and len(body["detail"]) > 30
    assert stored_state(settings) == before


def test_it_refuses_a_bomb_as_a_new_version_and_keeps_the_current_one(cast, settings):
    before = stored_state(settings)
    response = post_version(cast.client(cast.secretary), cast.internal_doc, shared_bomb())
    assert (response.status_code, response.json()["code"]) == (422, "pdf_stream_too_large")
    assert stored_state(settings) == before


def test_it_measures_a_gigabyte_bomb_in_bounded_time_and_memory():
    """The child stops inflating at the per-stream limit: a 1 GiB stream costs well under the
    memory limit (an unbounded decoder would need 1 GiB and be killed) and a second or two."""
    data = pdf_of_pages([deflated_zeros(1024 * MB)])
    started = time.monotonic()
    with pytest.raises(UploadRejected) as refused, override_settings(PDF_INSPECT_MEMORY_MB=300):
        inspect_pdf(data)
    assert refused.value.code == "pdf_stream_too_large"
    assert time.monotonic() - started < 10


# --- what is still accepted ----------------------------------------------------------------------

def test_it_accepts_real_documents_from_each_producer(cast):
    import weasyprint

    html = "".join(f"<h2>Điều {i}</h2><p>{'Nội dung quy định chi tiết. ' * 40}</p>" for i in range(1, 30))
    for data in (make_pdf(pages=20), weasyprint.HTML(string=html).write_pdf(),
                 pdf_of_pages([zlib.compress(b"BT /F1 12 Tf 72 720 Td (Trang) Tj ET")] * 3)):
        response = post_document(cast.client(cast.secretary), cast.item, data)
        assert response.status_code == 201, response.content


def test_it_accepts_a_large_but_honest_stream(settings):
    """Within the limits, a big stream is fine: 30 MB of page content on one page."""
    facts = inspect_pdf(pdf_of_pages([deflated_zeros(30 * MB)]))
    assert facts.pages == 1 and facts.decoded_bytes >= 30 * MB


# --- no lock held during inspection --------------------------------------------------------------

def _inspecting_children() -> list[int]:
    """Our child processes that are running the PDF inspector."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"pdf_worker.py" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.django_db(transaction=True)
def test_it_holds_no_database_lock_while_a_slow_upload_is_inspected(cast):
    """A one-row write made while a 400-page upload is being inspected does not wait for it (on
    SQLite, whose IMMEDIATE transactions take the one writer lock at BEGIN, it used to wait
    seconds, or fail with "database is locked")."""
    data = long_paper(400)
    responses = []

    def upload():
        try:
            responses.append(post_document(cast.client(cast.secretary), cast.item, data))
        finally:
            connection.close()

    thread = threading.Thread(target=upload)
    thread.start()
    deadline = time.monotonic() + 30
    while not _inspecting_children() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _inspecting_children(), "the inspection never started"
    started = time.monotonic()
    with transaction.atomic():
        Meeting.objects.filter(pk=cast.meeting.pk).update(location="Phòng họp số 2")
    waited = time.monotonic() - started
    still_inspecting = bool(_inspecting_children())
    thread.join(timeout=120)
    assert still_inspecting, "the upload finished before the write: the test proved nothing"
    assert waited < 0.5
    assert responses and responses[0].status_code == 201, responses and responses[0].content


# --- watermarking decodes nothing ------------------------------------------------------------------

def test_it_watermarks_without_decoding_or_recompressing_page_content(settings):
    """The served copy keeps the stored stream's raw bytes: qpdf copied them, it did not inflate
    60 MB and deflate them again (which took 45 s for the reported bomb)."""
    raw = deflated_zeros(60 * MB)
    data = pdf_of_pages([raw] + ["shared"] * 9)
    started = time.monotonic()
    served = watermark_pdf(data, full_name="Hồ Văn Bách", ministry="Bộ Tài chính",
                           issued_utc="2025-01-01 08:00 UTC", copy_number=1, font_path=settings.WATERMARK_FONT)
    elapsed = time.monotonic() - started
    with pikepdf.open(io.BytesIO(served)) as pdf:
        assert len(pdf.pages) == 10
        raws = [s.read_raw_bytes() for page in pdf.pages for s in page.obj.Contents]
        assert sum(r == raw for r in raws) == 10  # the original stream, shared, untouched
    assert len(served) < len(data) + 200_000
    assert elapsed < 5


# --- inspections cannot take every request thread (fix-pdf) ----------------------------------------

def test_an_upload_waits_briefly_for_a_busy_inspector_then_is_told_when_to_retry(cast, settings):
    """All inspection slots taken: the upload's request thread waits PDF_INSPECT_QUEUE_SECONDS,
    not the whole inspection timeout (90 s held one of the 4 request threads per queued upload),
    then answers 503 with Retry-After; nothing is stored."""
    from meetings.pdfcheck import _slot, inspect_concurrency

    settings.PDF_INSPECT_QUEUE_SECONDS = 1
    slot = _slot()
    held = 0
    while slot.acquire(blocking=False):
        held += 1
    assert held == inspect_concurrency()
    before = stored_state(settings)
    started = time.monotonic()
    try:
        response = post_document(cast.client(cast.secretary), cast.item, make_pdf())
    finally:
        for _ in range(held):
            slot.release()
    assert time.monotonic() - started < 5
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "pdf_inspection_busy"
    assert int(response["Retry-After"]) >= 1
    assert stored_state(settings) == before


@pytest.mark.parametrize(("http_threads", "configured", "expected"), [(4, 2, 2), (4, 8, 2), (2, 2, 1), (1, 4, 1),
                                                                      (16, 3, 3)])
def test_inspections_never_take_more_than_half_the_request_threads(settings, http_threads, configured, expected):
    from meetings.pdfcheck import inspect_concurrency

    settings.HTTP_MAX_CONCURRENCY = http_threads
    settings.PDF_INSPECT_CONCURRENCY = configured
    assert inspect_concurrency() == expected


def tounicode_bomb(pages: int = 10, kb: int = 8000) -> bytes:
    """Every page uses one font whose ToUnicode CMap decodes to ``kb`` KB (the reported file: text
    extraction parsed the shared map again for each page, 14 s for 10 pages)."""
    body = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <00> <FF> " \
           b"endcodespacerange\n"
    line = b"1 beginbfchar <41> <0041> endbfchar\n"
    body += line * (kb * 1024 // len(line)) + b"endcmap end end\n"

    def fonts(pdf):
        cmap = pdf.make_indirect(pikepdf.Stream(pdf, zlib.compress(body, 9)))
        cmap.Filter = pikepdf.Name.FlateDecode
        font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                    BaseFont=pikepdf.Name.Helvetica, ToUnicode=cmap))
        resources = pdf.make_indirect(pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)))
        for page in pdf.pages:
            page.obj.Resources = resources

    return pdf_of_pages([zlib.compress(b"BT /F1 12 Tf 50 700 Td (A) Tj ET")] + ["shared"] * (pages - 1),
                        extra=fonts)


def test_it_refuses_a_character_map_shared_by_pages_quickly():
    started = time.monotonic()
    with pytest.raises(UploadRejected) as refused:
        inspect_pdf(tounicode_bomb())
    assert refused.value.code == "pdf_too_complex"
    assert time.monotonic() - started < 6


def test_it_accepts_an_ordinary_character_map_on_every_page():
    facts = inspect_pdf(tounicode_bomb(pages=50, kb=4))
    assert facts.pages == 50 and "A" in facts.text


# --- a passing file cannot make each download slow or huge (fix-pdf) --------------------------------

def _mark(data: bytes, settings) -> tuple[bytes, float]:
    started = time.monotonic()
    served = watermark_pdf(data, full_name="Hồ Văn Bách", ministry="Bộ Tài chính",
                           issued_utc="2025-01-01 08:00 UTC", copy_number=1, font_path=settings.WATERMARK_FONT)
    return served, time.monotonic() - started


def test_pages_of_many_sizes_share_one_font_and_few_overlays(settings):
    """2,000 pages, each of its own size: one overlay (with its own embedded font) per size made a
    46 MB copy in 17-22 s."""
    pdf = pikepdf.new()
    for i in range(2000):
        pdf.add_blank_page(page_size=(200 + i * 0.5 + 0.5 * (i % 2), 300 + i))
    out = io.BytesIO()
    pdf.save(out)
    served, elapsed = _mark(out.getvalue(), settings)
    assert len(served) < 3 * MB and elapsed < 8
    with pikepdf.open(io.BytesIO(served)) as copy:
        fonts = [o for o in copy.objects if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/FontDescriptor"]
        forms = {o.objgen for o in copy.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Form"}
        assert len(fonts) <= 2 and len(forms) < 300


def test_a_million_unreachable_objects_do_not_slow_each_download(settings):
    """The sanitiser walks what can hold actions, not every object (990,000 objects: 23-32 s and
    +500 MB per download when it walked them all in Python)."""
    data = many_objects_pdf(300_000)
    served, elapsed = _mark(data, settings)
    assert elapsed < 6
    with pikepdf.open(io.BytesIO(served)) as copy:
        assert len(copy.pages) == 1


@pytest.mark.parametrize(("key", "value"), [("/TrimBox", pikepdf.Name("/X")),
                                            ("/TrimBox", pikepdf.Array([0, 0, 1, 1])),
                                            ("/CropBox", pikepdf.Array([5000, 5000, 6000, 6000])),
                                            ("/Rotate", pikepdf.Name("/Ninety")),
                                            ("/Rotate", 45)])
def test_a_page_box_or_rotation_that_makes_no_sense_still_gets_a_visible_mark(settings, key, value):
    def change(pdf):
        pdf.pages[0].obj[key] = value
    data = pdf_of_pages([zlib.compress(b"BT ET")], extra=change)
    served, _ = _mark(data, settings)
    with pikepdf.open(io.BytesIO(served)) as copy:
        placement = copy.pages[0].obj.Contents[-1].read_bytes()
    tokens = placement.split()
    matrix = [float(t) for t in tokens[tokens.index(b"cm") - 6:tokens.index(b"cm")]]
    scale = max(abs(matrix[0]), abs(matrix[1]))
    assert scale > 0.5, placement  # drawn across the 595x842 page, not into a 1x1 pt box


@pytest.mark.parametrize(("key", "value"), [("/Rotate", pikepdf.Name("/Ninety")), ("/Rotate", 45),
                                            ("/TrimBox", pikepdf.Name("/X")),
                                            ("/CropBox", pikepdf.Array([0, 0, 0, 0]))])
def test_it_refuses_a_page_whose_box_or_rotation_is_not_valid(key, value):
    def change(pdf):
        pdf.pages[0].obj[key] = value
    with pytest.raises(UploadRejected) as refused:
        inspect_pdf(pdf_of_pages([zlib.compress(b"BT ET")], extra=change))
    assert refused.value.code == "pdf_damaged"
    assert "Page 1" in str(refused.value.message) or "Trang 1" in str(refused.value.message)
