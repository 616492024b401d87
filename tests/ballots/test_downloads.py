"""The drafts of a ballot are served like session documents: a copy watermarked for its reader on
every page, a copy number traceable in the audit log, never cached."""

from __future__ import annotations

import io

from pypdf import PdfReader

from ecabinet.models import AuditEntry


def text_of(pdf: bytes) -> str:
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_it_watermarks_each_copy_for_its_reader_and_never_caches_it(bcast):
    bcast.issue()
    url = f"/api/v1/ballots/{bcast.ballot.pk}/documents/{bcast.document.pk}/download/"
    mine = bcast.api(bcast.member).get(url)
    theirs = bcast.api(bcast.pm).get(url + "?inline=1")
    assert mine.status_code == theirs.status_code == 200
    assert mine["Cache-Control"] == "no-store, private" and mine["Pragma"] == "no-cache"
    assert mine["Content-Disposition"].startswith("attachment;")
    assert theirs["Content-Disposition"].startswith("inline;")
    assert "Lê Minh Hoàng" in text_of(mine.content) and "Trần Quốc Vinh" not in text_of(mine.content)
    assert "Trần Quốc Vinh" in text_of(theirs.content)
    assert "Dự thảo Nghị định" in text_of(mine.content)  # the draft itself is still there
    entries = list(AuditEntry.objects.filter(action="ballot.document_downloaded").order_by("seq"))
    assert [e.actor_username for e in entries] == ["member01", "pm"]
    # The copy number printed in the mark is the sequence number of the audit entry.
    assert f"Bản số {entries[0].seq}" in text_of(mine.content)


def test_it_serves_the_screen_copy_in_a_frame_of_the_same_site_only(bcast):
    bcast.issue()
    response = bcast.browser(bcast.member).get(
        f"/ballots/{bcast.ballot.pk}/documents/{bcast.document.pk}/file/?inline=1")
    assert response.status_code == 200 and response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Cache-Control"] == "no-store, private"


def test_it_answers_404_for_a_document_of_another_ballot(bcast, clock):
    import datetime as dt

    from voting.services import ballots as services

    from .conftest import pdf_upload

    bcast.issue()
    other = services.ballot_create(actor=bcast.secretary, title="Khác", deadline=clock.now + dt.timedelta(days=1))
    foreign = services.ballot_document_add(actor=bcast.secretary, ballot=other, title="Khác",
                                           upload=pdf_upload(lines=["Khác"]))
    response = bcast.api(bcast.member).get(f"/api/v1/ballots/{bcast.ballot.pk}/documents/{foreign.pk}/download/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
