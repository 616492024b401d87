"""Values that ``str.isdigit()`` takes and ``int()`` refuses ("²", "①") get the ordinary refusal, never
a 500 (``ecabinet.converters.whole_number``); found by an attacker test of issue 15."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from meetings.models import Meeting

from ..factories import api_token

ODD = ["²", "①", "٣x", "9" * 40]


@pytest.mark.parametrize("value", ODD)
def test_the_event_replay_refuses_odd_numbers_in_the_api_format(cast, value):
    client = APIClient(HTTP_AUTHORIZATION=f"Token {api_token(cast.member)}")
    answer = client.get(f"/api/v1/meetings/{cast.meeting.pk}/events/", {"after_seq": value})
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_after_seq")


@pytest.mark.parametrize("value", ODD)
def test_screens_and_downloads_refuse_odd_numbers_without_a_500(cast, value):
    cast.set_status(Meeting.Status.CLOSED)
    browser = Client()
    browser.force_login(cast.secretary)
    assert browser.get(f"/meetings/{cast.meeting.pk}/minutes/", {"verify": value}).status_code < 500
    assert browser.get(f"/documents/{cast.public_doc.pk}/file/", {"version": value}).status_code == 404
    api = APIClient(HTTP_AUTHORIZATION=f"Token {api_token(cast.member)}")
    assert api.get(f"/api/v1/documents/{cast.public_doc.pk}/download/", {"version": value}).status_code == 400


@pytest.mark.parametrize("value", ODD)
def test_removing_a_factor_with_an_odd_id_is_refused(cast, value):
    browser = Client()
    browser.force_login(cast.member)
    answer = browser.post("/account/security/remove/", {"factor": f"passkey:{value}", "password": "x"})
    assert answer.status_code == 302
