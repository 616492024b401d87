"""Every voting endpoint against every persona: the chair, the secretary, two members (one absent),
an observer, substitutes (approved and not, with substitutes voting off and on), the archivist, an
outsider and the administrator. Whoever may not see the session gets the same 404 as for a missing
motion; those who see it but may not act get 403; the motion's state answers 409."""

from __future__ import annotations

import secrets

import pytest

from meetings import services
from meetings.models import Meeting
from voting.services import motions

from ..factories import UserFactory

HIDDEN = ("deputy_unapproved", "archivist", "outsider", "admin")
VISIBLE = ("pm", "secretary", "member", "member2", "observer", "deputy")
ALL = VISIBLE + HIDDEN


@pytest.fixture
def people(cast) -> dict:
    """The cast in a session in progress: member2 is absent and replaced by ``deputy`` (approved);
    member03 is absent and replaced by ``deputy_unapproved`` (not approved yet)."""
    c = cast
    c.set_status(Meeting.Status.PUBLISHED)
    member3 = UserFactory(username="member03", full_name="Lê Hữu Lộc")
    deputy = UserFactory(username="deputy02", full_name="Thứ trưởng Hai")
    unapproved = UserFactory(username="deputy03", full_name="Thứ trưởng Ba")
    services.participant_add(actor=c.secretary, meeting=c.meeting, username="member03", role="member")
    services.participant_add(actor=c.secretary, meeting=c.meeting, username="deputy02", role="substitute",
                             substitute_for="member02")
    services.participant_add(actor=c.secretary, meeting=c.meeting, username="deputy03", role="substitute",
                             substitute_for="member03")
    services.substitute_approve(actor=c.pm, meeting=c.meeting, username="deputy02")
    services.meeting_start(actor=c.secretary, meeting=c.meeting)
    for user, status in ((c.pm, "present"), (c.member, "remote"), (c.member2, "absent"), (member3, "absent"),
                         (deputy, "present"), (unapproved, "present"), (c.observer, "present")):
        services.attendance_set(actor=c.secretary, meeting=c.meeting, username=user.username, status=status,
                                reason="Công tác" if status == "absent" else "")
    return {"pm": c.pm, "secretary": c.secretary, "member": c.member, "member2": c.member2, "observer": c.observer,
            "deputy": deputy, "deputy_unapproved": unapproved, "archivist": c.archivist, "outsider": c.outsider,
            "admin": c.admin, "cast": c}


def call(people, name: str, method: str, url: str, body: dict | None = None):
    client = people["cast"].client(people[name])
    return getattr(client, method)(url, body or {}, format="json") if method == "post" else client.get(url)


def expect(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.content)
    if code:
        assert response.json()["code"] == code, response.json()


def draft(people):
    return motions.motion_create(actor=people["secretary"], item_id=people["cast"].item.pk, title="Nghị quyết")


@pytest.mark.parametrize("name", ALL)
def test_it_answers_each_persona_on_every_endpoint_while_the_vote_is_open(people, name):
    item = people["cast"].item
    motion = motions.motion_open(actor=people["pm"], motion_id=draft(people).pk)
    base = f"/api/v1/motions/{motion.pk}"
    token = {"receipt": secrets.token_hex(16)}
    if name in HIDDEN:
        for method, url, body in (("get", f"{base}/", None), ("get", f"/api/v1/agenda-items/{item.pk}/motions/", None),
                                  ("post", f"/api/v1/agenda-items/{item.pk}/motions/", {"title": "X"}),
                                  ("post", f"/api/v1/motions/{draft(people).pk}/open/", None),
                                  ("post", f"{base}/votes/", {"choice": "yes"}), ("get", f"{base}/result/", None),
                                  ("get", f"{base}/record/", None), ("post", f"{base}/verify-receipt/", token),
                                  ("post", f"{base}/close/", None),
                                  ("get", f"/api/v1/meetings/{people['cast'].meeting.pk}/voting-rules/", None),
                                  ("post", f"/api/v1/meetings/{people['cast'].meeting.pk}/voting-rules/",
                                   {"rule": "two-thirds", "substitutes_may_vote": True, "votes_may_change": True})):
            expect(call(people, name, method, url, body), 404, "not_found")
        expect(call(people, name, "get", "/api/v1/motions/999999/"), 404, "not_found")
        return
    runs = name in ("pm", "secretary")
    expect(call(people, name, "get", f"{base}/"), 200)
    expect(call(people, name, "get", f"/api/v1/agenda-items/{item.pk}/motions/"), 200)
    expect(call(people, name, "post", f"/api/v1/agenda-items/{item.pk}/motions/", {"title": "Nghị quyết khác"}),
           *((201,) if runs else (403, "forbidden")))
    expect(call(people, name, "post", f"/api/v1/motions/{draft(people).pk}/open/"),
           *((200,) if runs else (403, "forbidden")))
    vote = {"pm": (201,), "member": (201,), "member2": (403, "not_present"), "secretary": (403, "not_eligible"),
            "observer": (403, "not_eligible"), "deputy": (403, "not_eligible")}[name]
    expect(call(people, name, "post", f"{base}/votes/", {"choice": "yes"}), *vote)
    expect(call(people, name, "get", f"{base}/result/"), 409, "motion_not_closed")
    expect(call(people, name, "get", f"{base}/record/"), 409, "motion_not_closed")
    checked = call(people, name, "post", f"{base}/verify-receipt/", token)
    expect(checked, 200)
    assert checked.json() == {"found": False, "choice": None, "published": False}
    meeting = people["cast"].meeting.pk
    expect(call(people, name, "get", f"/api/v1/meetings/{meeting}/voting-rules/"), 200)
    expect(call(people, name, "post", f"/api/v1/meetings/{meeting}/voting-rules/",
                {"rule": "two-thirds", "substitutes_may_vote": True, "votes_may_change": True}),
           *((409, "motion_open") if name == "pm" else (403, "forbidden")))
    expect(call(people, name, "post", f"{base}/close/"), *((200,) if runs else (403, "forbidden")))


@pytest.mark.parametrize("name", ALL)
def test_it_answers_each_persona_once_the_vote_is_closed(people, name):
    motion = motions.motion_open(actor=people["pm"], motion_id=draft(people).pk)
    motions.vote_cast(actor=people["member"], motion_id=motion.pk, choice="no")
    frozen = motions.motion_close(actor=people["secretary"], motion_id=motion.pk).result
    base = f"/api/v1/motions/{motion.pk}"
    if name in HIDDEN:
        for method, url in (("post", f"{base}/votes/"), ("get", f"{base}/result/"), ("get", f"{base}/record/"),
                            ("post", f"{base}/close/")):
            expect(call(people, name, method, url, {"choice": "yes"}), 404, "not_found")
        return
    vote = {"pm": (409, "motion_not_open"), "member": (409, "motion_not_open"), "member2": (409, "motion_not_open"),
            "deputy": (409, "motion_not_open"), "secretary": (403, "not_eligible"),
            "observer": (403, "not_eligible")}[name]
    expect(call(people, name, "post", f"{base}/votes/", {"choice": "yes"}), *vote)
    result = call(people, name, "get", f"{base}/result/")
    expect(result, 200)
    assert result.json()["no"] == 1 and result.json()["roll_call"][0]["username"] == "member01"
    expect(call(people, name, "get", f"{base}/record/"), 200)
    closing = call(people, name, "post", f"{base}/close/")
    if name in ("pm", "secretary"):  # closing again answers the frozen result
        expect(closing, 200)
        assert closing.json()["yes"] == frozen["yes"] and closing.json()["closed_at"] == frozen["closed_at"]
    else:
        expect(closing, 403, "forbidden")


def test_it_lets_the_archivist_read_but_not_act_once_the_session_is_closed(people):
    c = people["cast"]
    motion = motions.motion_open(actor=people["pm"], motion_id=draft(people).pk)
    motions.motion_close(actor=people["pm"], motion_id=motion.pk)
    c.set_status(Meeting.Status.CLOSED)
    base = f"/api/v1/motions/{motion.pk}"
    for url in (f"{base}/", f"{base}/result/", f"{base}/record/"):
        expect(call(people, "archivist", "get", url), 200)
    expect(call(people, "archivist", "post", f"{base}/votes/", {"choice": "yes"}), 403, "not_eligible")
    expect(call(people, "archivist", "post", f"{base}/close/"), 403, "forbidden")
    for name in ("outsider", "admin", "deputy_unapproved"):
        expect(call(people, name, "get", f"{base}/result/"), 404, "not_found")


def test_it_lets_the_approved_substitute_vote_for_the_absent_member_once_the_chair_allows_it(people):
    meeting = people["cast"].meeting.pk
    expect(call(people, "pm", "post", f"/api/v1/meetings/{meeting}/voting-rules/",
                {"rule": "vn-government", "substitutes_may_vote": True, "votes_may_change": False}), 200)
    motion = motions.motion_open(actor=people["pm"], motion_id=draft(people).pk)
    base = f"/api/v1/motions/{motion.pk}"
    expect(call(people, "deputy_unapproved", "post", f"{base}/votes/", {"choice": "yes"}), 404, "not_found")
    answer = call(people, "deputy", "post", f"{base}/votes/", {"choice": "no"})
    expect(answer, 201)
    assert answer.json()["on_behalf_of"] == "member02"
    services.attendance_set(actor=people["secretary"], meeting=people["cast"].meeting, username="member02",
                            status="present")
    expect(call(people, "member2", "post", f"{base}/votes/", {"choice": "yes"}), 409, "already_voted")
    second = motions.motion_open(actor=people["pm"], motion_id=draft(people).pk)
    # The member is back in the room: the substitute no longer votes in their place.
    expect(call(people, "deputy", "post", f"/api/v1/motions/{second.pk}/votes/", {"choice": "no"}),
           403, "not_eligible")
    expect(call(people, "member2", "post", f"/api/v1/motions/{second.pk}/votes/", {"choice": "yes"}), 201)
    result = call(people, "pm", "post", f"{base}/close/").json()
    assert result["roll_call"] == [{"username": "deputy02", "full_name": "Thứ trưởng Hai", "choice": "no",
                                    "on_behalf_of": "member02"}]


def test_it_refuses_malformed_input_with_the_error_format(people):
    motion = motions.motion_open(actor=people["pm"], motion_id=draft(people).pk)
    base = f"/api/v1/motions/{motion.pk}"
    expect(call(people, "member", "post", f"{base}/votes/", {"choice": "maybe"}), 400, "invalid")
    expect(call(people, "member", "post", f"{base}/verify-receipt/", {"receipt": "not-a-receipt"}), 400,
           "invalid_receipt")
    expect(call(people, "pm", "post", f"/api/v1/agenda-items/{people['cast'].item.pk}/motions/",
                {"title": "X", "rule": "unanimity"}), 400, "invalid")
    expect(call(people, "pm", "post", f"/api/v1/motions/{draft(people).pk}/close/"), 409, "motion_not_open")
