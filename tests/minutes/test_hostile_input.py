"""Hostile text in every user-written field of the minutes, the resolution and a correction: it is
printed as text (or, in the secretary's rich text, reduced to harmless tags), the PDF renderer is
never asked for anything but the bundled fonts, and a template that did reference the network
would stop the rendering (issue 5, item 3)."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from ecabinet import pdf
from ecabinet.pdf import STATIC_DIR, StaticFilesOnly
from meetings import services
from meetings.models import Meeting
from records.minutes import drafting, render, sealing
from records.minutes.verify import embedded_files
from records.record_akn import validate_akoma_ntoso
from voting.services import motions

PIN = "ecabinet-demo"
URLS = ("http://203.0.113.7/a.png", "https://203.0.113.7/b.css", "file:///etc/passwd", "ftp://203.0.113.7/c",
        "data:image/png;base64,AAAA")


def hostile(label: str) -> str:
    return (f'{label} <img src="{URLS[0]}"><link rel="stylesheet" href="{URLS[1]}">'
            f'<style>@import url({URLS[2]});</style><object data="{URLS[3]}"></object>'
            f'<svg><image href="{URLS[4]}"/></svg><iframe src="{URLS[0]}"></iframe><script>x()</script>')


class Recording(StaticFilesOnly):
    seen: list[str] = []

    def fetch(self, url: str, headers=None):
        Recording.seen.append(url)
        return super().fetch(url, headers)


@pytest.fixture
def fetched(monkeypatch) -> list[str]:
    Recording.seen = []
    monkeypatch.setattr(pdf, "StaticFilesOnly", Recording)  # the renderer's fetcher, made per rendering
    return Recording.seen


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", "", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


@pytest.fixture
def hostile_session(cast, dev_pki):
    """Every field a person types that reaches the minutes, filled with markup and URLs."""
    office, pm, member = cast.secretary, cast.pm, cast.member
    for user in (cast.pm, cast.member, cast.member2, cast.secretary):
        user.full_name = hostile(user.full_name)
        user.save(update_fields=["full_name"])
    Meeting.objects.filter(pk=cast.meeting.pk).update(title=hostile("Phiên họp"), location=hostile("Phòng họp"))
    item = services.agenda_item_add(actor=office, meeting=cast.meeting, title=hostile("Mục"),
                                    description=hostile("Mô tả"))
    cast.public_doc.title = hostile("Tài liệu")
    cast.public_doc.save(update_fields=["title"])
    cast.set_status(Meeting.Status.PUBLISHED)
    cast.set_status(Meeting.Status.IN_PROGRESS)
    services.attendance_set(actor=office, meeting=cast.meeting, username=cast.member2.username, status="absent",
                            reason=hostile("Lý do"))
    services.attendance_set(actor=office, meeting=cast.meeting, username=pm.username, status="present")
    services.attendance_set(actor=office, meeting=cast.meeting, username=member.username, status="present")
    services.comment_post(actor=member, item_id=item.pk, text=hostile("Ý kiến"))
    services.speak_request(actor=member, item_id=item.pk)
    services.floor_give(actor=office, item_id=item.pk, username=member.username)
    services.floor_end(actor=office, item_id=item.pk)
    motion = motions.motion_create(actor=office, item_id=item.pk, title=hostile("Biểu quyết"),
                                   text=hostile("Nội dung"), method="named")
    motions.motion_open(actor=pm, motion_id=motion.pk)
    for user in (pm, member):
        motions.vote_cast(actor=user, motion_id=motion.pk, choice="yes")
    motions.motion_close(actor=office, motion_id=motion.pk)
    cast.set_status(Meeting.Status.ADJOURNED)
    draft, _ = drafting.minutes_generate(actor=office, meeting_id=cast.meeting.pk)
    drafting.minutes_update(actor=office, meeting_id=cast.meeting.pk, revision=draft.revision, changes={
        "opening": hostile("Khai mạc"), "narratives": {str(item.pk): hostile("Diễn biến")},
        "decisions": [hostile("Kết luận")], "number": '1/BB-CP <img src="http://203.0.113.7/n">',
        "place": 'Hà Nội <link href="file:///etc/passwd">'})
    cast.hostile_item = item
    return cast


def test_hostile_text_never_makes_the_renderer_fetch_anything(hostile_session, fetched):
    cast = hostile_session
    draft = drafting.minutes_for(actor=cast.secretary, meeting_id=cast.meeting.pk)[1]
    for html in (draft.opening, *draft.narratives.values()):
        for marker in ("<img", "<link", "<style", "<object", "<svg", "<iframe", "<script", "http", "file:", "data:"):
            assert marker not in html, (marker, html)
    sealing.minutes_finalize(actor=cast.secretary, meeting_id=cast.meeting.pk, revision=draft.revision)
    sealing.minutes_sign(actor=cast.secretary, meeting_id=cast.meeting.pk, pin=PIN)
    sealed = sealing.minutes_sign(actor=cast.pm, meeting_id=cast.meeting.pk, pin=PIN)
    resolution = sealing.resolution_sign(actor=cast.pm, meeting_id=cast.meeting.pk, pin=PIN)
    correction = sealing.correction_create(actor=cast.secretary, meeting_id=cast.meeting.pk,
                                           text=hostile("Đính chính"))
    assert fetched, "the fonts go through the fetcher"
    for url in fetched:
        assert url.startswith(STATIC_DIR.as_uri() + "/fonts/"), url
    for document in (sealed, resolution, correction):
        data = drafting.read_bytes(document)
        text = text_of(data)
        # Plain-text fields are printed literally, markup and all.
        assert '<imgsrc="http://203.0.113.7/a.png">' in text, document.kind
        files = embedded_files(data)
        assert validate_akoma_ntoso(files["record.akn.xml"]) == []
        assert json.loads(files["record.json"])["document"]["kind"] == document.kind


def test_a_template_that_referenced_the_network_would_stop_the_rendering(hostile_session, monkeypatch):
    from weasyprint.urls import FatalURLFetchingError

    original = render.render_html
    monkeypatch.setattr(render, "render_html", lambda *a, **k: original(*a, **k).replace(
        "</body>", '<img src="http://203.0.113.7/x.png"></body>'))
    draft = drafting.minutes_for(actor=hostile_session.secretary, meeting_id=hostile_session.meeting.pk)[1]
    with pytest.raises(FatalURLFetchingError, match=r"203\.0\.113\.7"):
        sealing.minutes_finalize(actor=hostile_session.secretary, meeting_id=hostile_session.meeting.pk,
                                 revision=draft.revision)
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.document is None


@pytest.mark.parametrize("url", [*URLS, (STATIC_DIR / ".." / "manage.py").as_uri(), "file://203.0.113.7/share/x",
                                 (STATIC_DIR / "fonts" / ".." / ".." / "ecabinet" / "settings" / "__init__.py")
                                 .as_uri()])
def test_the_fetcher_refuses_everything_outside_static(url):
    with pytest.raises(ValueError, match="refused"):
        StaticFilesOnly().fetch(url)


def test_a_symlink_in_static_cannot_lead_outside(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "leak.css").symlink_to("/etc/passwd")
    with pytest.raises(ValueError, match="refused"):
        StaticFilesOnly(root).fetch((root / "leak.css").as_uri())
