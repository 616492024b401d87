"""Explanatory texts (issue 14 §1): an agenda item's description, a motion's text and a written
ballot's explanation are bounded by ``DESCRIPTION_MAX_CHARS``, through the API (400 naming the
field) and through the services (400 ``text_too_long``), and a refused text stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ecabinet.errors import ValidationFailed
from meetings import services
from meetings.models import AgendaItem, Meeting
from voting.models import Ballot, Motion
from voting.services import ballots as ballot_services
from voting.services import motions as motion_services

pytestmark = pytest.mark.django_db

LIMIT = 50


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.DESCRIPTION_MAX_CHARS = LIMIT


def test_agenda_item_description_is_bounded(cast):
    before = AgendaItem.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Nội dung",
                                 description="ệ" * (LIMIT + 1))
    assert refused.value.code == "text_too_long"
    item = services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Nội dung",
                                    description="ệ" * LIMIT)
    assert item.description == "ệ" * LIMIT
    assert AgendaItem.objects.count() == before + 1


def test_motion_text_is_bounded(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    with pytest.raises(ValidationFailed) as refused:
        motion_services.motion_create(actor=cast.pm, item_id=cast.item.pk, title="Biểu quyết",
                                      text="x" * (LIMIT + 1))
    assert refused.value.code == "text_too_long"
    assert not Motion.objects.exists()


def test_ballot_description_is_bounded(cast):
    deadline = timezone.now() + dt.timedelta(days=3)
    with pytest.raises(ValidationFailed) as refused:
        ballot_services.ballot_create(actor=cast.secretary, title="Phiếu lấy ý kiến", deadline=deadline,
                                      description="x" * (LIMIT + 1))
    assert refused.value.code == "text_too_long"
    assert not Ballot.objects.exists()
    ballot = ballot_services.ballot_create(actor=cast.secretary, title="Phiếu", deadline=deadline, description="ok")
    with pytest.raises(ValidationFailed):
        ballot_services.ballot_update(actor=cast.secretary, ballot=ballot, title="Phiếu", deadline=deadline,
                                      description="x" * (LIMIT + 1))
    ballot.refresh_from_db()
    assert ballot.description == "ok"


def test_the_api_refuses_long_texts_before_the_service(cast, settings):
    """The serializers were built with the default bound: over it the API answers 400 naming the
    field, and nothing is stored."""
    settings.DESCRIPTION_MAX_CHARS = 10_000
    secretary = cast.client(cast.secretary)
    too_long = "ệ" * 10_001
    before = AgendaItem.objects.count()
    response = secretary.post(f"/api/v1/meetings/{cast.meeting.pk}/agenda-items/",
                              {"title": "Nội dung", "description": too_long}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == "description"
    assert response.json()["code"] == "text_too_long"
    assert AgendaItem.objects.count() == before
    response = secretary.post("/api/v1/ballots/", {"title": "Phiếu", "description": too_long,
                                                   "deadline": (timezone.now() + dt.timedelta(days=2)).isoformat()},
                              format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == "description"
    assert response.json()["code"] == "text_too_long"
    assert not Ballot.objects.exists()
    cast.set_status(Meeting.Status.PUBLISHED)
    response = cast.client(cast.pm).post(f"/api/v1/agenda-items/{cast.item.pk}/motions/",
                                         {"title": "Biểu quyết", "text": too_long}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == "text"
    assert not Motion.objects.exists()
