"""The snapshot's participants, read as plain values (``snapshot.participant_dicts``, issue 19), are
exactly what ``participant_dict`` makes of the model instances — the shape the events carry — for
every kind of participant: with and without a ministry, absent with a reason, a substitute before
and after approval."""

from __future__ import annotations

import pytest

from meetings import selectors, services
from meetings.models import Participant
from meetings.snapshot import participant_dict, participant_dicts
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def by_instances(meeting) -> list[dict]:
    return [participant_dict(p) for p in selectors.participants(meeting)]


def test_the_values_equal_the_instances_for_every_kind_of_participant(substitute):
    cast = substitute
    UserFactory(username="deputy02", full_name="Phan Văn Chờ", ministry=None)
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="deputy02",
                             role=Participant.Role.SUBSTITUTE,
                             substitute_for=cast.member.username)  # not approved
    Participant.objects.filter(meeting=cast.meeting, user=cast.member).update(
        attendance=Participant.Attendance.ABSENT, absence_reason="Công tác nước ngoài")
    expected = by_instances(cast.meeting)
    assert participant_dicts(cast.meeting) == expected
    kinds = {(p["role"], p["approved"], p["substitute_for"] is None, p["ministry"] is None) for p in expected}
    assert any(role == "substitute" and approved for role, approved, _s, _m in kinds)
    assert any(role == "substitute" and not approved for role, approved, _s, _m in kinds)
    assert any(p["absence_reason"] for p in expected)
    assert any(p["ministry"] is None for p in expected) and any(p["ministry"] for p in expected)
