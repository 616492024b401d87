"""The speaking queue through API v1 (issue #3 "Speaking queue"): members, substitutes and guests
ask to speak or withdraw; the chair or the secretariat gives the floor (to the next speaker or a
named one) and ends it, only while the session is in progress.
"""

from __future__ import annotations

import pytest

from meetings import services
from meetings.models import Event, Meeting, SpeakRequest

from ..factories import UserFactory

MISSING = 987654


def ask(cast, who: str, item_id: int | None = None):
    return cast.client(getattr(cast, who)).post(f"/api/v1/agenda-items/{item_id or cast.item.pk}/speakers/")


def withdraw(cast, who: str):
    return cast.client(getattr(cast, who)).post(f"/api/v1/agenda-items/{cast.item.pk}/speakers/withdraw/")


def give(cast, who: str, username: str = "", key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return cast.client(getattr(cast, who)).post(f"/api/v1/agenda-items/{cast.item.pk}/floor/",
                                                {"username": username}, format="json", **headers)


def end(cast, who: str):
    return cast.client(getattr(cast, who)).post(f"/api/v1/agenda-items/{cast.item.pk}/floor/end/")


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def queue(cast) -> list[tuple[str, str]]:
    return [(r.user.username, r.status) for r in SpeakRequest.objects.filter(agenda_item=cast.item)
            .exclude(status="withdrawn").select_related("user").order_by("requested_at", "id")]


def test_it_lets_members_and_guests_ask_to_speak_once(cast):
    cast.set_status(Meeting.Status.PUBLISHED)  # asking before the session opens is allowed
    for who in ("member", "member2", "observer", "pm"):
        response = ask(cast, who)
        assert response.status_code == 201 and response.json()["status"] == "waiting", who
    assert error(ask(cast, "member")) == (409, "already_queued")
    assert error(ask(cast, "secretary")) == (403, "forbidden")
    missing = ask(cast, "member", item_id=MISSING)
    for who in ("outsider", "admin", "archivist"):
        response = ask(cast, who)
        assert (response.status_code, response.json()) == (404, missing.json()), who
    assert queue(cast) == [("member01", "waiting"), ("member02", "waiting"), ("guest", "waiting"), ("pm", "waiting")]


def test_it_lets_an_approved_substitute_ask_to_speak(cast):
    UserFactory(username="deputy03")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="deputy03", role="substitute",
                             substitute_for="member02")
    services.substitute_approve(actor=cast.pm, meeting=cast.meeting, username="deputy03")
    cast.set_status(Meeting.Status.IN_PROGRESS)
    cast.deputy = cast.meeting.participants.get(user__username="deputy03").user
    assert ask(cast, "deputy").status_code == 201


def test_it_withdraws_only_a_waiting_request_and_lets_one_ask_again(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    assert error(withdraw(cast, "member")) == (409, "not_queued")
    ask(cast, "member")
    assert withdraw(cast, "member").json() == {"withdrawn": True}
    assert error(withdraw(cast, "member")) == (409, "not_queued")
    assert ask(cast, "member").status_code == 201  # changed their mind again
    assert queue(cast) == [("member01", "waiting")]


def test_it_lets_only_the_chair_or_secretariat_give_and_end_the_floor(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    ask(cast, "member")
    ask(cast, "member2")
    for who in ("member", "member2", "observer"):
        assert error(give(cast, who)) == (403, "forbidden"), who
        assert error(end(cast, who)) == (403, "forbidden"), who
    missing = cast.client(cast.member).post(f"/api/v1/agenda-items/{MISSING}/floor/", {}, format="json")
    assert (give(cast, "outsider").status_code, give(cast, "outsider").json()) == (404, missing.json())
    given = give(cast, "pm")
    assert given.status_code == 200 and given.json()["username"] == "member01" and given.json()["floor_at"]
    assert queue(cast) == [("member01", "speaking"), ("member02", "waiting")]
    # The next turn ends the current one.
    assert give(cast, "secretary").json()["username"] == "member02"
    assert queue(cast) == [("member01", "done"), ("member02", "speaking")]
    assert end(cast, "secretary").json() == {"ended": True}
    assert queue(cast) == [("member01", "done"), ("member02", "done")]
    assert error(end(cast, "pm")) == (409, "nobody_speaking")
    assert error(give(cast, "pm")) == (409, "queue_empty")


def test_it_gives_the_floor_to_a_named_speaker_out_of_turn(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    for who in ("member", "member2", "observer"):
        ask(cast, who)
    assert give(cast, "pm", username="guest").json()["username"] == "guest"
    assert queue(cast) == [("member01", "waiting"), ("member02", "waiting"), ("guest", "speaking")]
    # Only someone waiting can be named.
    assert error(give(cast, "pm", username="guest")) == (409, "queue_empty")
    assert error(give(cast, "pm", username="secretary")) == (409, "queue_empty")
    assert queue(cast)[2] == ("guest", "speaking")


def test_it_gives_the_floor_once_for_a_repeated_idempotent_request(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    ask(cast, "member")
    ask(cast, "member2")
    first = give(cast, "pm", key="floor-1")
    second = give(cast, "pm", key="floor-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["username"] == "member01"
    assert queue(cast) == [("member01", "speaking"), ("member02", "waiting")]


def test_it_runs_the_floor_only_while_the_session_is_in_progress(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    ask(cast, "member")
    assert error(give(cast, "pm")) == (409, "invalid_state")
    assert error(end(cast, "pm")) == (409, "invalid_state")
    cast.set_status(Meeting.Status.ADJOURNED)
    events_before = Event.objects.count()
    assert error(ask(cast, "member2")) == (409, "invalid_state")
    assert error(withdraw(cast, "member")) == (409, "invalid_state")
    assert error(give(cast, "pm")) == (409, "invalid_state")
    assert Event.objects.count() == events_before
    cast.set_status(Meeting.Status.CLOSED)
    events_before = Event.objects.count()
    for response in (ask(cast, "member2"), withdraw(cast, "member"), give(cast, "pm"), end(cast, "secretary")):
        assert error(response) == (409, "invalid_state")
    assert Event.objects.count() == events_before
    assert queue(cast) == [("member01", "waiting")]


@pytest.mark.parametrize("who", ["member", "observer"])
def test_it_shows_the_queue_to_everyone_in_the_snapshot(cast, who):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    ask(cast, "member2")
    give(cast, "pm")
    ask(cast, "observer")
    speakers = cast.client(getattr(cast, who)).get(f"/api/v1/meetings/{cast.meeting.pk}/snapshot/").json()
    row = speakers["meeting"]["speakers"][str(cast.item.pk)]
    assert [(s["username"], s["status"]) for s in row] == [("member02", "speaking"), ("guest", "waiting")]
    assert row[0]["floor_at"]  # the chair's screen shows the elapsed time from this
