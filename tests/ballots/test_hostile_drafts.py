"""A ballot's drafts are admitted like session documents (issue #14 §2): a decompression bomb is
refused before any transaction opens, and nothing is stored."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from ..test_api_documents import stored_files
from ..test_pdf_admission import shared_bomb
from .conftest import snapshot


def test_it_refuses_a_bomb_attached_to_a_ballot(bcast, settings):
    before, files = snapshot(bcast.ballot), stored_files(settings)
    upload = SimpleUploadedFile("bomb.pdf", shared_bomb(), content_type="application/pdf")
    response = bcast.api(bcast.secretary).post(f"/api/v1/ballots/{bcast.ballot.pk}/documents/",
                                               {"title": "Phụ lục", "file": upload}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (422, "pdf_stream_too_large")
    assert snapshot(bcast.ballot) == before and stored_files(settings) == files
