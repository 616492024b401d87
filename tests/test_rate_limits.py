"""Rate and volume limits per account on the API's writes (issue 14 point 6; ``ecabinet.limits``).

For each scope: the writes up to the limit pass, the next one is answered 429 ``rate_limited`` with
``Retry-After`` and a sentence saying when to try again, and stores nothing; another account is not
affected; the next window lets the account write again. The clock of the windows is
``ecabinet.clock.now``, moved by the test. The last tests show the defaults are generous: a busy
minister and a secretariat preparing a session never meet them.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ecabinet import clock as server_clock
from meetings import services
from meetings.models import Comment, Document, DocumentVersion, Meeting, Position, SpeakRequest

from .pdfs import make_pdf

T0 = 1_800_000_000 + 10  # 10 s into a minute and into an hour (1_800_000_000 is a multiple of 3,600)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(T0)
    monkeypatch.setattr(server_clock, "now", clock)
    return clock


@pytest.fixture
def room(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    return cast


def refused(response, retry_after: int) -> None:
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(retry_after)
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["detail"]


def comment(cast, user, text: str = "Đề nghị làm rõ phạm vi điều chỉnh"):
    return cast.client(user).post(f"/api/v1/agenda-items/{cast.item.pk}/comments/", {"text": text}, format="json")


def pdf(name: str = "draft.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf() if data is None else data, content_type="application/pdf")


def upload(cast, user, data: bytes | None = None, item=None):
    return cast.client(user).post(f"/api/v1/agenda-items/{(item or cast.item).pk}/documents/",
                                  {"file": pdf(data=data), "title": "Tờ trình", "classification": "internal"},
                                  format="multipart")


def test_it_refuses_the_comment_after_the_limit_and_stores_nothing(room, clock, settings):
    settings.RATE_COMMENTS_PER_MINUTE = 3
    for _ in range(3):
        assert comment(room, room.member).status_code == 201
    before = list(Comment.objects.values_list("pk", flat=True))
    response = comment(room, room.member)
    refused(response, 50)
    assert response.json()["detail"] == ("Too many comments from your account in a short time. "
                                         "Please try again in 50 seconds.")
    assert list(Comment.objects.values_list("pk", flat=True)) == before
    # An edit is a comment too: refused, and the text stays.
    mine = Comment.objects.filter(author=room.member).first()
    refused(room.client(room.member).post(f"/api/v1/comments/{mine.pk}/edit/", {"text": "khác"}, format="json"), 50)
    assert Comment.objects.get(pk=mine.pk).text == mine.text
    # Another account is not affected.
    assert comment(room, room.member2).status_code == 201
    # Refused attempts are not counted: the next window lets the member write again at once.
    clock.now += 50
    assert comment(room, room.member).status_code == 201


def test_it_limits_comments_per_hour_too(room, clock, settings):
    settings.RATE_COMMENTS_PER_MINUTE = 2
    settings.RATE_COMMENTS_PER_HOUR = 3
    assert [comment(room, room.member).status_code for _ in range(3)] == [201, 201, 429]
    clock.now += 60
    assert comment(room, room.member).status_code == 201
    clock.now += 60
    response = comment(room, room.member)
    refused(response, 3600 - 130)
    assert "Please try again in 58 minutes." in response.json()["detail"]
    clock.now += 3600 - 130
    assert comment(room, room.member).status_code == 201


def test_it_caps_the_characters_of_comments_per_hour(room, clock, settings):
    settings.RATE_COMMENT_CHARS_PER_HOUR = 1000
    assert comment(room, room.member, "a" * 600).status_code == 201
    count = Comment.objects.count()
    refused(comment(room, room.member, "b" * 500), 3590)
    assert Comment.objects.count() == count
    # What was refused was not counted: 400 more characters still fit in the hour, 1 more does not.
    assert comment(room, room.member, "c" * 400).status_code == 201
    refused(comment(room, room.member, "d"), 3590)
    assert comment(room, room.member2, "e" * 1000).status_code == 201


def test_a_comment_refused_for_its_characters_is_not_counted_as_a_comment(room, clock, settings):
    settings.RATE_COMMENTS_PER_MINUTE = 2
    settings.RATE_COMMENT_CHARS_PER_HOUR = 1000
    assert comment(room, room.member, "a" * 600).status_code == 201
    refused(comment(room, room.member, "b" * 500), 3590)
    # The refused comment counted against neither limit: a second comment still fits in the minute.
    assert comment(room, room.member, "c" * 100).status_code == 201
    refused(comment(room, room.member, "d"), 50)


def test_it_answers_in_vietnamese_by_default(room, clock, settings):
    settings.LANGUAGE_CODE = "vi"
    settings.RATE_COMMENTS_PER_MINUTE = 1
    comment(room, room.member)
    response = comment(room, room.member)
    refused(response, 50)
    assert response.json()["detail"] == ("Tài khoản của bạn đã gửi quá nhiều bình luận trong thời gian ngắn. "
                                         "Vui lòng thử lại sau 50 giây.")


def test_it_limits_requests_to_speak_and_withdrawals_together(room, clock, settings):
    settings.RATE_SPEAKING_PER_MINUTE = 3
    client = room.client(room.member)
    speak, withdraw = (f"/api/v1/agenda-items/{room.item.pk}/speakers/",
                       f"/api/v1/agenda-items/{room.item.pk}/speakers/withdraw/")
    assert [client.post(speak).status_code, client.post(withdraw).status_code, client.post(speak).status_code] == [
        201, 200, 201]
    before = list(SpeakRequest.objects.values_list("pk", "status"))
    refused(client.post(withdraw), 50)
    assert list(SpeakRequest.objects.values_list("pk", "status")) == before
    assert room.client(room.member2).post(speak).status_code == 201
    clock.now += 60
    assert client.post(withdraw).status_code == 200


def test_it_limits_positions(room, clock, settings):
    settings.RATE_POSITIONS_PER_MINUTE = 2
    client = room.client(room.member)
    path = f"/api/v1/agenda-items/{room.item.pk}/position/"
    for value in ("object", "no_objection"):
        assert client.post(path, {"value": value}, format="json").status_code == 200
    refused(client.post(path, {"value": "wish_to_speak"}, format="json"), 50)
    assert Position.objects.get(user=room.member, agenda_item=room.item).value == "no_objection"
    assert room.client(room.member2).post(path, {"value": "object"}, format="json").status_code == 200
    clock.now += 50
    assert client.post(path, {"value": "wish_to_speak"}, format="json").status_code == 200


def test_it_limits_uploads_of_documents_and_versions_before_inspecting_them(room, clock, settings):
    settings.RATE_UPLOADS_PER_HOUR = 2
    assert upload(room, room.secretary).status_code == 201
    document = Document.objects.latest("pk")
    response = room.client(room.secretary).post(f"/api/v1/documents/{document.pk}/versions/",
                                                {"file": pdf("v2.pdf", make_pdf(["v2"]))}, format="multipart")
    assert response.status_code == 201
    counts = (Document.objects.count(), DocumentVersion.objects.count())
    refused(upload(room, room.secretary), 3590)
    # Not a PDF at all: refused for the rate before anyone looks inside (429, not 422).
    refused(upload(room, room.secretary, b"not a pdf"), 3590)
    refused(room.client(room.secretary).post(f"/api/v1/documents/{document.pk}/versions/",
                                             {"file": pdf("v3.pdf")}, format="multipart"), 3590)
    assert (Document.objects.count(), DocumentVersion.objects.count()) == counts
    clock.now += 3590
    assert upload(room, room.secretary).status_code == 201


def test_it_caps_the_bytes_uploaded_per_hour(room, clock, settings):
    settings.RATE_UPLOAD_MB_PER_HOUR = 1
    assert upload(room, room.secretary).status_code == 201
    count = Document.objects.count()
    # More than a MiB of body: refused by its Content-Length, before it is parsed or inspected.
    refused(upload(room, room.secretary, b"%PDF-1.7\n" + b"0" * (1024 * 1024)), 3590)
    assert Document.objects.count() == count
    assert upload(room, room.secretary).status_code == 201  # the refused bytes were not counted


def test_reads_are_not_counted(room, clock, settings):
    settings.RATE_COMMENTS_PER_MINUTE = 1
    client = room.client(room.member)
    for _ in range(5):
        assert client.get(f"/api/v1/agenda-items/{room.item.pk}/comments/").status_code == 200
    assert comment(room, room.member).status_code == 201


def test_a_busy_minister_never_meets_the_default_limits(room, clock):
    """Twenty comments in a minute (long ones among them), positions changed back and forth, asking
    to speak and withdrawing: more than anyone does in a session, all accepted."""
    for n in range(20):
        assert comment(room, room.member, f"Ý kiến {n}: " + "đề nghị bổ sung " * (240 if n % 5 == 0 else 10)
                       ).status_code == 201
    client = room.client(room.member)
    for n in range(30):
        assert client.post(f"/api/v1/agenda-items/{room.item.pk}/position/",
                           {"value": ("object", "no_objection", "wish_to_speak")[n % 3]},
                           format="json").status_code == 200
    for n in range(10):
        path = "speakers/" if n % 2 == 0 else "speakers/withdraw/"
        assert client.post(f"/api/v1/agenda-items/{room.item.pk}/{path}").status_code in (200, 201)


def test_the_secretariat_prepares_forty_documents_at_once_under_the_default_limits(room, clock):
    """Forty documents in one sitting, spread over the agenda (an item holds at most
    AGENDA_ITEM_MAX_DOCUMENTS of them, a bound of its own)."""
    items = [room.item] + [services.agenda_item_add(actor=room.secretary, meeting=room.meeting, title=f"Nội dung {n}")
                           for n in range(2, 5)]
    for n in range(40):
        response = upload(room, room.secretary, make_pdf([f"Tài liệu {n}"]), item=items[n % len(items)])
        assert response.status_code == 201, (n, response.content)


def test_the_screens_upload_counts_too_and_says_why_it_refused(room, clock, settings):
    from django.contrib.messages import get_messages
    from django.test import Client
    from django.urls import reverse

    settings.RATE_UPLOADS_PER_HOUR = 1
    assert upload(room, room.secretary).status_code == 201
    count = Document.objects.count()
    browser = Client()
    browser.force_login(room.secretary)
    response = browser.post(reverse("document_upload", args=[room.item.pk]),
                            {"file": pdf(), "title": "Tờ trình", "classification": "internal"})
    assert response.status_code == 302
    assert any("Too many uploads" in str(m) for m in get_messages(response.wsgi_request))
    assert Document.objects.count() == count
