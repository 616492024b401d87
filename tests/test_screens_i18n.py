"""Languages and logging in: Vietnamese by default, English on request, with real translations; the
login form, and logout by POST only."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.translation import trans_real

from meetings import services
from meetings.models import Meeting

from .factories import in_days
from .pdfs import make_pdf

LOCALES = ("vi", "en")


@pytest.fixture(scope="module", autouse=True)
def _compiled_messages():
    """The .mo files are build products (gitignored): compile them when missing or older than the
    .po, as ``compilemessages`` does, so this file also runs on a fresh clone."""
    compiled = False
    for lang in LOCALES:
        po = Path(django_settings.BASE_DIR) / "locale" / lang / "LC_MESSAGES" / "django.po"
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            msgfmt = shutil.which("msgfmt")
            if msgfmt is None:
                pytest.skip("GNU gettext (msgfmt) is needed to compile the translations")
            subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)
            compiled = True
    if compiled:
        # Catalogs already loaded in this process would not see the new files.
        trans_real._translations = {}
        trans_real._default = None


@pytest.fixture
def vietnamese(settings):
    settings.LANGUAGE_CODE = "vi"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_speaks_vietnamese_by_default(cast, vietnamese):
    page = Client().get("/login/").content.decode()
    assert '<html lang="vi">' in page
    assert "Đăng nhập e-Cabinet" in page and "Tên đăng nhập" in page and "Mật khẩu" in page

    cast.set_status(Meeting.Status.PUBLISHED)
    page = client_for(cast.member).get(f"/meetings/{cast.meeting.pk}/").content.decode()
    for phrase in ("Chương trình nghị sự", "Phiên họp thường kỳ", "Đã công bố", "Tham dự của bạn",
                   "Tôi sẽ tham dự", "Nội bộ", "Hạn chế", "Công khai", "Đăng xuất", "Chính phủ điện tử"):
        assert phrase in page, phrase
    assert '>Mới</span>' in page


def test_it_marks_updated_documents_in_vietnamese(cast, vietnamese):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = client_for(cast.member)
    client.get(f"/documents/{cast.internal_doc.pk}/file/")
    services.document_add_version(actor=cast.secretary, document=cast.internal_doc,
                                  upload=SimpleUploadedFile("v2.pdf", make_pdf(["Phiên bản hai"])))
    page = client.get(f"/meetings/{cast.meeting.pk}/").content.decode()
    assert '>Cập nhật</span>' in page and "Những điểm thay đổi" in page


def test_it_shows_service_errors_in_vietnamese(cast, vietnamese):
    meeting = services.meeting_create(actor=cast.secretary, title="Phiên họp chưa có chủ tọa", kind="regular",
                                      starts_at=in_days(1))
    services.agenda_item_add(actor=cast.secretary, meeting=meeting, title="Nội dung 1")
    response = client_for(cast.secretary).post(f"/meetings/{meeting.pk}/status/publish/", follow=True)
    page = response.content.decode()
    assert 'data-code="no_chair">Hãy mời chủ tọa trước khi công bố.</div>' in page


def test_it_switches_to_english_when_chosen(cast, vietnamese):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = client_for(cast.member)
    response = client.post("/i18n/setlang/", {"language": "en", "next": f"/meetings/{cast.meeting.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/meetings/{cast.meeting.pk}/"
    page = client.get(f"/meetings/{cast.meeting.pk}/").content.decode()
    assert '<html lang="en">' in page
    assert "Agenda" in page and "Regular session" in page and '>New</span>' in page
    assert "Chương trình nghị sự" not in page
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    assert "Phiên họp của tôi" in client.get("/").content.decode()


def test_it_offers_both_languages_by_post_buttons(cast, vietnamese):
    page = client_for(cast.member).get("/").content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert 'name="language" value="vi"' in page and 'name="language" value="en"' in page
    assert 'aria-pressed="true">VI<' in page


def test_it_logs_in_with_username_and_password_and_out_by_post(cast):
    client = Client()
    response = client.post("/login/", {"username": "member01", "password": "wrong"})
    assert response.status_code == 200 and 'data-code="invalid_login"' in response.content.decode()
    response = client.post("/login/", {"username": "member01", "password": "pw-for-tests"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/").content.decode()
    assert cast.member.full_name in page and cast.member.ministry.name_en in page  # English: English name
    assert '<form class="inline-form" method="post" action="/logout/">' in page
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_it_returns_to_the_requested_page_after_login(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    url = f"/meetings/{cast.meeting.pk}/"
    client = Client()
    login_page = client.get(url, follow=True).content.decode()
    assert f'name="next" value="{url}"' in login_page
    response = client.post("/login/", {"username": "member01", "password": "pw-for-tests", "next": url})
    assert response["Location"] == url
