"""Issue 18 §6: a written ballot's link to a session — who may set it (a persona table), the refusal
codes, data and audit unchanged on refusal, the screens and the API, and who is shown the link and
the session's list of ballots."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ecabinet.errors import DomainError
from ecabinet.models import AuditEntry
from meetings import services as meeting_services
from meetings.models import Meeting
from voting.models import Ballot
from voting.services import ballots as services

from ..factories import UserFactory, in_days
from .conftest import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(bcast):
    """``mine``: the secretary's session, published, pm chairing, member01 and member03 invited (not
    member02). ``theirs``: another secretary's draft (invisible to ours). ``seen``: another
    secretary's published session where ours is only an observer."""
    other = UserFactory(username="secretary2", full_name="Lương Thị Hoa", is_secretariat=True)

    def session(actor, title, people):
        meeting = meeting_services.meeting_create(actor=actor, title=title, kind="regular", starts_at=in_days(10))
        meeting_services.agenda_item_add(actor=actor, meeting=meeting, title="Dự thảo Nghị định")
        for username, role in people:
            meeting_services.participant_add(actor=actor, meeting=meeting, username=username, role=role)
        return meeting

    mine = session(bcast.secretary, "Phiên họp thường kỳ tháng 12",
                   [("pm", "chair"), ("member01", "member"), ("member03", "member")])
    meeting_services.meeting_publish(actor=bcast.secretary, meeting=mine)
    theirs = session(other, "Phiên họp chuyên đề (dự thảo)", [("pm", "chair")])
    seen = session(other, "Phiên họp chuyên đề về pháp luật", [("pm", "chair"), ("secretary", "observer")])
    meeting_services.meeting_publish(actor=other, meeting=seen)
    for m in (mine, theirs, seen):
        m.refresh_from_db()
    return {"mine": mine, "theirs": theirs, "seen": seen, "secretary2": other}


def code_of(call) -> tuple[int, str]:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.status, caught.value.code


def unchanged(bcast, call) -> tuple[int, str]:
    """The refusal of ``call``, after checking it left the ballot and the audit log as they were."""
    before, entries = snapshot(bcast.ballot), AuditEntry.objects.count()
    refusal = code_of(call)
    assert snapshot(bcast.ballot) == before and AuditEntry.objects.count() == entries
    return refusal


# --- the service: who may link, refusal codes ------------------------------------------------------

def test_the_secretary_links_a_draft_to_a_session_it_manages_and_both_trails_say_so(bcast, sessions):
    mine = sessions["mine"]
    ballot = services.ballot_link_meeting(actor=bcast.secretary, ballot=bcast.ballot, meeting=mine.pk)
    assert ballot.meeting_id == mine.pk
    entry = AuditEntry.objects.get(action="ballot.meeting_linked")
    assert (entry.meeting_id, entry.object_id) == (mine.pk, str(ballot.pk))
    assert entry.data == {"ballot": ballot.pk, "meeting": mine.pk, "previous": None}
    entries = AuditEntry.objects.count()
    services.ballot_link_meeting(actor=bcast.secretary, ballot=bcast.ballot, meeting=mine.pk)  # unchanged
    assert AuditEntry.objects.count() == entries
    services.ballot_link_meeting(actor=bcast.secretary, ballot=bcast.ballot, meeting=None)
    assert Ballot.objects.get(pk=ballot.pk).meeting_id is None
    gone = AuditEntry.objects.get(action="ballot.meeting_unlinked")
    assert (gone.meeting_id, gone.data) == (mine.pk, {"ballot": ballot.pk, "meeting": mine.pk})


PERSONAS = [  # who asks, to which session → the refusal (None: linked)
    ("secretary", "mine", None),
    ("secretary", "theirs", (400, "unknown_meeting")),  # a draft of another secretary: not even seen
    ("secretary", "seen", (403, "meeting_not_managed")),  # seen as an observer, not managed
    ("secretary2", "theirs", None),  # another secretariat account, to its own session
    ("pm", "mine", (404, "not_found")),  # the chair of the session does not see the draft ballot
    ("member01", "mine", (404, "not_found")),
    ("archivist", "mine", (404, "not_found")),
    ("outsider", "mine", (404, "not_found")),
    ("admin", "mine", (404, "not_found")),
]


@pytest.mark.parametrize(("who", "which", "refusal"), PERSONAS)
def test_who_may_link_a_ballot(bcast, sessions, who, which, refusal):
    people = {"secretary": bcast.secretary, "secretary2": sessions["secretary2"], "pm": bcast.pm,
              "member01": bcast.member, "archivist": bcast.archivist, "outsider": bcast.outsider,
              "admin": bcast.admin}
    actor, meeting = people[who], sessions[which]
    call = lambda: services.ballot_link_meeting(actor=actor, ballot=bcast.ballot, meeting=meeting.pk)  # noqa: E731
    if refusal is None:
        assert call().meeting_id == meeting.pk
    else:
        assert unchanged(bcast, call) == refusal


@pytest.mark.parametrize("value", [0, -1, 10**18, 2**70, True, "12", 999_999])
def test_an_implausible_or_missing_session_is_unknown(bcast, sessions, value):
    assert unchanged(bcast, lambda: services.ballot_link_meeting(actor=bcast.secretary, ballot=bcast.ballot,
                                                                  meeting=value)) == (400, "unknown_meeting")


def test_moving_a_ballot_away_needs_the_right_on_the_session_it_leaves(bcast, sessions):
    """Linked by secretary2 to its own session; our secretary may not take it away from there."""
    services.ballot_link_meeting(actor=sessions["secretary2"], ballot=bcast.ballot, meeting=sessions["theirs"].pk)
    bcast.refresh()
    assert unchanged(bcast, lambda: services.ballot_link_meeting(
        actor=bcast.secretary, ballot=bcast.ballot, meeting=sessions["mine"].pk)) == (403, "meeting_not_managed")
    assert unchanged(bcast, lambda: services.ballot_link_meeting(
        actor=bcast.secretary, ballot=bcast.ballot, meeting=None)) == (403, "meeting_not_managed")


def test_an_issued_ballot_keeps_its_session(bcast, sessions):
    services.ballot_link_meeting(actor=bcast.secretary, ballot=bcast.ballot, meeting=sessions["mine"].pk)
    bcast.issue()
    assert unchanged(bcast, lambda: services.ballot_link_meeting(
        actor=bcast.secretary, ballot=bcast.ballot, meeting=None)) == (409, "ballot_not_draft")


def test_a_closed_session_may_be_linked(bcast, sessions):
    """The session that referred the item to a written ballot is often already closed."""
    mine = sessions["mine"]
    for step in (meeting_services.meeting_start, meeting_services.meeting_adjourn, meeting_services.meeting_close):
        step(actor=bcast.secretary, meeting=mine)
    mine.refresh_from_db()
    assert mine.status == Meeting.Status.CLOSED
    assert services.ballot_link_meeting(actor=bcast.secretary, ballot=bcast.ballot, meeting=mine.pk).meeting_id


def test_create_links_or_creates_nothing(bcast, sessions, clock):
    deadline = clock.now + dt.timedelta(days=2)
    count = Ballot.objects.count()
    assert code_of(lambda: services.ballot_create(actor=bcast.secretary, title="Phiếu", deadline=deadline,
                                                  meeting=sessions["seen"].pk)) == (403, "meeting_not_managed")
    assert Ballot.objects.count() == count
    ballot = services.ballot_create(actor=bcast.secretary, title="Phiếu", deadline=deadline,
                                    meeting=sessions["mine"].pk)
    assert ballot.meeting_id == sessions["mine"].pk
    created = AuditEntry.objects.filter(action="ballot.created", object_id=str(ballot.pk)).get()
    assert created.data["meeting"] == sessions["mine"].pk and created.meeting_id is None


def test_update_keeps_the_session_unless_told(bcast, sessions, clock):
    services.ballot_link_meeting(actor=bcast.secretary, ballot=bcast.ballot, meeting=sessions["mine"].pk)
    details = {"title": "Tiêu đề mới", "deadline": clock.now + dt.timedelta(days=4)}
    assert services.ballot_update(actor=bcast.secretary, ballot=bcast.ballot, **details).meeting_id == \
        sessions["mine"].pk
    before = snapshot(bcast.ballot)
    assert code_of(lambda: services.ballot_update(actor=bcast.secretary, ballot=bcast.ballot, title="Khác",
                                                  deadline=details["deadline"], meeting=sessions["seen"].pk)) == \
        (403, "meeting_not_managed")
    assert snapshot(bcast.ballot) == before  # the title did not change either
    assert services.ballot_update(actor=bcast.secretary, ballot=bcast.ballot, meeting=None, **details).meeting_id \
        is None


# --- the API --------------------------------------------------------------------------------------

def test_the_api_links_with_its_codes_and_honours_idempotency(bcast, sessions):
    client, url = bcast.api(bcast.secretary), f"/api/v1/ballots/{bcast.ballot.pk}/meeting/"
    response = client.post(url, {"meeting": sessions["mine"].pk}, format="json", HTTP_IDEMPOTENCY_KEY="link-1")
    assert response.status_code == 200, response.json()
    assert response.json()["meeting"]["id"] == sessions["mine"].pk
    again = client.post(url, {"meeting": sessions["mine"].pk}, format="json", HTTP_IDEMPOTENCY_KEY="link-1")
    assert again.status_code == 200 and AuditEntry.objects.filter(action="ballot.meeting_linked").count() == 1
    for body, status, code in (({"meeting": sessions["seen"].pk}, 403, "meeting_not_managed"),
                               ({"meeting": sessions["theirs"].pk}, 400, "unknown_meeting"),
                               ({"meeting": 10**30}, 400, "unknown_meeting"),
                               ({"meeting": "x"}, 400, None), ({}, 400, None)):
        before = snapshot(bcast.ballot)
        response = client.post(url, body, format="json")
        assert response.status_code == status and (code is None or response.json()["code"] == code), body
        assert snapshot(bcast.ballot) == before
    assert bcast.api(bcast.member).post(url, {"meeting": None}, format="json").status_code == 404
    assert client.post(url, {"meeting": None}, format="json").json()["meeting"] is None


def test_the_api_creates_a_linked_ballot(bcast, sessions, clock):
    deadline = (clock.now + dt.timedelta(days=2)).isoformat()
    client = bcast.api(bcast.secretary)
    response = client.post("/api/v1/ballots/", {"title": "Phiếu gắn phiên", "deadline": deadline,
                                                "meeting": sessions["mine"].pk}, format="json")
    assert response.status_code == 201 and response.json()["meeting"]["title"] == sessions["mine"].title
    refused = client.post("/api/v1/ballots/", {"title": "Phiếu bị từ chối", "deadline": deadline,
                                               "meeting": sessions["seen"].pk}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "meeting_not_managed")
    assert not Ballot.objects.filter(title="Phiếu bị từ chối").exists()


@pytest.fixture
def linked(bcast, sessions):
    services.ballot_link_meeting(actor=bcast.secretary, ballot=bcast.ballot, meeting=sessions["mine"].pk)
    bcast.issue()
    draft = services.ballot_create(actor=bcast.secretary, title="Phiếu nháp gắn phiên",
                                   deadline=bcast.clock.now + dt.timedelta(days=5), meeting=sessions["mine"].pk)
    return {"ballot": bcast.ballot, "draft": draft, "meeting": sessions["mine"]}


def test_the_ballot_names_its_session_only_to_who_may_see_it(bcast, linked):
    url = f"/api/v1/ballots/{linked['ballot'].pk}/"
    assert bcast.api(bcast.member).get(url).json()["meeting"]["id"] == linked["meeting"].pk  # invited
    assert bcast.api(bcast.member2).get(url).json()["meeting"] is None  # a recipient, not invited
    page = bcast.browser(bcast.member).get(f"/ballots/{linked['ballot'].pk}/").content.decode()
    assert f'data-linked-session="{linked["meeting"].pk}"' in page and linked["meeting"].title in page
    page = bcast.browser(bcast.member2).get(f"/ballots/{linked['ballot'].pk}/").content.decode()
    assert "data-linked-session" not in page and linked["meeting"].title not in page


def test_the_list_filtered_by_session(bcast, linked):
    url = f"/api/v1/ballots/?meeting={linked['meeting'].pk}"
    ids = lambda user: [row["id"] for row in bcast.api(user).get(url).json()["results"]]  # noqa: E731
    assert sorted(ids(bcast.secretary)) == sorted([linked["ballot"].pk, linked["draft"].pk])
    assert ids(bcast.member) == [linked["ballot"].pk]
    assert ids(bcast.member2) == []  # recipient, but not invited to the session
    assert ids(bcast.nonrecipient) == []  # invited, but not a recipient
    assert ids(bcast.outsider) == []
    bad = bcast.api(bcast.member).get("/api/v1/ballots/?meeting=1x")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_meeting")


# --- the screens ----------------------------------------------------------------------------------

def session_page(bcast, user, meeting) -> str:
    response = bcast.browser(user).get(f"/meetings/{meeting.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_session_page_lists_the_ballots_its_reader_may_open(bcast, linked):
    meeting, ballot, draft = linked["meeting"], linked["ballot"], linked["draft"]
    page = session_page(bcast, bcast.secretary, meeting)
    assert 'id="written-ballots"' in page and f'data-ballot-id="{ballot.pk}"' in page
    assert f'data-ballot-id="{draft.pk}"' in page
    page = session_page(bcast, bcast.member, meeting)
    assert f'data-ballot-id="{ballot.pk}"' in page and f'data-ballot-id="{draft.pk}"' not in page
    page = session_page(bcast, bcast.pm, meeting)  # the chair is a recipient too
    assert f'data-ballot-id="{ballot.pk}"' in page and draft.title not in page
    page = session_page(bcast, bcast.nonrecipient, meeting)  # invited, not asked: the ballot is not theirs
    assert 'id="written-ballots"' not in page and ballot.title not in page


def test_the_archivist_sees_a_closed_ballot_on_a_closed_session(bcast, linked):
    meeting = linked["meeting"]
    for step in (meeting_services.meeting_start, meeting_services.meeting_adjourn, meeting_services.meeting_close):
        step(actor=bcast.secretary, meeting=meeting)
    page = session_page(bcast, bcast.archivist, meeting)
    assert f'data-ballot-id="{linked["ballot"].pk}"' not in page  # still open: archivists read closed ones
    bcast.clock.move(days=4)
    page = session_page(bcast, bcast.archivist, meeting)
    assert f'data-ballot-id="{linked["ballot"].pk}"' in page and linked["draft"].title not in page


def test_the_edit_screen_sets_and_clears_the_session(bcast, sessions, clock):
    client = bcast.browser(bcast.secretary)
    page = client.get(f"/ballots/{bcast.ballot.pk}/edit/").content.decode()
    assert sessions["mine"].title in page and sessions["seen"].title not in page  # only sessions it manages
    assert sessions["theirs"].title not in page
    local = timezone.localtime(clock.now + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    details = {"title": bcast.ballot.title, "deadline": local}
    client.post(f"/ballots/{bcast.ballot.pk}/edit/details/", {**details, "meeting": sessions["mine"].pk})
    assert bcast.refresh().meeting_id == sessions["mine"].pk
    before = snapshot(bcast.ballot)
    response = client.post(f"/ballots/{bcast.ballot.pk}/edit/details/", {**details, "title": "Khác",
                                                                         "meeting": sessions["seen"].pk})
    assert response.status_code == 302 and snapshot(bcast.ballot) == before  # not a choice: nothing saved
    client.post(f"/ballots/{bcast.ballot.pk}/edit/details/", {**details, "meeting": ""})
    assert bcast.refresh().meeting_id is None


def test_the_edit_screen_does_not_name_a_session_the_secretary_cannot_see(bcast, sessions):
    services.ballot_link_meeting(actor=sessions["secretary2"], ballot=bcast.ballot, meeting=sessions["theirs"].pk)
    page = bcast.browser(bcast.secretary).get(f"/ballots/{bcast.ballot.pk}/edit/").content.decode()
    assert sessions["theirs"].title not in page and f"Session no. {sessions['theirs'].pk}" in page


def test_the_create_screen_links_the_new_ballot(bcast, sessions, clock):
    local = timezone.localtime(clock.now + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    bcast.browser(bcast.secretary).post("/ballots/new/", {"title": "Phiếu mới gắn phiên", "deadline": local,
                                                          "meeting": sessions["mine"].pk})
    assert Ballot.objects.get(title="Phiếu mới gắn phiên").meeting_id == sessions["mine"].pk


def test_the_refusals_and_the_session_list_speak_vietnamese(bcast, linked, sessions, settings):
    from django.utils import translation

    with translation.override("vi"), pytest.raises(DomainError) as caught:
        services.ballot_create(actor=bcast.secretary, title="Phiếu", deadline=bcast.clock.now + dt.timedelta(days=2),
                               meeting=sessions["seen"].pk)
    assert str(caught.value) == ("Chỉ bộ phận thư ký của phiên họp mới được gắn phiếu lấy ý kiến vào phiên họp đó "
                                 "hoặc gỡ phiếu khỏi phiên họp.")
    with translation.override("vi"), pytest.raises(DomainError) as caught:
        services.ballot_link_meeting(actor=bcast.secretary, ballot=linked["draft"], meeting=999_999)
    assert str(caught.value) == "Không có phiên họp này."
    settings.LANGUAGE_CODE = "vi"  # the site's default language, as in production
    page = bcast.browser(bcast.member).get(f"/meetings/{linked['meeting'].pk}/").content.decode()
    assert "Các phiếu lấy ý kiến thành viên Chính phủ gắn với phiên họp này" in page


def test_the_session_pages_prepared_ballot_rows_are_the_rules(bcast, linked):
    """``{% session_ballots %}`` reads its rows with a query prepared once per shape of reader (issue 19):
    for every reader — the secretariat, recipients, an invited non-recipient, the archivist before and after
    the ballot closes, the outsider, a deactivated recipient — the same ballots, fields and order as
    ``voting.permissions.ballots_of_meeting`` through the ORM."""
    from voting.permissions import ballots_of_meeting
    from voting.templatetags.ballot_tags import session_ballot_rows

    meeting = linked["meeting"]
    closed = services.ballot_create(actor=bcast.secretary, title="Phiếu đã đóng", silence_is_consent=True,
                                    deadline=bcast.clock.now + dt.timedelta(days=1), meeting=meeting.pk)
    services.ballot_recipients_set(actor=bcast.secretary, ballot=closed, usernames=["member01"])
    Ballot.objects.filter(pk=closed.pk).update(status=Ballot.Status.OPEN, issued_at=bcast.clock.now)  # issued
    readers = [bcast.secretary, bcast.member, bcast.pm, bcast.member2, bcast.nonrecipient, bcast.archivist,
               bcast.outsider]
    shown = set()
    for moved in (0, 2, 4):  # days: the first ballot still open, then the second closed, then both
        now = bcast.clock.move(days=moved) if moved else bcast.clock.now
        for user in readers:
            orm = [(b.pk, b.title, b.deadline, b.status, b.silence_is_consent)
                   for b in ballots_of_meeting(user, meeting, now).order_by("-deadline", "-id")]
            fast = [(r.pk, r.title, r.deadline, r.status, r.silence_is_consent)
                    for r in session_ballot_rows(user, meeting.pk, now)]
            assert fast == orm, (moved, user.username)
            assert [type(v) for row in fast for v in row] == [type(v) for row in orm for v in row]
            shown.add(tuple(fast))
    assert len(shown) >= 4
    bcast.member.is_active = False
    assert session_ballot_rows(bcast.member, meeting.pk, bcast.clock.now) == []
