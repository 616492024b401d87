"""A session cannot be adjourned while one of its votes is open."""

from meetings import services
from meetings.models import Meeting
from voting.models import Motion
from voting.services import motions


def test_it_refuses_to_adjourn_while_a_vote_is_open(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    motion = motions.motion_create(actor=cast.secretary, item_id=cast.item.pk, title="Thông qua Nghị quyết",
                                   method="named")
    motions.motion_open(actor=cast.pm, motion_id=motion.pk)
    response = cast.client(cast.pm).post(f"/api/v1/meetings/{cast.meeting.pk}/adjourn/")
    assert response.status_code == 409 and response.json()["code"] == "motion_open"
    assert Meeting.objects.get(pk=cast.meeting.pk).status == "in_progress"
    motions.motion_close(actor=cast.pm, motion_id=motion.pk)
    services.meeting_adjourn(actor=cast.pm, meeting=cast.meeting)
    assert Motion.objects.get(pk=motion.pk).status == "closed"
