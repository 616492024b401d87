"""The summary as a PDF: the administrative layout, the rule on silence stated either way, a
provisional mark before the close — and hostile text (titles, questions, opinions) printed as text,
with the renderer never asked to fetch anything but the bundled fonts."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from ecabinet.pdf import STATIC_DIR, StaticFilesOnly
from voting import pdf as ballot_pdf
from voting.ballot_summary import summarize
from voting.services import ballots as services

HOSTILE_OPINION = ('<img src="http://evil/x"> <link rel="stylesheet" href="file:///etc/passwd"> '
                   '<style>@import url(http://evil/y.css);</style> & "quoted"')
HOSTILE_TITLE = 'Dự thảo <script>alert(1)</script> <img src="https://evil.example/t.png">'


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


class Recording(StaticFilesOnly):
    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    def fetch(self, url: str, headers=None):
        self.seen.append(url)
        return super().fetch(url, headers)


@pytest.fixture
def fetched(monkeypatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(ballot_pdf, "make_fetcher", lambda: Recording(seen))
    return seen


def test_it_prints_hostile_text_as_text_and_fetches_only_the_bundled_fonts(bcast, clock, fetched):
    services.ballot_update(actor=bcast.secretary, ballot=bcast.ballot, title=HOSTILE_TITLE,
                           deadline=bcast.ballot.deadline, silence_is_consent=False)
    bcast.issue()
    bcast.answer(bcast.member, (0, "other", HOSTILE_OPINION), (1, "disagree", "</td></tr></table><h1>X</h1>"))
    clock.to(bcast.ballot.deadline)
    response = bcast.api(bcast.secretary).get(f"/api/v1/ballots/{bcast.ballot.pk}/summary.pdf")
    assert response.status_code == 200
    assert fetched, "the fonts are fetched through the fetcher"
    for url in fetched:
        assert url.startswith(STATIC_DIR.as_uri() + "/fonts/"), url
    assert not [u for u in fetched if "evil" in u or "passwd" in u]
    text = text_of(response.content).replace(" ", "")  # long opinions wrap anywhere
    for printed in ('<imgsrc="http://evil/x">', 'href="file:///etc/passwd">', "<script>alert(1)</script>",
                    "</td></tr></table><h1>X</h1>", "@importurl(http://evil/y.css);"):
        assert printed in text, printed


def test_it_returns_the_html_it_rendered_with_user_text_escaped(bcast, clock):
    bcast.issue()
    bcast.answer(bcast.member, (0, "other", HOSTILE_OPINION))
    pdf, html = ballot_pdf.render_summary_pdf(summarize(bcast.ballot, clock.now), generated_at=clock.now)
    assert pdf.startswith(b"%PDF-")
    assert '<img src="http://evil/x">' not in html
    assert "&lt;img src=&quot;http://evil/x&quot;&gt;" in html


def test_it_refuses_to_render_when_anything_would_fetch_outside_static(bcast, clock, monkeypatch):
    """The fetcher is a hard stop, not a filter: were a template ever to reference the network, the
    rendering fails rather than leaking a request."""
    from django.template import loader

    bcast.issue()
    original = loader.render_to_string
    monkeypatch.setattr(ballot_pdf, "render_to_string", lambda *a, **k: original(*a, **k).replace(
        "</body>", '<img src="http://evil/x"></body>'))
    from weasyprint.urls import FatalURLFetchingError  # a BaseException: it stops the rendering

    with pytest.raises(FatalURLFetchingError, match="http://evil/x") as refused:
        ballot_pdf.render_summary_pdf(summarize(bcast.ballot, clock.now), generated_at=clock.now)
    assert "refused" in str(refused.value.__cause__ or refused.value)


def test_it_states_that_silence_is_not_agreement_and_marks_an_open_ballot_provisional(bcast, clock):
    services.ballot_update(actor=bcast.secretary, ballot=bcast.ballot, title=bcast.ballot.title,
                           deadline=bcast.ballot.deadline, silence_is_consent=False)
    bcast.issue()
    bcast.answer(bcast.pm, (0, "agree", ""))
    response = bcast.api(bcast.secretary).get(f"/api/v1/ballots/{bcast.ballot.pk}/summary.pdf")
    text = text_of(response.content)
    assert "TẠM THỜI — PHIẾU CHƯA KẾT THÚC" in text
    assert "Im lặng không được tính là đồng ý" in text
    assert "Tán thành (kể cả không trả lời)" not in text
    assert "Đến thời điểm tổng hợp, 0/3 thành viên Chính phủ đã trả lời đầy đủ" in text
    summary = bcast.api(bcast.secretary).get(f"/api/v1/ballots/{bcast.ballot.pk}/summary/").json()
    assert summary["final"] is False and summary["questions"][0]["agree_with_silence"] is None
    assert summary["questions"][0]["counts"] == {"agree": 1, "disagree": 0, "other": 0, "not_answered": 2}


def test_it_lays_out_the_summary_as_an_administrative_document(bcast, clock):
    bcast.issue()
    clock.to(bcast.ballot.deadline + dt.timedelta(minutes=1))
    response = bcast.api(bcast.member).get(f"/api/v1/ballots/{bcast.ballot.pk}/summary.pdf")
    reader = PdfReader(io.BytesIO(response.content))
    first = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert first.index("VĂN PHÒNG CHÍNH PHỦ") < first.index("TỔNG HỢP Ý KIẾN THÀNH VIÊN CHÍNH PHỦ")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in first and "Độc lập - Tự do - Hạnh phúc" in first
    assert "Hà Nội, ngày" in first and "TẠM THỜI" not in first
    fonts = [f.get_object() for page in reader.pages for f in page["/Resources"]["/Font"].values()]
    assert fonts
    for font in fonts:  # the bundled fonts (the @font-face family "Doc Serif"), embedded
        assert "Doc-Serif" in str(font["/BaseFont"])
        descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)
        assert "/FontFile2" in descriptor["/FontDescriptor"] or "/FontFile3" in descriptor["/FontDescriptor"]
