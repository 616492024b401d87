""""What changed" at a bounded cost (issue 14, docs/limits.md "Comparing versions"): hostile texts that
made difflib quadratic answer within a counted work budget, with a partial answer that says so; honest
drafts give the same changes as the plain line-by-line SequenceMatcher; a pair of versions is compared
once and then served from the cache."""

from __future__ import annotations

import difflib
import random
import time

from django.core.cache import cache
from django.test import Client

from meetings import compare
from meetings.compare import compare_texts, compare_versions
from meetings.models import Document, DocumentVersion

from .pdfs import make_pdf
from .test_api_documents import post_document, post_version


def abc_text(seed: int, pages: int = 4, lines: int = 2000) -> str:
    """The attacker's text: pages of one-letter lines A/B/C (form feeds between pages)."""
    rng = random.Random(seed)
    return "\f".join("\n".join(rng.choice("ABC") for _ in range(lines)) for _ in range(pages))


def cpu(fn, *args):
    start = time.process_time()
    result = fn(*args)
    return result, time.process_time() - start


def test_the_abc_texts_are_compared_within_the_work_budget(settings):
    for pages in (4, 6):  # 8,000 and 12,000 lines: 7 s and 13 s each before the fix
        diff, spent = cpu(compare_texts, abc_text(1, pages), abc_text(2, pages))
        assert diff.work <= settings.COMPARE_MAX_WORK + 200_000  # one region's set-up may overrun a little
        assert spent < 2.0
        assert diff.added and diff.removed and not diff.complete
        assert len([line for line in diff.lines if line.op != "same"]) == diff.shown <= settings.COMPARE_MAX_CHANGES
    # The budget is what bounds the time: with a budget of zero nothing is searched at all.
    settings.COMPARE_MAX_WORK = 0
    diff = compare_texts(abc_text(1), abc_text(2))
    assert not diff.exact and diff.added == diff.removed >= 7990  # all but a common head or tail


def test_small_abc_texts_within_the_budget_are_still_compared_exactly():
    a, b = abc_text(3, 1, 400), abc_text(4, 1, 400)
    diff = compare_texts(a, b)
    old = difflib.SequenceMatcher(a=a.split("\n"), b=b.split("\n"), autojunk=False).get_opcodes()
    assert diff.exact and diff.complete
    assert diff.removed == sum(i2 - i1 for tag, i1, i2, _j1, _j2 in old if tag != "equal")


def test_the_largest_admitted_texts_are_read_only_up_to_the_line_limit(settings):
    many = "A\n" * (settings.PDF_MAX_TEXT_CHARS // 2)  # 2,000,000 lines, the most the admission keeps
    other = "\r".join(random.Random(5).choice("ABC") for _ in range(settings.PDF_MAX_TEXT_CHARS // 2))
    diff, spent = cpu(compare_texts, many, other)
    assert diff.lines_cut and not diff.complete
    assert spent < 2.0
    assert any("first 100000 lines" in notice for notice in diff.notices())


def prose(seed: int, paragraphs: int) -> list[str]:
    rng = random.Random(seed)
    words = ["luật", "nghị", "định", "điều", "khoản", "quy", "thi", "hành", "cơ", "quan", "tổ", "chức", "cá",
             "nhân", "trách", "nhiệm", "bộ", "ngành", "ngân", "sách", "thuế", "phí", "hồ", "sơ", "thủ", "tục"]
    return [f"Điều {n}. " + " ".join(rng.choice(words) for _ in range(rng.randint(8, 20))) for n in range(paragraphs)]


def test_honest_drafts_give_the_same_changes_as_before(settings):
    # Some 300 pages: 12,000 lines, a few paragraphs changed, added, removed, with repeated headers.
    header = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    old = prose(6, 12_000)
    for page in range(0, 12_000, 40):
        old[page] = header
    new = list(old)
    new[150] = "Điều 150. Mức thuế suất là 8%"
    new.insert(4000, "Điều 4000a. Hiệu lực thi hành")
    del new[7000:7004]
    new[11_500] += " và các văn bản hướng dẫn"
    diff = compare_texts("\n".join(old), "\n".join(new))
    before = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            before += [("removed", t) for t in old[i1:i2]] + [("added", t) for t in new[j1:j2]]
    assert [(line.op, line.text) for line in diff.lines if line.op != "same"] == before
    assert diff.complete and diff.work < settings.COMPARE_MAX_WORK // 4  # a 300-page draft uses ~10% of it


def two_versions(cast, old_text: str, new_text: str):
    client = cast.client(cast.secretary)
    document_id = post_document(client, cast.item, make_pdf(["Điều 1. Phạm vi"])).json()["id"]
    document = Document.objects.get(pk=document_id)
    assert post_version(client, document, make_pdf(["Điều 1. Phạm vi điều chỉnh"])).status_code == 201
    # The stored text of hostile uploads (the attacker's PDFs print it in a tiny font); set directly
    # here to keep the test fast — the comparison only ever reads this field.
    DocumentVersion.objects.filter(document=document, number=1).update(text=old_text)
    DocumentVersion.objects.filter(document=document, number=2).update(text=new_text)
    cast.set_status("published")
    return document


def test_the_api_and_screen_give_a_partial_answer_that_says_so(cast, settings):
    settings.COMPARE_MAX_CHANGES = 5
    old = "\n".join(f"Điều {n}. Nội dung cũ" for n in range(20))
    new = "\n".join(f"Điều {n}. Nội dung mới" for n in range(20))
    document = two_versions(cast, old, new)
    body = cast.client(cast.member).get(f"/api/v1/documents/{document.pk}/compare/?lang=en",
                                        HTTP_ACCEPT_LANGUAGE="en").json()
    assert (body["added"], body["removed"]) == (20, 20)  # the counts are complete
    assert len(body["changes"]) == body["shown"] == 5 and body["complete"] is False and body["exact"] is True
    assert body["notices"], body
    browser = Client()
    browser.force_login(cast.member)
    page = browser.get(f"/documents/{document.pk}/compare/").content.decode()
    assert 'data-complete="false"' in page
    assert "5 thay đổi đầu tiên" in page or "first 5 changes" in page


def test_a_pair_of_versions_is_compared_once_then_served_from_the_cache(cast, settings):
    document = two_versions(cast, abc_text(7, 1, 600), abc_text(8, 1, 600))
    old, new = document.versions.order_by("number")
    cache.delete(compare._cache_key(old, new))
    first = compare_versions(document)
    assert not first.diff.cached and first.diff.work > 0
    again = compare_versions(document)
    assert again.diff.cached and again.diff.work == 0
    assert again.lines == first.lines and (again.added, again.removed) == (first.added, first.removed)
    # A different pair is a different entry.
    assert not compare_versions(document, 2, 1).diff.cached
