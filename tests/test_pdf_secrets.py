"""State-secret stamps (issue #14 §4): a table of what is and is not a stamp, read as the pure rule
(``meetings.pdf_secrets``), then through real PDFs and the upload API."""

from __future__ import annotations

import unicodedata

import pytest

from meetings.pdf_secrets import find_secret_mark

from .pdfs import make_pdf
from .test_api_documents import post_document, stored_state

NFD = unicodedata.normalize("NFD", "TUYỆT MẬT")

STAMPS = [
    # (case, pages' text, expected (mark, page) or None)
    ("MẬT alone on a line", ["CHÍNH PHỦ\nMẬT\nTờ trình"], ("MẬT", 1)),
    ("Mật alone on a line", ["Mật\nTờ trình"], ("MẬT", 1)),
    ("TỐI MẬT on page 2", ["Tờ trình", "TỐI MẬT\nPhụ lục"], ("TỐI MẬT", 2)),
    ("Tuyệt mật in title case", ["Tuyệt mật"], ("TUYỆT MẬT", 1)),
    ("Độ mật: TUYỆT MẬT", ["Số: 12/TTr-BQP\nĐộ mật: TUYỆT MẬT"], ("TUYỆT MẬT", 1)),
    ("ĐỘ MẬT: MẬT", ["ĐỘ MẬT: MẬT"], ("MẬT", 1)),
    ("NFD-decomposed", [NFD], ("TUYỆT MẬT", 1)),
    ("two spaces", ["TỐI  MẬT"], ("TỐI MẬT", 1)),
    ("letter-spaced", ["T U Y Ệ T   M Ậ T"], ("TUYỆT MẬT", 1)),
    ("letter-spaced, single spaces", ["T Ố I M Ậ T"], ("TỐI MẬT", 1)),
    ("in a box of asterisks", ["*** MẬT ***"], ("MẬT", 1)),
    ("with a zero-width space", ["TỐI\u200bMẬT"], ("TỐI MẬT", 1)),
    ("with a non-breaking space", ["TUYỆT\u00a0MẬT"], ("TUYỆT MẬT", 1)),
    ("full-width letters", ["ＭẬＴ"], ("MẬT", 1)),
    ("bảo mật in a sentence", ["Báo cáo về công tác bảo mật thông tin"], None),
    ("mật khẩu in a sentence", ["Người dùng phải đổi mật khẩu ba tháng một lần"], None),
    ("bí mật kinh doanh in a sentence", ["Thông tin là bí mật kinh doanh của doanh nghiệp"], None),
    ("the word MẬT inside a sentence", ["Tài liệu MẬT phải được bảo quản"], None),
    ("bảo vệ bí mật nhà nước", ["Báo cáo về công tác bảo vệ bí mật nhà nước"], None),
    ("bảo mật alone on a line", ["bảo mật"], None),
    ("a sentence wrapped onto its last word", ["Các cơ quan phải giữ bí\nmật."], None),
    ("Độ mật with no degree", ["Độ mật:"], None),
]


@pytest.mark.parametrize(("case", "pages", "expected"), STAMPS, ids=[c[0] for c in STAMPS])
def test_it_finds_a_stamp_and_only_a_stamp(case, pages, expected):
    assert find_secret_mark(pages) == expected


PDF_STAMPS = [
    ("TỐI MẬT on page 2", [["Tờ trình"], ["TỐI MẬT", "Phụ lục"]], "TỐI MẬT"),
    ("Độ mật: TUYỆT MẬT", [["Số: 12/TTr-BQP", "Độ mật: TUYỆT MẬT"]], "TUYỆT MẬT"),
    ("NFD-decomposed", [[NFD, "Nội dung"]], "TUYỆT MẬT"),
    ("letter-spaced", [["T U Y Ệ T   M Ậ T", "Nội dung"]], "TUYỆT MẬT"),
    ("Mật alone", [["Mật", "Nội dung"]], "MẬT"),
]


def _pdf(pages: list[list[str]]) -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for lines in pages:
        writer.append(io.BytesIO(make_pdf(lines)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(("case", "pages", "mark"), PDF_STAMPS, ids=[c[0] for c in PDF_STAMPS])
def test_it_refuses_an_upload_stamped_anywhere_citing_the_law(cast, settings, case, pages, mark):
    before = stored_state(settings)
    response = post_document(cast.client(cast.secretary), cast.item, _pdf(pages))
    assert (response.status_code, response.json()["code"]) == (422, "state_secret")
    assert mark in response.json()["detail"]
    assert stored_state(settings) == before


def test_it_accepts_secrecy_words_inside_sentences(cast):
    data = _pdf([["Báo cáo về công tác bảo mật thông tin"],
                 ["Người dùng phải đổi mật khẩu ba tháng một lần", "Thông tin là bí mật kinh doanh của doanh nghiệp"]])
    assert post_document(cast.client(cast.secretary), cast.item, data).status_code == 201
