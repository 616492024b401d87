"""The task screens (followup/views.py): the register, a task's page with the forms of what each
persona may do now, the transitions posted from it, the new-task form and its entry points on the
session and written-ballot pages, the header's link. Every persona of the follow-up cast
(tests/followup/conftest.py) is asked; bad input leaves the data as it was and says why.

Over 400 lines on purpose: the screens share one cast and its helpers, and the persona tables of the
register, the task page and the forms read best side by side."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import translation

from ecabinet.errors import DomainError
from followup import services
from followup.models import Task, TaskChange
from followup.permissions import may_assign_from
from meetings.models import Meeting

from ..factories import UserFactory
from .conftest import later, new_task, walk
from .test_services import closed_ballot

LIST = "/tasks/"
PERSONAS = ("secretary", "pm", "lead_user", "co_user", "member", "member2", "observer", "archivist", "admin",
            "outsider")
# persona → sees the task of the session in progress (the register, its page, the header's link)
SEES = {"secretary": True, "pm": True, "lead_user": True, "co_user": True, "member": True, "member2": False,
        "observer": False, "archivist": False, "admin": False, "outsider": False}


def person(ft, name):
    return getattr(ft, name, None) or getattr(ft.cast, name)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(ft, name):
    return browser(person(ft, name))


def detail(task) -> str:
    return f"/tasks/{task.pk}/"


def action(task, name: str) -> str:
    return f"/tasks/{task.pk}/{name}/"


def row_ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [int(n) for n in re.findall(r'<tr data-task-id="(\d+)"', response.content.decode())]


def forms_on(response) -> list[str]:
    return re.findall(r'class="task-action" data-action="(\w+)"', response.content.decode())


def snapshot(task) -> tuple:
    task.refresh_from_db()
    return task.state, task.deadline, task.reported_at, task.closed_at, TaskChange.objects.filter(task=task).count()


# --- the register ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PERSONAS)
def test_each_persona_sees_their_rows_their_link_and_the_new_task_button(ft, name):
    response = page(ft, name).get(LIST)
    html = response.content.decode()
    assert row_ids(response) == ([ft.task.pk] if SEES[name] else [])
    assert ('data-nav="tasks"' in html) is SEES[name]
    assert ('id="new-task"' in html) is (name == "secretary")
    if SEES[name]:
        assert ft.task.title in html and ft.lead.name_en in html


@pytest.mark.parametrize("name", PERSONAS)
def test_the_task_page_is_a_404_for_whoever_may_not_see_it(ft, name):
    response = page(ft, name).get(detail(ft.task))
    assert response.status_code == (200 if SEES[name] else 404)
    if not SEES[name]:
        assert ft.task.title not in response.content.decode()


def test_the_archivist_sees_the_tasks_once_the_session_is_closed(ft):
    ft.cast.set_status(Meeting.Status.CLOSED)
    client = page(ft, "archivist")
    assert row_ids(client.get(LIST)) == [ft.task.pk]
    response = client.get(detail(ft.task))
    assert response.status_code == 200 and forms_on(response) == []


@pytest.fixture
def register(ft):
    ft.overdue = new_task(ft, title="Quá hạn báo cáo", deadline=later(3))
    Task.objects.filter(pk=ft.overdue.pk).update(deadline=services.today() - dt.timedelta(days=2))
    ft.regular = new_task(ft, title="Theo dõi thường xuyên", regular=True, deadline=None)
    ft.health = new_task(ft, title="Y tế dự phòng", lead_ministry="bo-y-te", deadline=later(60))
    ft.done = walk(ft, new_task(ft, title="Đã xong", deadline=later(5)), "accepted")
    return ft


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["overdue", "done", "task", "health", "regular"]),
    ("?ministry=bo-y-te", ["health"]),
    ("?ministry=bo-tu-phap", ["task"]),
    ("?state=accepted", ["done"]),
    ("?overdue=on", ["overdue"]),
    ("?deadline_before={d10}", ["overdue", "done"]),
    ("?deadline_after={d10}&deadline_before={d40}", ["task"]),
    ("?meeting={meeting}&state=assigned", ["overdue", "task", "health", "regular"]),
])
def test_the_register_filters_and_sorts_by_deadline(register, query, expected):
    ft = register
    query = query.format(d10=later(10).isoformat(), d40=later(40).isoformat(), meeting=ft.meeting.pk)
    assert row_ids(page(ft, "secretary").get(LIST + query)) == [getattr(ft, n).pk for n in expected]


def test_an_overdue_task_is_marked_in_words(register):
    html = page(register, "secretary").get(LIST).content.decode()
    overdue_row = re.search(rf'<tr data-task-id="{register.overdue.pk}".*?</tr>', html, re.S).group(0)
    assert "data-overdue" in overdue_row and "Overdue" in overdue_row
    other_row = re.search(rf'<tr data-task-id="{register.task.pk}".*?</tr>', html, re.S).group(0)
    assert "data-overdue" not in other_row


def test_a_bad_filter_is_said_and_left_out(register):
    response = page(register, "secretary").get(LIST + "?state=done&ministry=bo-y-te")
    assert row_ids(response) == [register.health.pk]
    assert 'data-code="invalid_filter"' in response.content.decode()


def test_the_lead_ministry_sees_only_its_tasks(register):
    assert row_ids(page(register, "lead_user").get(LIST)) == [
        register.overdue.pk, register.done.pk, register.task.pk, register.regular.pk]


def test_the_register_pages(register, settings):
    settings.TASKS_PAGE_SIZE = 2
    client = page(register, "secretary")
    first, second, third = (row_ids(client.get(LIST + f"?page={n}")) for n in (1, 2, 3))
    assert len(first) == 2 and len(second) == 2 and len(third) == 1
    assert len(set(first + second + third)) == 5
    assert row_ids(client.get(LIST + "?page=99")) == third  # beyond the end: the last page
    assert "Page 1 of 3" in client.get(LIST).content.decode()


@pytest.mark.parametrize("name", ["secretary", "member", "lead_user"])
def test_the_register_takes_as_many_queries_for_40_tasks_as_for_3(ft, name, django_assert_max_num_queries):
    client = page(ft, name)
    for n in range(2):
        new_task(ft, title=f"Nhiệm vụ {n}", co_ministries=["bo-tu-phap", "bo-y-te"])
    client.get(LIST)  # the session and the user are read once per request; warm nothing else
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert len(row_ids(client.get(LIST))) == 3
    for n in range(37):
        new_task(ft, title=f"Nhiệm vụ thêm {n}", co_ministries=["bo-tu-phap", "bo-y-te"])
    with django_assert_max_num_queries(len(few)):
        assert len(row_ids(client.get(LIST))) == 40
    assert len(few) <= 12


# --- the task page: what each persona may do ----------------------------------------------------------

# state → (the secretariat's forms, the lead ministry's forms); the lead ministry reports done through
# the report form (tests/followup/test_report_screen.py), not a bare "report" action
FORMS = {
    "assigned": (["extend", "cancel"], ["start"]),
    "in_progress": (["extend", "cancel"], []),
    "reported_done": (["accept", "return", "cancel"], []),
    "returned": (["extend", "cancel"], ["start"]),
    "accepted": ([], []),
    "cancelled": ([], []),
}


@pytest.mark.parametrize("state", list(FORMS))
def test_each_persona_gets_the_forms_of_what_they_may_do_now(ft, state):
    walk(ft, ft.task, state)
    for name in ("secretary", "lead_user", "co_user", "pm", "member"):
        response = page(ft, name).get(detail(ft.task))
        assert response.status_code == 200
        expected = {"secretary": FORMS[state][0], "lead_user": FORMS[state][1]}.get(name, [])
        assert forms_on(response) == expected, (name, state)


def test_a_regular_task_offers_no_extension(ft):
    task = new_task(ft, regular=True, deadline=None)
    assert forms_on(page(ft, "secretary").get(detail(task))) == ["cancel"]


def test_the_task_page_shows_the_decision_the_ministries_and_the_history(ft):
    services.task_extend(actor=ft.secretary, task=ft.task, deadline=later(45), reason="Chờ ý kiến Bộ Tư pháp.")
    html = page(ft, "co_user").get(detail(ft.task)).content.decode()
    assert f'href="/meetings/{ft.meeting.pk}/#item-{ft.cast.item.pk}"' in html and ft.cast.item.title in html
    assert ft.lead.name_en in html and ft.co.name_en in html  # the page is in English: the English names
    assert "Chờ ý kiến Bộ Tư pháp." in html and later(45).strftime("%d/%m/%Y") in html
    assert later(30).strftime("%d/%m/%Y") + " → " + later(45).strftime("%d/%m/%Y") in html
    assert 'data-kind="created"' in html and 'data-kind="extended"' in html
    assert "No reports yet." in html


# --- posting the actions -------------------------------------------------------------------------------


def test_the_lead_ministry_starts_and_reports_and_the_secretariat_returns_and_accepts(ft):
    lead, secretary = page(ft, "lead_user"), page(ft, "secretary")
    response = lead.post(action(ft.task, "start"), follow=True)
    assert response.redirect_chain == [(detail(ft.task), 302)] and "The work has started." in response.content.decode()
    assert snapshot(ft.task)[0] == "in_progress"
    lead.post(action(ft.task, "report"), {"report-note": "Đã trình dự thảo."})
    assert snapshot(ft.task)[0] == "reported_done"
    assert TaskChange.objects.filter(task=ft.task, kind="reported").get().reason == "Đã trình dự thảo."
    secretary.post(action(ft.task, "return"), {"return-reason": "Thiếu số liệu quý IV."})
    assert snapshot(ft.task)[0] == "returned"
    lead.post(action(ft.task, "report"), {})
    response = secretary.post(action(ft.task, "accept"), {"accept-note": ""}, follow=True)
    assert snapshot(ft.task)[0] == "accepted"
    assert "This task is finished" in response.content.decode()


def test_the_secretariat_extends_and_cancels(ft):
    secretary = page(ft, "secretary")
    response = secretary.post(action(ft.task, "extend"), {"extend-deadline": later(60).isoformat(),
                                                          "extend-reason": "Chờ luật sửa đổi."})
    assert response.status_code == 302
    assert snapshot(ft.task)[:2] == ("assigned", later(60))
    secretary.post(action(ft.task, "cancel"), {"cancel-reason": "Không còn phù hợp."})
    assert snapshot(ft.task)[0] == "cancelled"


@pytest.mark.parametrize(("name", "data", "error"), [
    ("return", {"return-reason": "  "}, "Give the reason: the ministry reads it."),
    ("cancel", {}, "Give the reason: the ministry reads it."),
    ("extend", {"extend-deadline": "", "extend-reason": "Lý do"}, "This field is required."),
    ("extend", {"extend-deadline": "2020-01-01", "extend-reason": "Lý do"}, "The deadline has already passed."),
    ("extend", {"extend-deadline": "{same}", "extend-reason": "Lý do"},
     "The new deadline must be later than the current one."),
    ("extend", {"extend-deadline": "31/12/2099", "extend-reason": "Lý do"}, "Enter a valid date."),
    ("cancel", {"cancel-reason": "x" * 2001}, "at most 2000 characters"),
])
def test_a_bad_input_is_shown_beside_the_field_and_changes_nothing(ft, name, data, error):
    if name == "return":
        walk(ft, ft.task, "reported_done")
    data = {k: v.format(same=later(30).isoformat()) for k, v in data.items()}
    before = snapshot(ft.task)
    response = page(ft, "secretary").post(action(ft.task, name), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html.replace("&#x27;", "'")
    assert 'class="errorlist"' in html and 'data-code="invalid_form"' in html
    assert snapshot(ft.task) == before


def test_a_state_that_refuses_is_said_on_the_task_page(ft):
    before = snapshot(ft.task)
    response = page(ft, "secretary").post(action(ft.task, "accept"), {"accept-note": ""}, follow=True)
    assert 'data-code="transition_not_allowed"' in response.content.decode()
    assert snapshot(ft.task) == before


@pytest.mark.parametrize(("name", "verb", "status"), [
    ("lead_user", "cancel", 403), ("co_user", "start", 403), ("pm", "extend", 403), ("member", "report", 403),
    ("secretary", "start", 403), ("member2", "start", 404), ("outsider", "cancel", 404), ("admin", "cancel", 404),
    ("admin", "start", 404), ("secretary", "delete", 404),
])
def test_whoever_may_not_act_is_refused_before_the_body_is_read(ft, name, verb, status):
    before = snapshot(ft.task)
    # an invalid body: a refusal must come first
    response = page(ft, name).post(action(ft.task, verb), {f"{verb}-reason": "", f"{verb}-deadline": "x"})
    assert response.status_code == status
    assert snapshot(ft.task) == before


def test_the_actions_are_post_only(ft):
    assert page(ft, "lead_user").get(action(ft.task, "start")).status_code == 405
    assert snapshot(ft.task)[0] == "assigned"


# --- assigning a task ----------------------------------------------------------------------------------


def new_url(kind: str, source_id: int) -> str:
    return f"/tasks/new/?source_kind={kind}&source_id={source_id}"


GOOD = {"title": "Xây dựng Đề án chuyển đổi số", "description": "Trình Chính phủ trong quý I.",
        "lead_ministry": "bo-y-te", "co_ministries": ["bo-tai-chinh", "bo-tu-phap"], "priority": "urgent"}


def test_the_secretariat_assigns_a_task_from_an_agenda_item(ft):
    client = page(ft, "secretary")
    url = new_url("agenda_item", ft.cast.item.pk)
    form = client.get(url)
    assert form.status_code == 200 and ft.cast.item.title in form.content.decode()
    response = client.post(url, {**GOOD, "deadline": later(20).isoformat()})
    task = Task.objects.get(title=GOOD["title"])
    assert response.status_code == 302 and response["Location"] == detail(task)
    assert (task.source_kind, task.agenda_item_id, task.meeting_id, task.lead_ministry.code, task.deadline,
            task.priority) == ("agenda_item", ft.cast.item.pk, ft.meeting.pk, "bo-y-te", later(20), "urgent")
    assert sorted(m.code for m in task.co_ministries.all()) == ["bo-tai-chinh", "bo-tu-phap"]


def test_a_regular_task_needs_no_deadline(ft):
    page(ft, "secretary").post(new_url("agenda_item", ft.cast.item.pk),
                               {**GOOD, "co_ministries": [], "regular": "on", "deadline": later(3).isoformat()})
    task = Task.objects.get(title=GOOD["title"])
    assert (task.regular, task.deadline) == (True, None)


@pytest.mark.parametrize(("change", "error"), [
    ({"deadline": ""}, "Give a deadline, or mark the task as regular."),
    ({"deadline": "2020-01-01"}, "The deadline has already passed."),
    ({"title": ""}, "This field is required."),
    ({"lead_ministry": "bo-khong-co"}, "Select a valid choice."),
    ({"co_ministries": ["bo-y-te"]}, "The lead ministry cannot also be a co-operating ministry."),
    ({"priority": "rat-gap"}, "Select a valid choice."),
])
def test_a_bad_task_is_shown_on_the_form_and_nothing_is_made(ft, change, error):
    before = Task.objects.count()
    response = page(ft, "secretary").post(new_url("agenda_item", ft.cast.item.pk),
                                          {**GOOD, "deadline": later(20).isoformat(), **change})
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html and 'class="errorlist"' in html and 'data-code="invalid_form"' in html
    assert GOOD["description"] in html  # what was typed is kept
    assert Task.objects.count() == before


def test_a_session_not_held_assigns_nothing(ft):
    meeting = Meeting.objects.create(title="Phiên họp chưa diễn ra", kind="regular", starts_at=ft.meeting.starts_at,
                                     created_by=ft.secretary)
    response = page(ft, "secretary").post(new_url("resolution", meeting.pk), {**GOOD, "deadline": later(9)})
    assert response.status_code == 400 and 'data-code="session_not_closed"' in response.content.decode()
    assert not Task.objects.filter(title=GOOD["title"]).exists()


@pytest.mark.parametrize("name", ["pm", "lead_user", "member", "archivist", "admin", "outsider"])
def test_nobody_else_has_the_new_task_form(ft, name):
    client = page(ft, name)
    url = new_url("agenda_item", ft.cast.item.pk)
    assert client.get(url).status_code == 404
    assert client.get("/tasks/new/").status_code == 404
    assert client.post(url, {**GOOD, "deadline": later(20).isoformat()}).status_code == 404
    assert not Task.objects.filter(title=GOOD["title"]).exists()


@pytest.mark.parametrize("query", ["?source_kind=agenda_item", "?source_kind=vote&source_id=1",
                                   "?source_kind=motion&source_id=999999", "?source_kind=agenda_item&source_id=x"])
def test_a_missing_decision_is_a_404(ft, query):
    assert page(ft, "secretary").get("/tasks/new/" + query).status_code == 404


def test_the_new_task_button_lists_the_sessions_held_and_the_closed_ballots(ft):
    ballot = closed_ballot(ft)
    html = page(ft, "secretary").get("/tasks/new/").content.decode()
    assert ft.meeting.title in html and ballot.title in html
    assert f"source_kind=ballot&amp;source_id={ballot.pk}" in html


# --- the entry points: the session page, the written ballot, the header --------------------------------


def test_the_session_page_lists_its_tasks_for_who_may_see_them(ft):
    for name in ("pm", "member", "secretary"):  # the lead ministry's people are not invited to the session
        html = page(ft, name).get(f"/meetings/{ft.meeting.pk}/").content.decode()
        assert 'id="tasks"' in html and f'data-task-id="{ft.task.pk}"' in html, name
        assert f"/tasks/?meeting={ft.meeting.pk}" in html
    html = page(ft, "member2").get(f"/meetings/{ft.meeting.pk}/").content.decode()
    assert 'id="tasks"' not in html and ft.task.title not in html


def test_only_the_secretariat_gets_the_assign_links_once_the_session_has_been_held(ft):
    url = f"/meetings/{ft.meeting.pk}/"
    html = page(ft, "secretary").get(url).content.decode()
    assert f"source_kind=agenda_item&amp;source_id={ft.cast.item.pk}" in html
    assert 'data-assign="resolution"' not in html  # not closed yet
    assert "data-assign" not in page(ft, "pm").get(url).content.decode()
    ft.cast.set_status(Meeting.Status.CLOSED)
    html = page(ft, "secretary").get(url).content.decode()
    assert f"source_kind=resolution&amp;source_id={ft.meeting.pk}" in html


@pytest.mark.parametrize("status", [Meeting.Status.DRAFT, Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS,
                                    Meeting.Status.ADJOURNED, Meeting.Status.CLOSED])
def test_the_assign_link_is_offered_exactly_when_the_service_accepts(ft, status):
    meeting = Meeting.objects.create(title="Phiên họp", kind="regular", starts_at=ft.meeting.starts_at,
                                     created_by=ft.secretary, status=status)
    from meetings.models import AgendaItem

    item = AgendaItem.objects.create(meeting=meeting, position=1, title="Nội dung")
    try:
        new_task(ft, source_kind="agenda_item", source_id=item.pk)
        accepted = True
    except DomainError:  # the service's refusal (session_not_held)
        accepted = False
    assert may_assign_from(ft.secretary, meeting) is accepted
    assert may_assign_from(ft.cast.pm, meeting) is False


def test_a_closed_written_ballot_offers_the_secretariat_to_assign_a_task(ft):
    ballot = closed_ballot(ft)
    html = page(ft, "secretary").get(f"/ballots/{ballot.pk}/").content.decode()
    assert f"source_kind=ballot&amp;source_id={ballot.pk}" in html
    assert 'data-assign="ballot"' not in page(ft, "member").get(f"/ballots/{ballot.pk}/").content.decode()
    still_open = closed_ballot(ft, close=False)
    assert 'data-assign="ballot"' not in page(ft, "secretary").get(f"/ballots/{still_open.pk}/").content.decode()


def test_the_header_shows_the_register_to_a_ministry_with_a_task_only(ft):
    stranger = UserFactory(username="bo-khac-01", ministry=ft.other)
    assert 'data-nav="tasks"' not in browser(stranger).get("/").content.decode()
    new_task(ft, lead_ministry="bo-y-te")
    assert 'data-nav="tasks"' in browser(stranger).get("/").content.decode()


def test_the_screens_speak_vietnamese(ft, settings):
    settings.LANGUAGE_CODE = "vi"
    with translation.override("vi"):
        client = page(ft, "secretary")
        html = client.get(LIST, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
        assert "Theo dõi thực hiện nhiệm vụ" in html and "Thời hạn" in html and "Quá hạn" not in html
        html = client.get(detail(ft.task), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
        assert "Gia hạn" in html and "Lịch sử" in html
