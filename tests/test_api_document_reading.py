"""Reading documents through API v1 (issue #2 §4–5): personal watermarks on every page, numbered
copies, read receipts with "new"/"updated" marks, and the comparison of versions."""

from __future__ import annotations

import hashlib
import io

import pytest

from ecabinet.models import AuditEntry, Ministry
from meetings.models import Document, DocumentCopy, ReadReceipt

from .pdfs import make_pdf
from .test_api_documents import page_texts, post_document, post_version


@pytest.fixture
def three_pages(cast):
    """A three-page internal document, the session published, member01 working for a real ministry."""
    ministry = Ministry.objects.create(code="mof", name="Bộ Tài chính", name_en="Ministry of Finance")
    cast.member.ministry = ministry
    cast.member.save(update_fields=["ministry"])
    data = make_pdf(["Dự thảo Nghị định về thuế thu nhập", "Điều 1. Phạm vi"], pages=3)
    response = post_document(cast.client(cast.secretary), cast.item, data, title="Dự thảo Nghị định về thuế")
    assert response.status_code == 201
    cast.set_status("published")
    return Document.objects.get(pk=response.json()["id"]), data


def test_it_watermarks_every_page_with_the_readers_name_ministry_time_and_copy_number(cast, three_pages):
    document, original = three_pages
    response = cast.client(cast.member).get(f"/api/v1/documents/{document.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    pages = page_texts(response.content)
    assert len(pages) == 3
    for number, text in enumerate(pages, start=1):
        assert "Hồ Văn Bách" in text, f"page {number}: {text!r}"
        assert "Bộ Tài chính" in text, f"page {number}"
        assert "UTC" in text, f"page {number}"
        assert "Bản số 1" in text, f"page {number}"
        assert f"Trang {number}" in text  # the original content is still there
    assert response.content != original


def test_it_numbers_each_copy_and_never_changes_the_stored_file(cast, three_pages):
    document, original = three_pages
    client = cast.client(cast.member)
    first = client.get(f"/api/v1/documents/{document.pk}/download/")
    second = client.get(f"/api/v1/documents/{document.pk}/download/")
    assert all("Bản số 1" in text for text in page_texts(first.content))
    assert all("Bản số 2" in text for text in page_texts(second.content))
    assert list(DocumentCopy.objects.filter(version__document=document).values_list("number", "user__username")
                .order_by("number")) == [(1, "member01"), (2, "member01")]
    version = document.current_version
    with version.file.open("rb") as handle:
        stored = handle.read()
    assert stored == original
    assert hashlib.sha256(stored).hexdigest() == version.sha256
    downloads = AuditEntry.objects.filter(action="document.downloaded", object_id=str(document.pk))
    assert [entry.data["copy"] for entry in downloads.order_by("seq")] == [1, 2]


def test_it_watermarks_each_reader_with_their_own_name(cast, three_pages):
    document, _ = three_pages
    response = cast.client(cast.member2).get(f"/api/v1/documents/{document.pk}/download/")
    for text in page_texts(response.content):
        assert "Nguyễn Thị Mai Sương" in text
        assert "Hồ Văn Bách" not in text


def test_it_draws_the_watermark_inside_the_visible_area_of_a_cropped_page(settings):
    """A viewer shows only the CropBox: the mark is placed over it, not over the larger MediaBox
    (where the footer line, 8 pt above the MediaBox's bottom edge, would be cut off)."""
    import pikepdf

    from meetings.watermark import watermark_pdf

    with pikepdf.open(io.BytesIO(make_pdf())) as pdf:
        pdf.pages[0].obj.CropBox = [60, 60, 535, 782]
        out = io.BytesIO()
        pdf.save(out)
    marked = watermark_pdf(out.getvalue(), full_name="Hồ Văn Bách", ministry="Bộ Tài chính",
                           issued_utc="2025-01-01 08:00 UTC", copy_number=1, font_path=settings.WATERMARK_FONT)
    with pikepdf.open(io.BytesIO(marked)) as pdf:
        page = pdf.pages[0]
        placements = []
        matrix = [1, 0, 0, 1, 0, 0]
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) == "cm":
                matrix = [float(v) for v in operands]
            elif str(operator) == "Do":
                placements.append((matrix, [float(v) for v in page.Resources.XObject[operands[0]].BBox]))
    ((a, b, c, d, e, f), (x0, y0, x1, y1)), = placements
    # Overlays come in page-size steps of 2 % and are scaled onto the page (by at most 1 %).
    assert (b, c) == (0, 0) and abs(a - 1) < 0.011 and abs(d - 1) < 0.011
    placed = (e + a * x0, f + d * y0, e + a * x1, f + d * y1)
    assert placed[0] >= 59.99 and placed[1] >= 59.99 and placed[2] <= 535.01 and placed[3] <= 782.01
    assert placed[2] - placed[0] > 0.98 * 475 and placed[3] - placed[1] > 0.98 * 722


def test_it_serves_an_earlier_version_on_request_and_refuses_a_bad_version_number(cast, three_pages):
    document, _ = three_pages
    post_version(cast.client(cast.secretary), document, make_pdf(["Bản sửa đổi"]))
    client = cast.client(cast.member)
    earlier = client.get(f"/api/v1/documents/{document.pk}/download/?version=1")
    assert earlier.status_code == 200
    assert "Dự thảo Nghị định về thuế thu nhập" in page_texts(earlier.content)[0]
    assert client.get(f"/api/v1/documents/{document.pk}/download/?version=9").status_code == 404
    bad = client.get(f"/api/v1/documents/{document.pk}/download/?version=abc")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_version")


# --- read receipts and "what changed" ---------------------------------------------------------------

def _doc_flags(client, meeting, document) -> dict:
    detail = client.get(f"/api/v1/meetings/{meeting.pk}/").json()
    (doc,) = [d for item in detail["agenda"] for d in item["documents"] if d["id"] == document.pk]
    return {"is_new": doc["is_new"], "is_updated": doc["is_updated"], "version": doc["version"]}


def test_it_marks_a_document_new_until_read_and_updated_when_a_new_version_arrives(cast):
    cast.set_status("published")
    member = cast.client(cast.member)
    document = cast.internal_doc
    assert _doc_flags(member, cast.meeting, document) == {"is_new": True, "is_updated": False, "version": 1}
    member.get(f"/api/v1/documents/{document.pk}/download/")
    assert _doc_flags(member, cast.meeting, document) == {"is_new": False, "is_updated": False, "version": 1}
    receipt = ReadReceipt.objects.get(user=cast.member, version__document=document)
    assert (receipt.version.number, receipt.open_count) == (1, 1)

    post_version(cast.client(cast.secretary), document, make_pdf(["Tờ trình", "Bổ sung Điều 5"]))
    assert _doc_flags(member, cast.meeting, document) == {"is_new": False, "is_updated": True, "version": 2}
    # member02 never opened it: new, not "updated".
    assert _doc_flags(cast.client(cast.member2), cast.meeting, document)["is_new"] is True

    member.get(f"/api/v1/documents/{document.pk}/download/")
    assert _doc_flags(member, cast.meeting, document) == {"is_new": False, "is_updated": False, "version": 2}


def test_it_updates_the_receipt_on_every_opening(cast):
    cast.set_status("published")
    member = cast.client(cast.member)
    for _ in range(3):
        member.get(f"/api/v1/documents/{cast.public_doc.pk}/download/")
    receipt = ReadReceipt.objects.get(user=cast.member, version=cast.public_doc.current_version)
    assert receipt.open_count == 3
    assert receipt.last_opened_at >= receipt.first_opened_at


def test_it_shows_the_secretariat_who_has_read_what(cast):
    cast.set_status("published")
    cast.client(cast.member).get(f"/api/v1/documents/{cast.internal_doc.pk}/download/")
    response = cast.client(cast.secretary).get(f"/api/v1/meetings/{cast.meeting.pk}/read-receipts/")
    assert response.status_code == 200
    rows = {row["document"]: row for row in response.json()["documents"]}
    readers = rows[cast.internal_doc.pk]["readers"]
    assert readers["member01"]["version"] == 1 and readers["member01"]["open_count"] == 1
    assert readers["member02"] is None


def test_it_compares_two_versions_line_by_line(cast):
    client = cast.client(cast.secretary)
    v1 = make_pdf(["Điều 1. Phạm vi điều chỉnh", "Điều 2. Đối tượng áp dụng", "Điều 3. Hiệu lực"])
    document = Document.objects.get(pk=post_document(client, cast.item, v1).json()["id"])
    v2 = make_pdf(["Điều 1. Phạm vi điều chỉnh", "Điều 2. Đối tượng áp dụng là tổ chức, cá nhân",
                   "Điều 3. Hiệu lực", "Điều 4. Trách nhiệm thi hành"])
    assert post_version(client, document, v2).status_code == 201
    cast.set_status("published")
    response = cast.client(cast.member).get(f"/api/v1/documents/{document.pk}/compare/")
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"]) == (1, 2)
    changes = {(c["op"], c["text"]) for c in body["changes"]}
    assert changes == {("removed", "Điều 2. Đối tượng áp dụng"),
                       ("added", "Điều 2. Đối tượng áp dụng là tổ chức, cá nhân"),
                       ("added", "Điều 4. Trách nhiệm thi hành")}
    assert (body["added"], body["removed"]) == (2, 1)
    explicit = cast.client(cast.member).get(f"/api/v1/documents/{document.pk}/compare/?from=2&to=1").json()
    assert (explicit["added"], explicit["removed"]) == (1, 2)
    missing = cast.client(cast.member).get(f"/api/v1/documents/{document.pk}/compare/?from=1&to=7")
    assert missing.status_code == 404


def test_it_compares_nothing_for_a_document_with_one_version(cast):
    response = cast.client(cast.secretary).get(f"/api/v1/documents/{cast.public_doc.pk}/compare/")
    assert response.status_code == 200
    assert response.json()["changes"] == [] and response.json()["from"] is None
