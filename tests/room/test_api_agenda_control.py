"""The chair's control of the agenda through API v1 (issue #3 "Chair's control"): the chair or the
secretariat moves "now discussing" (the item becomes under discussion) and sets an item's status;
nobody else may, and nothing moves once the session is over.
"""

from __future__ import annotations

from meetings import services
from meetings.models import AgendaItem, Event, Meeting

MISSING = 987654


def move(cast, who: str, item_id: int | None):
    return cast.client(getattr(cast, who)).post(f"/api/v1/meetings/{cast.meeting.pk}/current-item/",
                                                {"item": item_id}, format="json")


def set_status(cast, who: str, status: str, item_id: int | None = None):
    return cast.client(getattr(cast, who)).post(f"/api/v1/agenda-items/{item_id or cast.item.pk}/status/",
                                                {"status": status}, format="json")


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def test_it_moves_now_discussing_and_opens_the_item(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    second = services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Mục 2")
    assert move(cast, "pm", cast.item.pk).json() == {"current_item": cast.item.pk}
    assert AgendaItem.objects.get(pk=cast.item.pk).status == "discussing"
    assert move(cast, "secretary", second.pk).json() == {"current_item": second.pk}
    assert move(cast, "pm", None).json() == {"current_item": None}
    assert Meeting.objects.get(pk=cast.meeting.pk).current_item_id is None
    snapshot = cast.client(cast.observer).get(f"/api/v1/meetings/{cast.meeting.pk}/snapshot/").json()
    assert snapshot["meeting"]["current_item"] is None
    assert {i["id"]: i["status"] for i in snapshot["meeting"]["agenda"]} == {
        cast.item.pk: "discussing", second.pk: "discussing"}


def test_it_lets_only_the_chair_or_secretariat_move_it(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    events_before = Event.objects.filter(meeting=cast.meeting).count()
    for who in ("member", "member2", "observer"):
        assert error(move(cast, who, cast.item.pk)) == (403, "forbidden"), who
        assert error(set_status(cast, who, "decided")) == (403, "forbidden"), who
    for who in ("outsider", "admin", "archivist"):
        assert move(cast, who, cast.item.pk).status_code == 404, who
        assert set_status(cast, who, "decided").status_code == 404, who
    other = services.meeting_create(actor=cast.secretary, title="Phiên khác", kind="thematic",
                                    starts_at=cast.meeting.starts_at)
    foreign = services.agenda_item_add(actor=cast.secretary, meeting=other, title="Mục của phiên khác")
    assert move(cast, "pm", foreign.pk).status_code == 404
    assert move(cast, "pm", MISSING).status_code == 404
    assert error(set_status(cast, "pm", "postponed")) == (400, "invalid")
    assert Event.objects.filter(meeting=cast.meeting).count() == events_before
    assert AgendaItem.objects.get(pk=cast.item.pk).status == "pending"


def test_it_sets_an_item_status_before_and_during_the_session_only(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    assert set_status(cast, "secretary", "withdrawn").json() == {"id": cast.item.pk, "status": "withdrawn"}
    assert error(move(cast, "pm", cast.item.pk)) == (409, "invalid_state")  # not started yet
    cast.set_status(Meeting.Status.IN_PROGRESS)
    assert set_status(cast, "pm", "decided").json()["status"] == "decided"
    cast.set_status(Meeting.Status.CLOSED)
    events_before = Event.objects.count()
    assert error(set_status(cast, "pm", "pending")) == (409, "invalid_state")
    assert error(move(cast, "pm", cast.item.pk)) == (409, "invalid_state")
    assert Event.objects.count() == events_before
    assert AgendaItem.objects.get(pk=cast.item.pk).status == "decided"
