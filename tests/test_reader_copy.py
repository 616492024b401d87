"""The in-app reader's own watermarked copy (issue 17, contract C2): ``GET /documents/<pk>/read/<n>/``.

Issued once per (user, version) — one entry in the register, one audit entry, the same bytes at every
read — served by byte range (206 / 416), with an ETag, never cached, and refused (404) to whoever may
not see the document. Concurrent first reads of one user issue one copy."""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from pypdf import PdfReader

from ecabinet.models import AuditEntry
from meetings import services
from meetings.models import DocumentCopy, Meeting, ReaderCopy, ReadReceipt
from meetings.services import reader as reader_service

from .conftest import upload
from .pdfs import make_pdf


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def read_url(doc, number: int = 1) -> str:
    return f"/documents/{doc.pk}/read/{number}/"


def no_store(response) -> bool:
    return {d.strip() for d in response["Cache-Control"].split(",")} >= {"private", "no-store"}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def published(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    return cast


def test_it_serves_a_watermarked_inline_copy_that_is_never_cached(published):
    doc = published.internal_doc
    response = client_for(published.member).get(read_url(doc))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert no_store(response)
    assert response["Accept-Ranges"] == "bytes"
    data = body(response)
    assert int(response["Content-Length"]) == len(data)
    row = ReaderCopy.objects.get(version=doc.current_version, user=published.member)
    assert response["ETag"] == f'"{row.sha256}"'
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Hồ Văn Bách" in text  # the reader's name is in the mark
    assert "Tờ trình" in text


def test_it_issues_the_copy_once_and_serves_the_same_bytes_after(published):
    doc = published.internal_doc
    member = client_for(published.member)
    first = body(member.get(read_url(doc)))
    second = body(member.get(read_url(doc)))
    assert first == second
    version = doc.current_version
    assert DocumentCopy.objects.filter(version=version, user=published.member).count() == 1
    assert ReaderCopy.objects.filter(version=version, user=published.member).count() == 1
    assert AuditEntry.objects.filter(action="document.downloaded", actor=published.member).count() == 1
    # Every read without Range opens the document: the receipt counts both; ranges do not count.
    assert ReadReceipt.objects.get(version=version, user=published.member).open_count == 2
    member.get(read_url(doc), HTTP_RANGE="bytes=0-9")
    assert ReadReceipt.objects.get(version=version, user=published.member).open_count == 2
    # A tablet keeping the copy for offline reading has not read it (static/js/offline.js).
    assert body(member.get(read_url(doc), HTTP_X_ECABINET_PURPOSE="keep")) == first
    assert ReadReceipt.objects.get(version=version, user=published.member).open_count == 2
    assert not ReadReceipt.objects.filter(version=version, user=published.member2).exists()
    client_for(published.member2).get(read_url(doc), HTTP_X_ECABINET_PURPOSE="keep")
    assert not ReadReceipt.objects.filter(version=version, user=published.member2).exists()
    # Another reader gets a copy of their own (another number, another watermark).
    other = body(client_for(published.member2).get(read_url(doc)))
    assert other != first
    numbers = sorted(DocumentCopy.objects.filter(version=version).values_list("number", flat=True))
    assert numbers == [1, 2]
    # A download is still a new numbered copy per request, and the reader copy does not change.
    assert client_for(published.member).get(f"/documents/{doc.pk}/file/").status_code == 200
    assert DocumentCopy.objects.filter(version=version, user=published.member).count() == 2
    assert body(member.get(read_url(doc))) == first


def test_it_answers_byte_ranges(published):
    doc = published.internal_doc
    member = client_for(published.member)
    whole = body(member.get(read_url(doc)))
    size = len(whole)
    etag = member.get(read_url(doc))["ETag"]

    part = member.get(read_url(doc), HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 0-99/{size}" and part["Content-Length"] == "100"
    assert body(part) == whole[:100] and part["ETag"] == etag and no_store(part)

    tail = member.get(read_url(doc), HTTP_RANGE="bytes=-10")
    assert (tail.status_code, body(tail)) == (206, whole[-10:])
    rest = member.get(read_url(doc), HTTP_RANGE=f"bytes={size - 5}-")
    assert (rest.status_code, rest["Content-Range"], body(rest)) == (206, f"bytes {size - 5}-{size - 1}/{size}",
                                                                     whole[-5:])
    beyond_end = member.get(read_url(doc), HTTP_RANGE=f"bytes=10-{size + 500}")
    assert (beyond_end.status_code, body(beyond_end)) == (206, whole[10:])

    for bad in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=50-10", "bytes=abc", "bytes=-0",
                "bytes=-", "bytes=" + "1" * 300 + "-"):
        refused = member.get(read_url(doc), HTTP_RANGE=bad)
        assert refused.status_code == 416, bad
        assert refused["Content-Range"] == f"bytes */{size}"
        assert no_store(refused)

    # Several ranges, or another unit: the whole file (a server may ignore Range).
    for ignored in ("bytes=0-1,5-6", "pages=1-2"):
        whole_again = member.get(read_url(doc), HTTP_RANGE=ignored)
        assert (whole_again.status_code, body(whole_again)) == (200, whole), ignored
    # If-Range with another copy's ETag: the whole file; with ours: the range.
    assert member.get(read_url(doc), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"other"').status_code == 200
    assert member.get(read_url(doc), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206
    assert member.get(read_url(doc), HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert member.head(read_url(doc), HTTP_RANGE="bytes=0-9")["Content-Length"] == "10"
    assert DocumentCopy.objects.filter(user=published.member).count() == 1


def test_it_refuses_whoever_may_not_see_the_document(published):
    restricted = published.restricted_doc
    assert client_for(published.member).get(read_url(restricted)).status_code == 200  # a named recipient
    for user in (published.member2, published.observer, published.outsider, published.admin, published.archivist):
        assert client_for(user).get(read_url(restricted)).status_code == 404, user.username
        assert client_for(user).get(read_url(restricted), HTTP_RANGE="bytes=0-9").status_code == 404
    for user in (published.outsider, published.admin):
        assert client_for(user).get(read_url(published.internal_doc)).status_code == 404, user.username
    anonymous = Client().get(read_url(published.internal_doc))
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert client_for(published.member).get(read_url(published.internal_doc, 7)).status_code == 404
    assert client_for(published.member).get(f"/documents/{published.internal_doc.pk}/read/0x1/").status_code == 404
    assert client_for(published.member).post(read_url(published.internal_doc)).status_code == 405
    # Nothing was issued to the refused.
    assert not DocumentCopy.objects.exclude(user=published.member).exists()
    assert not ReaderCopy.objects.exclude(user=published.member).exists()


def test_a_recipient_who_loses_the_document_loses_the_stored_copy_too(published):
    restricted = published.restricted_doc
    member = client_for(published.member)
    assert member.get(read_url(restricted)).status_code == 200
    services.document_set_recipients(actor=published.secretary, document=restricted, recipients=["member02"])
    assert member.get(read_url(restricted)).status_code == 404
    assert member.get(read_url(restricted), HTTP_RANGE="bytes=0-9").status_code == 404


def test_each_version_has_its_own_copy(published):
    doc = published.internal_doc
    services.document_add_version(actor=published.secretary, document=doc,
                                  upload=upload(data=make_pdf(["Tờ trình sửa đổi"], pages=2)), note="sửa")
    member = client_for(published.member)
    v1, v2 = body(member.get(read_url(doc, 1))), body(member.get(read_url(doc, 2)))
    assert len(PdfReader(io.BytesIO(v1)).pages) == 1 and len(PdfReader(io.BytesIO(v2)).pages) == 2
    assert ReaderCopy.objects.filter(user=published.member, version__document=doc).count() == 2


def test_the_api_names_the_reader_copy_of_each_version(published):
    doc = published.internal_doc
    services.document_add_version(actor=published.secretary, document=doc, upload=upload(data=make_pdf(["v2"])))
    data = published.client(published.member).get(f"/api/v1/documents/{doc.pk}/").json()
    assert data["reader_url"] == f"/documents/{doc.pk}/read/2/"
    assert [v["reader_url"] for v in data["versions"]] == [f"/documents/{doc.pk}/read/1/",
                                                           f"/documents/{doc.pk}/read/2/"]
    assert data["versions"][0]["number"] == 1  # nothing renamed


def test_a_failed_watermark_gives_the_claim_back(published, monkeypatch):
    doc = published.internal_doc
    real = reader_service.watermark_copy

    def broken(copy):
        raise RuntimeError("disk full")

    monkeypatch.setattr(reader_service, "watermark_copy", broken)
    with pytest.raises(RuntimeError):
        client_for(published.member).get(read_url(doc))
    assert not ReaderCopy.objects.exists()
    monkeypatch.setattr(reader_service, "watermark_copy", real)
    assert client_for(published.member).get(read_url(doc)).status_code == 200
    assert ReaderCopy.objects.get().file


def test_a_claim_left_by_a_dead_request_is_taken_over(published, settings):
    doc = published.internal_doc
    version = doc.current_version
    settings.READER_COPY_WAIT_SECONDS = 0
    claimed = services.guards.current_time()
    ReaderCopy.objects.create(version=version, user=published.member, claimed_at=claimed)
    busy = client_for(published.member).get(read_url(doc))
    assert (busy.status_code, busy["Retry-After"]) == (503, "2")
    assert "still being prepared" in busy.content.decode()
    ReaderCopy.objects.update(claimed_at=claimed - timedelta(seconds=settings.READER_COPY_CLAIM_SECONDS + 1))
    assert client_for(published.member).get(read_url(doc)).status_code == 200
    assert DocumentCopy.objects.filter(version=version, user=published.member).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_reads_issue_one_copy(published, monkeypatch):
    """PDF.js opens with several requests at once, and a minister may open the paper on two tablets:
    the first reads race, and only one of them makes the copy; the others wait for it."""
    doc = published.internal_doc
    real = reader_service.watermark_copy
    made = []

    def slow(copy):
        made.append(copy.number)
        time.sleep(0.5)  # the watermark takes time: the other requests arrive while it is being made
        return real(copy)

    monkeypatch.setattr(reader_service, "watermark_copy", slow)
    n = 4
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def run(index):
        try:
            client = client_for(published.member)
            barrier.wait()
            response = client.get(read_url(doc), **({"HTTP_RANGE": "bytes=0-99"} if index % 2 else {}))
            results[index] = (response.status_code, body(response))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert made == [1]
    assert DocumentCopy.objects.filter(user=published.member).count() == 1
    assert AuditEntry.objects.filter(action="document.downloaded").count() == 1
    whole = [data for status, data in results if status == 200]
    parts = [data for status, data in results if status == 206]
    assert len(whole) == 2 and len(parts) == 2 and whole[0] == whole[1] and parts[0] == whole[0][:100]


@pytest.mark.django_db(transaction=True)
def test_a_slow_request_whose_claim_was_taken_over_keeps_the_other_copy(published, monkeypatch, settings):
    """A request thought dead (its claim outlived READER_COPY_CLAIM_SECONDS) that finishes after all does
    not replace the copy of the request that took its claim over: one stored file, the same bytes for both."""
    doc = published.internal_doc
    real = reader_service.watermark_copy
    calls = []

    def first_slow(copy):
        calls.append(copy.number)
        if len(calls) == 1:
            time.sleep(1.0)
        return real(copy)

    monkeypatch.setattr(reader_service, "watermark_copy", first_slow)
    settings.READER_COPY_CLAIM_SECONDS = 0  # every claim is stale at once: the second request takes it over
    results: dict = {}
    errors: list = []

    def run(name, delay):
        try:
            time.sleep(delay)
            response = client_for(published.member).get(read_url(doc))
            results[name] = (response.status_code, body(response))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=("slow", 0)), threading.Thread(target=run, args=("quick", 0.4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert calls == [1, 2]  # both made a copy (the register keeps both numbers) …
    assert results["slow"] == results["quick"] and results["slow"][0] == 200  # … one is served to both
    row = ReaderCopy.objects.get()
    assert row.copy.number == 2
    stored = row.file.storage.listdir(f"reader/{row.version_id}")[1]
    assert stored == [row.file.name.rsplit("/", 1)[1]]
