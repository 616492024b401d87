"""Room frames stay under the budget at the worst case the limits allow (issue 14, meetings.framesize);
paged comments over HTTP; the limits refused with their codes."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from meetings import framesize, services
from meetings.models import Comment, Meeting
from meetings.room import dumps
from meetings.snapshot import comment_dict

from .fill_session import worst_text

DAPHNE_MAX_MESSAGE = 1024 * 1024


def test_the_worst_case_event_frames_stay_far_below_the_frame_budget():
    budget = framesize.frame_budget()
    assert budget * 2 <= DAPHNE_MAX_MESSAGE  # the budget itself keeps a margin under Daphne's limit
    worst = framesize.worst_case_event_bytes()
    for kind, size in worst.items():
        assert size * 1.25 <= budget, (kind, size, budget)


@pytest.mark.django_db
def test_a_real_comment_at_the_limits_is_within_its_computed_bound(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    cast.member.full_name = worst_text(150, 1)
    cast.member.save()
    comment = services.comment_post(actor=cast.member, item_id=cast.item.pk,
                                    text=worst_text(settings.COMMENT_MAX_CHARS, 2))
    frame = dumps({"type": "event", "seq": 10**9, "kind": "comment.posted", "data": {"comment": comment_dict(comment)}})
    assert len(frame.encode()) <= framesize.worst_case_event_bytes()["comment.posted"]


def test_a_snapshot_over_the_budget_goes_in_parts_that_join_into_it():
    state = {"type": "snapshot", "seq": 7, "meeting": {"x": worst_text(50_000, 3), "y": "\x01" * 20_000}}
    text = dumps(state)
    parts = framesize.split(text, 7, budget=16 * 1024)
    assert len(parts) > 1
    assert all(len(part.encode()) <= 16 * 1024 for part in parts)
    messages = [json.loads(part) for part in parts]
    assert [m["part"] for m in messages] == list(range(1, len(parts) + 1))
    assert {m["parts"] for m in messages} == {len(parts)} and {m["type"] for m in messages} == {"snapshot.part"}
    assert json.loads("".join(m["text"] for m in messages)) == state
    assert framesize.split("{}", 1, budget=16) == ["{}"]


@pytest.mark.django_db
def test_it_pages_an_items_comments_with_the_snapshots_rules(cast, settings):
    settings.ROOM_SNAPSHOT_COMMENTS_PER_ITEM = 3
    settings.ROOM_COMMENTS_PAGE_MAX = 4
    cast.set_status(Meeting.Status.PUBLISHED)
    shared = [services.comment_post(actor=cast.member, item_id=cast.item.pk, text=f"Ý kiến {n}").pk
              for n in range(7)]
    services.comment_post(actor=cast.member2, item_id=cast.item.pk, text="Riêng", visibility="private")
    path = f"/api/v1/agenda-items/{cast.item.pk}/comments/"
    member = cast.client(cast.member)
    first = member.get(path).json()
    assert [c["id"] for c in first["results"]] == shared[-4:]
    assert (first["earlier"], first["total"]) == (3, 7)
    second = member.get(path, {"before": shared[-4], "limit": 2}).json()
    assert [c["id"] for c in second["results"]] == shared[1:3] and second["earlier"] == 1
    # The author sees their private note; the page follows each reader's visibility.
    assert cast.client(cast.member2).get(path).json()["total"] == 8
    for bad in ({"limit": 5}, {"limit": 0}, {"limit": "x"}, {"before": "-1"}):
        response = member.get(path, bad)
        assert response.status_code == 400 and response.json()["code"].startswith("invalid_"), bad
    outsider = cast.client(cast.outsider).get(path)
    assert outsider.status_code == 404


@pytest.mark.django_db
def test_it_refuses_what_is_over_the_limits_and_changes_nothing(cast, settings):
    cast.set_status(Meeting.Status.PUBLISHED)
    member = cast.client(cast.member)
    path = f"/api/v1/agenda-items/{cast.item.pk}/comments/"
    assert member.post(path, {"text": "x" * settings.COMMENT_MAX_CHARS}, format="json").status_code == 201
    too_long = member.post(path, {"text": "x" * (settings.COMMENT_MAX_CHARS + 1)}, format="json")
    assert too_long.status_code == 400 and too_long.json()["field"] == "text"
    control = member.post(path, {"text": "xin chào\x01"}, format="json")
    assert (control.status_code, control.json()["code"]) == (400, "invalid_characters")
    assert Comment.objects.count() == 1
    settings.MEETING_MAX_AGENDA_ITEMS = cast.meeting.agenda_items.count()
    response = cast.client(cast.secretary).post(f"/api/v1/meetings/{cast.meeting.pk}/agenda-items/",
                                                {"title": "Một mục nữa"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "too_many_agenda_items")
    settings.MEETING_MAX_PARTICIPANTS = cast.meeting.participants.count()
    response = cast.client(cast.secretary).post(f"/api/v1/meetings/{cast.meeting.pk}/participants/",
                                                {"username": cast.outsider.username, "role": "observer"},
                                                format="json")
    assert (response.status_code, response.json()["code"]) == (409, "too_many_participants")


@pytest.mark.django_db
def test_it_bounds_the_turns_one_person_takes_on_an_item(cast, settings):
    from ecabinet.errors import Conflict
    from meetings.models import SpeakRequest

    settings.SPEAK_MAX_TURNS_PER_ITEM = 2
    cast.set_status(Meeting.Status.IN_PROGRESS)
    for _ in range(2):
        services.speak_request(actor=cast.member, item_id=cast.item.pk)
        services.floor_give(actor=cast.pm, item_id=cast.item.pk)
        services.floor_end(actor=cast.pm, item_id=cast.item.pk)
    with pytest.raises(Conflict) as refused:
        services.speak_request(actor=cast.member, item_id=cast.item.pk)
    assert refused.value.code == "too_many_turns"
    assert SpeakRequest.objects.filter(user=cast.member).count() == 2


def test_a_start_up_check_warns_when_raised_limits_let_a_frame_outgrow_the_budget(settings):
    from meetings.checks import check_frame_budget

    assert check_frame_budget(None) == []
    settings.MEETING_MAX_PARTICIPANTS = 1000
    warnings = check_frame_budget(None)
    assert [w.id for w in warnings] == ["meetings.W001"]
    assert "vote.tally" in warnings[0].msg and "speaker.queue" in warnings[0].msg
