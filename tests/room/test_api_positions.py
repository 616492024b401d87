"""Positions before the session and the consent block through API v1 (issue #3 "Positions"): the
chair, members and substitutes mark ``no_objection`` / ``wish_to_speak`` / ``object`` on unsettled
items; the secretariat and the chair see the whole table; the chair takes the uncontested items
together and marks them decided — all of them, or none if any is contested.
"""

from __future__ import annotations

from meetings import services
from meetings.models import AgendaItem, Event, Meeting, Position

MISSING = 987654


def mark(cast, who: str, value: str, item_id: int | None = None, note: str = ""):
    return cast.client(getattr(cast, who)).post(f"/api/v1/agenda-items/{item_id or cast.item.pk}/position/",
                                                {"value": value, "note": note}, format="json")


def table(cast, who: str):
    return cast.client(getattr(cast, who)).get(f"/api/v1/meetings/{cast.meeting.pk}/positions/")


def consent(cast, who: str, item_ids: list[int]):
    return cast.client(getattr(cast, who)).post(f"/api/v1/meetings/{cast.meeting.pk}/consent-block/",
                                                {"items": item_ids}, format="json")


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def statuses(cast) -> dict[int, str]:
    return dict(AgendaItem.objects.filter(meeting=cast.meeting).values_list("id", "status"))


def add_items(cast, n: int) -> list[AgendaItem]:
    return [services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title=f"Mục {i + 2}")
            for i in range(n)]


def test_it_lets_members_and_the_chair_mark_a_position_and_change_it(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    first = mark(cast, "member", "object", note="Trái Luật Ngân sách")
    assert first.status_code == 200
    assert first.json() == {"item": cast.item.pk, "value": "object", "note": "Trái Luật Ngân sách"}
    assert mark(cast, "member", "no_objection").json()["value"] == "no_objection"
    assert mark(cast, "pm", "wish_to_speak").status_code == 200
    assert sorted(Position.objects.values_list("user__username", "value")) == [
        ("member01", "no_objection"), ("pm", "wish_to_speak")]


def test_it_refuses_positions_from_those_who_are_not_members(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    assert error(mark(cast, "observer", "object")) == (403, "forbidden")
    assert error(mark(cast, "secretary", "object")) == (403, "forbidden")
    missing = mark(cast, "member", "object", item_id=MISSING)
    for who in ("outsider", "admin", "archivist"):
        response = mark(cast, who, "object")
        assert (response.status_code, response.json()) == (404, missing.json()), who
    assert error(mark(cast, "member", "abstain")) == (400, "invalid")
    assert not Position.objects.exists()


def test_it_refuses_positions_on_settled_items_and_closed_sessions(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    services.agenda_item_set_status(actor=cast.pm, item_id=cast.item.pk, status="decided")
    assert error(mark(cast, "member", "object")) == (409, "item_settled")
    services.agenda_item_set_status(actor=cast.pm, item_id=cast.item.pk, status="discussing")
    assert mark(cast, "member", "object").status_code == 200  # still open while under discussion
    cast.set_status(Meeting.Status.CLOSED)
    events_before = Event.objects.count()
    assert error(mark(cast, "member", "no_objection")) == (409, "invalid_state")
    assert Event.objects.count() == events_before
    assert Position.objects.get().value == "object"


def test_it_shows_the_whole_table_to_the_secretariat_and_the_chair_only(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    second, third = add_items(cast, 2)
    mark(cast, "member", "object", note="Chưa đủ căn cứ")
    mark(cast, "member2", "no_objection")
    mark(cast, "member2", "wish_to_speak", item_id=second.pk)
    mark(cast, "member", "no_objection", item_id=third.pk)
    for who in ("secretary", "pm"):
        response = table(cast, who)
        assert response.status_code == 200, who
        assert response.json() == {
            "positions": {
                str(cast.item.pk): {"member01": {"value": "object", "note": "Chưa đủ căn cứ"},
                                    "member02": {"value": "no_objection", "note": ""}},
                str(second.pk): {"member02": {"value": "wish_to_speak", "note": ""}},
                str(third.pk): {"member01": {"value": "no_objection", "note": ""}},
            },
            "consent_candidates": [third.pk],
        }
    for who in ("member", "member2", "observer"):
        assert error(table(cast, who)) == (403, "forbidden"), who
    for who in ("outsider", "admin"):
        assert table(cast, who).status_code == 404, who
    # A member's snapshot holds their own positions only.
    own = cast.client(cast.member2).get(f"/api/v1/meetings/{cast.meeting.pk}/snapshot/").json()["meeting"]
    assert {item: set(rows) for item, rows in own["positions"].items()} == {
        str(cast.item.pk): {"member02"}, str(second.pk): {"member02"}}


def test_it_refuses_a_block_with_any_contested_item_and_changes_nothing(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    objected, wished, queued, clean, decided = add_items(cast, 5)
    mark(cast, "member", "object", item_id=objected.pk)
    mark(cast, "member2", "wish_to_speak", item_id=wished.pk)
    cast.client(cast.observer).post(f"/api/v1/agenda-items/{queued.pk}/speakers/")
    services.agenda_item_set_status(actor=cast.pm, item_id=decided.pk, status="decided")
    other = services.meeting_create(actor=cast.secretary, title="Phiên khác", kind="thematic",
                                    starts_at=cast.meeting.starts_at)
    foreign = services.agenda_item_add(actor=cast.secretary, meeting=other, title="Mục của phiên khác")
    before, events_before = statuses(cast), Event.objects.count()
    for contested in (objected, wished, queued, decided, foreign):
        assert error(consent(cast, "pm", [clean.pk, contested.pk])) == (409, "items_contested"), contested.title
    assert statuses(cast) == before
    assert Event.objects.count() == events_before
    assert AgendaItem.objects.get(pk=foreign.pk).status == "pending"


def test_it_lets_only_the_chair_take_a_block_while_in_progress(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    second, = add_items(cast, 1)
    assert error(consent(cast, "pm", [second.pk])) == (409, "invalid_state")
    cast.set_status(Meeting.Status.IN_PROGRESS)
    for who in ("secretary", "member", "observer"):
        assert error(consent(cast, who, [second.pk])) == (403, "forbidden"), who
    assert consent(cast, "outsider", [second.pk]).status_code == 404
    assert error(consent(cast, "pm", [])) == (400, "invalid")
    assert statuses(cast)[second.pk] == "pending"


def test_it_decides_uncontested_items_together_with_one_event_each(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    second, third, fourth = add_items(cast, 3)
    mark(cast, "member", "no_objection", item_id=second.pk)
    mark(cast, "member2", "no_objection", item_id=second.pk)
    mark(cast, "member", "object", item_id=fourth.pk)
    head = Meeting.objects.get(pk=cast.meeting.pk).event_seq
    response = consent(cast, "pm", [second.pk, third.pk, second.pk])  # a repeated id counts once
    assert response.status_code == 200 and response.json() == {"decided": [second.pk, third.pk]}
    assert statuses(cast) == {cast.item.pk: "pending", second.pk: "decided", third.pk: "decided",
                              fourth.pk: "pending"}
    written = list(Event.objects.filter(meeting=cast.meeting, seq__gt=head).order_by("seq"))
    assert [(e.seq, e.kind, e.data) for e in written] == [
        (head + 1, "agenda_item.status", {"item": second.pk, "status": "decided"}),
        (head + 2, "agenda_item.status", {"item": third.pk, "status": "decided"}),
    ]
    # Decided items are settled: they cannot be taken again, nor positions marked on them.
    assert error(consent(cast, "pm", [second.pk])) == (409, "items_contested")
    assert error(mark(cast, "member", "object", item_id=third.pk)) == (409, "item_settled")


def test_a_note_that_is_not_text_is_refused_and_nothing_is_stored(cast):
    """Issue 14: ``{"value": "object", "note": 1e999999}`` was 200, the note stored as "inf"."""
    cast.set_status(Meeting.Status.PUBLISHED)
    client = cast.client(cast.member)
    path = f"/api/v1/agenda-items/{cast.item.pk}/position/"
    for raw in (b'{"value": "object", "note": 1e999999}', b'{"value": "object", "note": 12}',
                b'{"value": "object", "note": true}', b'{"value": "object", "note": ["a"]}',
                b'{"value": "object", "note": {"a": "b"}}', b'{"value": "object", "note": -0.5e-3}'):
        answer = client.generic("POST", path, raw, content_type="application/json")
        assert answer.status_code == 400, raw
        assert answer.json()["code"] == "invalid" and answer.json()["field"] == "note", answer.json()
    assert not Position.objects.exists()
    # Text, and no note at all, still pass.
    assert client.generic("POST", path, b'{"value": "object", "note": "1e999999"}',
                          content_type="application/json").json()["note"] == "1e999999"
    assert client.generic("POST", path, b'{"value": "object"}', content_type="application/json").status_code == 200


def test_comments_titles_and_nested_text_refuse_numbers(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    member, secretary = cast.client(cast.member), cast.client(cast.secretary)
    answer = member.post(f"/api/v1/agenda-items/{cast.item.pk}/comments/", {"text": 5}, format="json")
    assert answer.status_code == 400 and answer.json()["field"] == "text"
    answer = secretary.post("/api/v1/meetings/", {"title": 1e308, "starts_at": "2030-01-01T09:00:00Z"},
                            format="json")
    assert answer.status_code == 400 and answer.json()["field"] == "title", answer.json()
