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
    ("MẬT alone in capitals", ["MẬT\nTờ trình"], ("MẬT", 1)),
    ("Độ mật: Mật in title case", ["Độ mật: Mật"], ("MẬT", 1)),
    ("TỐI MẬT with a full stop", ["TỐI MẬT."], ("TỐI MẬT", 1)),
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
    ("a wrapped sentence ending in tuyệt mật.", ["Tài liệu này thuộc danh mục bí mật nhà nước độ\ntuyệt mật."], None),
    ("a list item Mật (honey)", ["Nguyên liệu:\n- Mật\n- Gừng"], None),
    ("Mật alone in title case", ["Mật"], None),
    # Known false positive (pdf_secrets docstring): a table of documents counted by degree.
    ("a table of degrees", ["Độ mật\tSố văn bản\nTuyệt mật\n12\nTối mật\n40"], ("TUYỆT MẬT", 1)),
]


@pytest.mark.parametrize(("case", "pages", "expected"), STAMPS, ids=[c[0] for c in STAMPS])
def test_it_finds_a_stamp_and_only_a_stamp(case, pages, expected):
    assert find_secret_mark(pages) == expected


PDF_STAMPS = [
    ("TỐI MẬT on page 2", [["Tờ trình"], ["TỐI MẬT", "Phụ lục"]], "TỐI MẬT"),
    ("Độ mật: TUYỆT MẬT", [["Số: 12/TTr-BQP", "Độ mật: TUYỆT MẬT"]], "TUYỆT MẬT"),
    ("NFD-decomposed", [[NFD, "Nội dung"]], "TUYỆT MẬT"),
    ("letter-spaced", [["T U Y Ệ T   M Ậ T", "Nội dung"]], "TUYỆT MẬT"),
    ("MẬT alone", [["MẬT", "Nội dung"]], "MẬT"),
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


def _with_annotation(base: bytes, contents: str, subtype: str = "/Stamp") -> bytes:
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(base)) as pdf:
        annot = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name(subtype), Rect=[400, 780, 560, 820],
            Contents=pikepdf.String(contents)))
        pdf.pages[-1].obj.Annots = pikepdf.Array([annot])
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


@pytest.mark.parametrize("subtype", ["/Stamp", "/FreeText"])
def test_it_refuses_a_stamp_added_as_an_annotation(cast, settings, subtype):
    """A PDF editor's stamp tool puts the words in the annotation's /Contents, not the page text."""
    before = stored_state(settings)
    data = _with_annotation(_pdf([["Tờ trình"], ["Phụ lục"]]), "TUYỆT MẬT", subtype)
    response = post_document(cast.client(cast.secretary), cast.item, data)
    assert (response.status_code, response.json()["code"]) == (422, "state_secret")
    assert stored_state(settings) == before


def test_it_finds_a_stamp_behind_more_text_than_is_kept(cast, settings):
    """Padding a page with more text than is kept per page (PDF_MAX_PAGE_TEXT_CHARS) does not push
    the stamp out of sight: the whole page is read for it."""
    settings.PDF_MAX_PAGE_TEXT_CHARS = 500
    padding = [f"Dòng đệm văn bản số {n} của báo cáo tổng hợp." for n in range(40)]
    response = post_document(cast.client(cast.secretary), cast.item, _pdf([[*padding, "TỐI MẬT"]]))
    assert (response.status_code, response.json()["code"]) == (422, "state_secret")
