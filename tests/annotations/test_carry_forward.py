"""Carrying annotations forward to a new version (issue 17): each live annotation of the previous
version gets a copy on the new one, placed on the page where its quote is found (the same page
preferred), else "unplaced"; the search is bounded; the old version's annotations stay as they were."""

from __future__ import annotations

import io

import pytest
from reportlab.pdfgen import canvas

from ecabinet.models import AuditEntry
from meetings import services
from meetings.models import Annotation, Event
from meetings.services.annotations import normalise_quote

from ..conftest import upload
from ..pdfs import _font
from .conftest import listing

P1 = ["Dự thảo Nghị định quy định chi tiết", "Điều 1. Phạm vi điều chỉnh"]
P2 = ["Điều 2. Đối tượng áp dụng", "Cơ quan thuế các cấp"]
P3 = ["Điều 3. Giải thích từ ngữ", "Thuế suất ưu đãi"]


def pages_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with these lines on each page, one list per page."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(595, 842))
    for lines in pages:
        c.setFont(_font(), 12)
        y = 770
        for line in lines:
            c.drawString(72, y, line)
            y -= 18
        c.showPage()
    c.save()
    return buffer.getvalue()


@pytest.fixture
def paper(room):
    """A three-page internal paper of the cast's item, in a published session."""
    document = services.document_upload(actor=room.secretary, item=room.item, title="Dự thảo ba trang",
                                        classification="internal", upload=upload(data=pages_pdf([P1, P2, P3])))
    room.paper = document
    return room


def _annotate(cast, who="member", **fields):
    base = {"document_id": cast.paper.pk, "kind": "highlight", "page": 1, "rects": [[0.1, 0.1, 0.5, 0.02]],
            "visibility": "private"}
    return services.annotation_create(actor=getattr(cast, who), **{**base, **fields})


def _new_version(cast, pages):
    return services.document_add_version(actor=cast.secretary, document=cast.paper,
                                         upload=upload(data=pages_pdf(pages)), note="Sửa đổi")


def _copy_of(a: Annotation) -> Annotation:
    return Annotation.objects.get(carried_from=a)


def test_an_annotation_follows_its_quote_to_the_page_where_it_now_is(paper):
    same = _annotate(paper, page=1, quote="Phạm vi điều chỉnh", text="Giữ nguyên", color="green", visibility="shared")
    moved = _annotate(paper, page=2, quote="Cơ quan thuế các cấp")
    ink = _annotate(paper, kind="ink", rects=None, ink=[[[0.1, 0.1], [0.2, 0.2]]], page=3, quote="Thuế suất ưu đãi")
    note = _annotate(paper, kind="note", rects=None, point=[0.3, 0.4], page=3, quote="Giải thích từ ngữ",
                     text="Xem định nghĩa")
    version = _new_version(paper, [P1, ["Chương mới"], P3 + P2])  # page 2's text moved to page 3
    assert version.number == 2
    copies = {a.pk: _copy_of(a) for a in (same, moved, ink, note)}
    assert [(c.page, c.placement) for c in copies.values()] == [(1, "placed"), (3, "placed"), (3, "placed"),
                                                                (3, "placed")]
    kept = copies[same.pk]
    assert (kept.version_id, kept.text, kept.color, kept.visibility, kept.author_id, kept.quote, kept.rects) == (
        version.pk, "Giữ nguyên", "green", "shared", paper.member.pk, "Phạm vi điều chỉnh", [])  # rects: the reader
    assert copies[ink.pk].ink == [[[0.1, 0.1], [0.2, 0.2]]] and copies[note.pk].point == [0.3, 0.4]
    assert copies[note.pk].text == "Xem định nghĩa"
    same.refresh_from_db()
    assert (same.version.number, same.page, same.rects) == (1, 1, [[0.1, 0.1, 0.5, 0.02]])  # the old stays


def test_the_same_page_is_preferred_when_the_quote_is_on_several(paper):
    second = _annotate(paper, page=2, quote="Điều")
    _new_version(paper, [P1, P2, P3, ["Phụ lục"]])
    assert (_copy_of(second).page, _copy_of(second).placement) == (2, "placed")


def test_whitespace_does_not_hide_a_quote(paper):
    a = _annotate(paper, page=1, quote="  Điều 1.\n  Phạm   vi\tđiều chỉnh ")
    assert a.quote == "Điều 1. Phạm vi điều chỉnh" == normalise_quote(a.quote)
    _new_version(paper, [["Lời nói đầu"], P2, P1])
    assert (_copy_of(a).page, _copy_of(a).placement) == (3, "placed")


def test_what_is_no_longer_found_is_carried_unplaced_and_listed_apart(paper):
    gone = _annotate(paper, page=3, quote="Thuế suất ưu đãi", text="Đã bỏ?")
    blank = _annotate(paper, page=2, quote="")
    kept = _annotate(paper, page=1, quote="Phạm vi điều chỉnh")
    _new_version(paper, [P1])  # one page: page 3 and its text are gone
    assert [(_copy_of(a).placement, _copy_of(a).page) for a in (gone, blank, kept)] == [
        ("unplaced", 1), ("unplaced", 1), ("placed", 1)]
    body = listing(paper, "member", paper.paper).json()
    assert body["version"] == 2
    assert [a["carried_from"] for a in body["results"]] == [kept.pk]
    assert [(a["carried_from"], a["placement"], a["text"]) for a in body["unplaced"]] == [
        (gone.pk, "unplaced", "Đã bỏ?"), (blank.pk, "unplaced", "")]
    assert [a["id"] for a in listing(paper, "member", paper.paper, version=1).json()["results"]] == [
        kept.pk, blank.pk, gone.pk]


def test_only_live_annotations_are_carried_and_privacy_travels_with_them(paper):
    deleted = _annotate(paper, quote="Phạm vi điều chỉnh", visibility="shared")
    services.annotation_delete(actor=paper.member, annotation_id=deleted.pk)
    private = _annotate(paper, quote="Phạm vi điều chỉnh", text="Riêng")
    shared = _annotate(paper, who="member2", quote="Phạm vi điều chỉnh", visibility="shared")
    _new_version(paper, [P1, P2, P3])
    assert not Annotation.objects.filter(carried_from=deleted).exists()
    assert _copy_of(private).visibility == "private"
    assert [a["carried_from"] for a in listing(paper, "member2", paper.paper).json()["results"]] == [shared.pk]
    assert [a["carried_from"] for a in listing(paper, "member", paper.paper).json()["results"]] == [private.pk,
                                                                                                   shared.pk]


def test_carrying_is_one_audit_entry_and_no_event_per_annotation(paper):
    for n in range(3):
        _annotate(paper, quote="Phạm vi điều chỉnh" if n else "không còn", visibility="shared")
    seq = Event.objects.filter(meeting=paper.meeting).order_by("-seq").values_list("seq", flat=True).first()
    _new_version(paper, [P1])
    kinds = list(Event.objects.filter(meeting=paper.meeting, seq__gt=seq).values_list("kind", flat=True))
    assert kinds == ["document.published"]  # the readers fetch the new version's annotations
    entry = AuditEntry.objects.filter(action="annotation.carried").get()
    assert entry.data == {"from_version": 1, "version": 2, "carried": 3, "placed": 2, "unplaced": 1}


def test_the_search_is_bounded_and_what_is_left_is_carried_unplaced(paper, settings):
    annotations = [_annotate(paper, page=1, quote=q) for q in ("Phạm vi điều chỉnh", "Đối tượng áp dụng")]
    settings.ANNOTATION_CARRY_MAX_SEARCH_CHARS = len("Dự thảo Nghị định quy định chi tiết Điều 1. Phạm vi điều chỉnh")
    _new_version(paper, [P1, P2])
    # the first is found on its own page within the budget; the second needed the whole text: unplaced
    assert [(_copy_of(a).placement, _copy_of(a).page) for a in annotations] == [("placed", 1), ("unplaced", 1)]
    assert Annotation.objects.filter(version__number=2).count() == 2  # nothing is lost


def test_one_author_s_made_up_quotes_spend_only_their_own_share_of_the_search(paper, settings):
    """A member who files highlights with quotes found nowhere (each a full search of the text) cannot
    leave everyone else's annotations unplaced: the budget is per author as well as in all."""
    made_up = [_annotate(paper, who="member2", page=1, quote=f"không có ở đâu {n}") for n in range(20)]
    honest = _annotate(paper, who="member", page=2, quote="Đối tượng áp dụng")
    whole = len(normalise_quote(" ".join(P1))) + len(normalise_quote(" ".join(P2))) + 1
    settings.ANNOTATION_CARRY_MAX_SEARCH_CHARS_PER_AUTHOR = 3 * whole  # three full searches each
    settings.ANNOTATION_CARRY_MAX_SEARCH_CHARS = 25 * whole  # less than the 20 made-up quotes would search
    _new_version(paper, [P1, P2])
    assert all(_copy_of(a).placement == "unplaced" for a in made_up)
    assert (_copy_of(honest).placement, _copy_of(honest).page) == ("placed", 2)
