"""MFA_ENFORCE reaches the room socket too (issue 15): a user who must set up a second factor and has
none is refused like a stranger, by session cookie or by token, until they enrol."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from meetings.consumers import CLOSE_FORBIDDEN
from meetings.models import Meeting

from .test_ws_access import refusal, snapshot_for
from .wsclient import cookie_headers, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_who_must_enrol_cannot_open_the_room(cast, settings):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    settings.MFA_ENFORCE = True
    for headers in (token_headers(cast.member), cookie_headers(cast.member)):
        assert refusal(headers, cast.meeting.pk) == (False, CLOSE_FORBIDDEN)
    TOTPDevice.objects.create(user=cast.member, name="totp", confirmed=True)
    assert snapshot_for(token_headers(cast.member), cast.meeting.pk)["type"] == "snapshot"
    settings.MFA_ENFORCE = False
    assert snapshot_for(token_headers(cast.member2), cast.meeting.pk)["type"] == "snapshot"
