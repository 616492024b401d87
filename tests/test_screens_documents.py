"""Reading documents on the screens: "new" and "updated" marks, the inline viewer and its file,
"what changed", the read-receipt table, notifications, and the bounded cost of the agenda page."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from ecabinet.models import Notification
from meetings import services
from meetings.compare import Line
from meetings.models import Meeting
from meetings.views.documents import diff_blocks

from .factories import MinistryFactory, UserFactory, in_days
from .pdfs import make_pdf


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pdf_file(lines: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile("du-thao.pdf", make_pdf(lines), content_type="application/pdf")


def mark_of(page: str, document_id: int) -> str | None:
    """The read mark ("new", "updated" or None) of one document row on the agenda page."""
    row = re.search(rf'data-document-id="{document_id}".*?</div>', page, re.S)
    assert row, f"document {document_id} is not on the page"
    found = re.search(r'data-mark="(\w+)"', row.group(0))
    return found.group(1) if found else None


def test_it_marks_documents_new_until_the_file_is_fetched_and_updated_after_a_new_version(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    member = client_for(cast.member)
    agenda = f"/meetings/{cast.meeting.pk}/"
    doc = cast.internal_doc
    page = member.get(agenda).content.decode()
    assert mark_of(page, doc.pk) == "new" and mark_of(page, cast.public_doc.pk) == "new"
    assert 'data-unread="3"' in page

    member.get(f"/documents/{doc.pk}/")  # opening the page is not reading
    assert mark_of(member.get(agenda).content.decode(), doc.pk) == "new"

    response = member.get(f"/documents/{doc.pk}/file/?inline=1")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    page = member.get(agenda).content.decode()
    assert mark_of(page, doc.pk) is None and mark_of(page, cast.public_doc.pk) == "new"

    client_for(cast.secretary).post(f"/documents/{doc.pk}/versions/",
                                    {"file": pdf_file(["Tờ trình", "Điều 2. Bổ sung"]), "note": "Thêm Điều 2"})
    page = member.get(agenda).content.decode()
    assert mark_of(page, doc.pk) == "updated"
    assert f'href="/documents/{doc.pk}/compare/?from=1&amp;to=2"' in page  # since the version last read
    assert mark_of(client_for(cast.member2).get(agenda).content.decode(), doc.pk) == "new"

    detail = member.get(f"/documents/{doc.pk}/").content.decode()
    assert f"/documents/{doc.pk}/compare/?from=1&amp;to=2" in detail

    member.get(f"/documents/{doc.pk}/file/")
    assert mark_of(member.get(agenda).content.decode(), doc.pk) is None


def test_it_shows_the_document_page_with_viewer_versions_and_download(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    page = client_for(cast.member).get(f"/documents/{cast.internal_doc.pk}/").content.decode()
    # The in-app reader (issue 17): its own copy of the current version; without JavaScript, a download link.
    doc = cast.internal_doc
    assert '<div id="reader" class="reader" hidden' in page and "<iframe" not in page
    assert f'data-copy-url="/documents/{doc.pk}/read/1/"' in page
    assert f'data-comments-url="/api/v1/agenda-items/{cast.item.pk}/comments/"' in page
    assert f'data-meeting="{cast.meeting.pk}" data-me="{cast.member.pk}"' in page
    assert (f'data-versions="[{{&quot;number&quot;: 1, &quot;pages&quot;: 1, &quot;current&quot;: true, '
            f'&quot;reader_url&quot;: &quot;/documents/{doc.pk}/read/1/&quot;}}]"') in page
    assert '<noscript>\n    <p class="notice">' in page and f'href="/documents/{doc.pk}/file/" download>' in page
    assert 'src="/static/reader/reader.js"' in page
    assert f'href="/documents/{cast.internal_doc.pk}/file/" download' in page
    assert cast.internal_doc.current_version.sha256[:12] in page
    assert cast.meeting.title in page and cast.item.title in page
    assert "/compare/" not in page  # one version only
    assert "/versions/" not in page  # no upload form for a member


def test_it_serves_a_watermarked_copy_that_may_be_framed_only_by_this_site(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    response = client_for(cast.member).get(f"/documents/{cast.restricted_doc.pk}/file/?inline=1")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "no-store" in response["Cache-Control"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert cast.member.full_name in text
    download = client_for(cast.member).get(f"/documents/{cast.restricted_doc.pk}/file/?version=1")
    assert download["Content-Disposition"].startswith("attachment;")
    assert client_for(cast.member).get(f"/documents/{cast.restricted_doc.pk}/file/?version=7").status_code == 404
    assert client_for(cast.member).get(f"/documents/{cast.restricted_doc.pk}/file/?version=x").status_code == 404


def test_it_compares_two_versions_line_by_line(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    old = ["Tờ trình Chính phủ", "Điều 1. Phạm vi điều chỉnh", "Điều 2. Mức thuế 10%"]
    new = ["Tờ trình Chính phủ", "Điều 1. Phạm vi điều chỉnh", "Điều 2. Mức thuế 8%", "Điều 3. Hiệu lực"]
    doc = services.document_upload(actor=cast.secretary, item=cast.item, title="Dự thảo Nghị định",
                                   classification="internal", upload=pdf_file(old))
    services.document_add_version(actor=cast.secretary, document=doc, upload=pdf_file(new), note="Giảm thuế")
    page = client_for(cast.member).get(f"/documents/{doc.pk}/compare/").content.decode()
    assert 'data-added="2" data-removed="1"' in page  # one line changed, one added
    added = re.findall(r'data-op="added">.*?<ins class="diff__text">(.*?)</ins>', page, re.S)
    removed = re.findall(r'data-op="removed">.*?<del class="diff__text">(.*?)</del>', page, re.S)
    assert "Điều 2. Mức thuế 8%" in added and "Điều 3. Hiệu lực" in added
    assert "Điều 2. Mức thuế 10%" in removed
    assert "Giảm thuế" in page

    same = client_for(cast.member).get(f"/documents/{doc.pk}/compare/?from=2&to=2").content.decode()
    assert 'data-added="0" data-removed="0"' in same
    assert client_for(cast.member).get(f"/documents/{doc.pk}/compare/?from=1&to=9").status_code == 404
    bad = client_for(cast.member).get(f"/documents/{doc.pk}/compare/?from=abc", follow=True)
    assert 'data-code="invalid_version"' in bad.content.decode()
    assert client_for(cast.observer).get(f"/documents/{doc.pk}/compare/").status_code == 404


def test_it_folds_long_runs_of_unchanged_lines():
    lines = [Line("same", f"l{i}") for i in range(10)] + [Line("added", "new")] + [Line("same", "end")]
    blocks = diff_blocks(lines)
    assert [(b.op, len(b.lines)) for b in blocks] == [("same", 2), ("folded", 6), ("same", 2), ("added", 1),
                                                      ("same", 1)]


def test_it_shows_who_read_which_version_in_the_receipt_table(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    doc = cast.internal_doc
    client_for(cast.member).get(f"/documents/{doc.pk}/file/")
    services.document_add_version(actor=cast.secretary, document=doc, upload=pdf_file(["Tờ trình", "v2"]))
    client_for(cast.member2).get(f"/documents/{doc.pk}/file/")
    page = client_for(cast.secretary).get(f"/meetings/{cast.meeting.pk}/receipts/").content.decode()
    row = re.search(rf'<tr data-document-id="{doc.pk}">.*?</tr>', page, re.S).group(0)
    columns = re.findall(r'data-username="([\w.]+)"', page)
    states = re.findall(r'data-state="(\w+)"', row)
    # The observer may not read an internal document: their cell is greyed out, not "not opened".
    assert dict(zip(columns, states, strict=True)) == {"pm": "none", "member01": "older", "member02": "current",
                                                       "guest": "na"}
    assert ">v1<" in row and "✓" in row and ">1/3<" in row
    restricted = re.search(rf'<tr data-document-id="{cast.restricted_doc.pk}">.*?</tr>', page, re.S).group(0)
    assert re.findall(r'data-state="(\w+)"', restricted) == ["na", "none", "na", "na"]
    assert client_for(cast.pm).get(f"/meetings/{cast.meeting.pk}/receipts/").status_code == 404


def test_it_lists_notifications_and_marks_them_read_when_opened(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = client_for(cast.member)
    home = client.get("/").content.decode()
    assert re.search(r'<span class="count"[^>]*>1</span>', home)
    page = client.get("/notifications/").content.decode()
    assert f"Invitation: {cast.meeting.title}" in page and "notice-item--unread" in page
    assert f'href="/meetings/{cast.meeting.pk}/"' in page
    assert not Notification.objects.filter(user=cast.member, read_at__isnull=True).exists()
    assert 'class="count"' not in client.get("/").content.decode()
    assert "notice-item--unread" not in client.get("/notifications/").content.decode()
    assert Notification.objects.filter(user=cast.member2, read_at__isnull=True).count() == 1


# --- bounded cost of the agenda page --------------------------------------------------------------

def _session(secretary, member, other, items: int, docs: int) -> Meeting:
    """A published session with ``items`` × ``docs`` documents of every classification, some read."""
    ministry = MinistryFactory()
    meeting = services.meeting_create(actor=secretary, title=f"Phiên {items}×{docs}", kind="regular",
                                      starts_at=in_days(1))
    services.participant_add(actor=secretary, meeting=meeting, username=member.username, role="chair")
    services.participant_add(actor=secretary, meeting=meeting, username=other.username, role="member")
    data = make_pdf(["Dự thảo"])
    for i in range(items):
        item = services.agenda_item_add(actor=secretary, meeting=meeting, title=f"Nội dung {i}",
                                        presenter_ministry=ministry, planned_minutes=20)
        for j in range(docs):
            classification = ("public", "internal", "restricted")[j % 3]
            recipients = [member.username] if classification == "restricted" and i % 2 else (
                [other.username] if classification == "restricted" else [])
            doc = services.document_upload(
                actor=secretary, item=item, title=f"Tài liệu {i}.{j}", classification=classification,
                upload=SimpleUploadedFile("d.pdf", data, content_type="application/pdf"), recipients=recipients)
            if j == 0:
                services.document_issue_copy(actor=member, document_id=doc.pk)
    services.meeting_publish(actor=secretary, meeting=meeting)
    return meeting


@pytest.mark.parametrize("role", ["chair", "secretary"])
def test_it_renders_the_agenda_page_in_a_bounded_number_of_queries(db, role):
    secretary = UserFactory(username="sec", is_secretariat=True)
    member, other = UserFactory(username="chair"), UserFactory(username="mem")
    small = _session(secretary, member, other, items=3, docs=2)
    large = _session(secretary, member, other, items=12, docs=4)
    client = client_for(secretary if role == "secretary" else member)
    counts = []
    for meeting in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/meetings/{meeting.pk}/")
        assert response.status_code == 200
        counts.append(len(queries))
    page = response.content.decode()
    assert page.count('class="document-link"') == (48 if role == "secretary" else 42)
    assert counts[0] == counts[1], counts
    assert counts[1] <= 25, counts
