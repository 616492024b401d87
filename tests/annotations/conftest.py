"""Helpers of the annotation tests (issue 17): the cast of ``tests/conftest.py`` in a published
session, and short ways to annotate through the API."""

from __future__ import annotations

import pytest

from meetings.models import Meeting

HIGHLIGHT = {"kind": "highlight", "page": 1, "rects": [[0.1, 0.2, 0.5, 0.02]], "quote": "Tờ trình", "text": ""}


def annotations_path(document_id: int) -> str:
    return f"/api/v1/documents/{document_id}/annotations/"


def annotation_path(annotation_id: int) -> str:
    return f"/api/v1/annotations/{annotation_id}/"


def annotate(cast, who: str, document=None, headers=None, **payload):
    body = {**HIGHLIGHT, **payload}
    document = document or cast.internal_doc
    return cast.client(getattr(cast, who)).post(annotations_path(document.pk), body, format="json",
                                                headers=headers or {})


def listing(cast, who: str, document=None, version=None):
    document = document or cast.internal_doc
    query = f"?version={version}" if version is not None else ""
    return cast.client(getattr(cast, who)).get(annotations_path(document.pk) + query)


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


@pytest.fixture
def room(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    return cast
