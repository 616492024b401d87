"""Who sees a task, as a table over the persona cast, asked three ways that must agree: the query
(``tasks_visible_to``), the single check (``task_access``) and the API (list and detail, 404 for
whoever may not see). See followup/permissions.py for the rules."""

from __future__ import annotations

import pytest

from ecabinet.errors import NotFound
from followup.permissions import can_create_task, task_access, tasks_visible_to
from meetings.models import Meeting

# persona → (sees while the session is in progress, sees once it is closed)
TABLE = {
    "secretary": (True, True),    # the register
    "pm": (True, True),           # chairs the session
    "lead_user": (True, True),    # of the lead ministry
    "co_user": (True, True),      # of a co-operating ministry
    "member": (True, True),       # a member who attended
    "member2": (False, False),    # a member who did not attend
    "observer": (False, False),   # attended, but an observer
    "archivist": (False, True),   # closed registers only
    "outsider": (False, False),
    "admin": (False, False),      # the administrator: no content
    "other_user": (False, False),  # of a ministry the task does not concern
}


def persona(ft, name):
    if name == "other_user":
        from ..factories import UserFactory

        return UserFactory(username="other01", ministry=ft.other)
    return getattr(ft, name, None) or getattr(ft.cast, name)


@pytest.mark.parametrize("closed", [False, True], ids=["in_progress", "closed"])
@pytest.mark.parametrize("name", list(TABLE))
def test_who_sees_a_task(ft, name, closed):
    if closed:
        ft.cast.set_status(Meeting.Status.CLOSED)
    user = persona(ft, name)
    expected = TABLE[name][closed]
    assert tasks_visible_to(user).filter(pk=ft.task.pk).exists() is expected
    if expected:
        assert task_access(user, ft.task.pk).task == ft.task
    else:
        with pytest.raises(NotFound):
            task_access(user, ft.task.pk)
    client = ft.cast.client(user)
    detail = client.get(f"/api/v1/tasks/{ft.task.pk}/")
    assert detail.status_code == (200 if expected else 404)
    if not expected:
        assert detail.json()["code"] == "not_found"
    listed = [row["id"] for row in client.get("/api/v1/tasks/").json()["results"]]
    assert listed == ([ft.task.pk] if expected else [])


def test_an_inactive_account_and_an_anonymous_one_see_nothing(ft):
    from django.contrib.auth.models import AnonymousUser

    ft.lead_user.is_active = False
    ft.lead_user.save(update_fields=["is_active"])
    assert not tasks_visible_to(ft.lead_user).exists()
    assert not tasks_visible_to(AnonymousUser()).exists()
    with pytest.raises(NotFound):
        task_access(AnonymousUser(), ft.task.pk)


def test_the_administrator_of_the_lead_ministry_still_sees_nothing(ft):
    admin = ft.cast.admin
    admin.ministry = ft.lead
    admin.save(update_fields=["ministry"])
    assert not tasks_visible_to(admin).exists()


ACTIONS = {
    "secretary": ["accept", "cancel", "extend", "return"],
    "lead_user": ["progress", "report", "start"],
    "co_user": [], "pm": [], "member": [],
}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_who_may_act(ft, name):
    user = persona(ft, name)
    assert task_access(user, ft.task.pk).actions() == ACTIONS[name]
    assert ft.cast.client(user).get(f"/api/v1/tasks/{ft.task.pk}/").json()["my_actions"] == ACTIONS[name]
    assert can_create_task(user) is (name == "secretary")


def test_a_ballot_task_is_seen_by_its_recipients_and_archivists(ft):
    from followup.models import Task

    from .test_services import closed_ballot

    ballot = closed_ballot(ft)  # recipients: member01
    from followup import services

    task = services.task_create(actor=ft.secretary, source_kind="ballot", source_id=ballot.pk, title="Ban hành",
                                lead_ministry="bo-y-te", deadline=services.today())
    seen = {name: tasks_visible_to(persona(ft, name)).filter(pk=task.pk).exists() for name in TABLE}
    assert seen == {"secretary": True, "pm": False, "lead_user": False, "co_user": False, "member": True,
                    "member2": False, "observer": False, "archivist": True, "outsider": False, "admin": False,
                    "other_user": True}
    assert Task.objects.filter(pk=task.pk, meeting__isnull=True).exists()


@pytest.mark.parametrize("closed", [False, True], ids=["in_progress", "closed"])
def test_the_prepared_queries_answer_what_the_rule_answers(ft, closed):
    """``may_open_register`` and the session page's ``session_tasks`` run ``tasks_visible_to``'s query
    prepared once per shape of account (issue 19): for every persona — several share a shape, so a
    prepared query reused with someone else's id or ministry would show here — they answer exactly
    what the queryset answers, and only for the session asked about."""
    from followup.permissions import may_open_register
    from followup.selectors import session_tasks

    from .conftest import new_task

    second = new_task(ft, regular=True, deadline=None, lead_ministry="bo-y-te")
    if closed:
        ft.cast.set_status(Meeting.Status.CLOSED)
    expected_any = {}
    for name in TABLE:
        user = persona(ft, name)
        visible = tasks_visible_to(user)
        expected_any[name] = visible.exists()
        assert may_open_register(user) is expected_any[name], name
        want = list(visible.filter(meeting_id=ft.meeting.pk).order_by("regular", "deadline", "id"))
        got = session_tasks(user, ft.meeting.pk, 50)
        assert [t.pk for t in got] == [t.pk for t in want], name
        assert [(t.title, t.state, t.regular, t.deadline, t.lead_ministry.name) for t in got] == \
            [(t.title, t.state, t.regular, t.deadline, t.lead_ministry.name) for t in want], name
        assert session_tasks(user, ft.meeting.pk + 1000, 50) == [], name
        assert [t.pk for t in session_tasks(user, ft.meeting.pk, 1)] == [t.pk for t in want][:1], name
    assert second.lead_ministry == ft.other
    assert expected_any["other_user"] is True and expected_any["outsider"] is False  # bo-y-te leads the second



def test_the_header_counts_the_callers_unread_notifications_and_links_the_register_in_one_query(ft):
    """``{% header_counts %}`` (issue 19): one statement answers both of the header's questions, for
    the caller only — someone else's notifications and read ones do not count."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from ecabinet.models import Notification
    from followup.templatetags.followup_tags import header_counts

    for user in (ft.lead_user, ft.cast.outsider, ft.secretary):
        Notification.objects.filter(user=user).delete()
        Notification.objects.bulk_create([Notification(user=user, kind="k", title=f"t{i}") for i in range(3)])
        Notification.objects.create(user=user, kind="k", title="đã đọc", read_at=timezone.now())
    Notification.objects.create(user=ft.co_user, kind="k", title="of someone else")
    for user, tasks in ((ft.lead_user, True), (ft.cast.outsider, False), (ft.secretary, True)):
        with CaptureQueriesContext(connection) as captured:
            answer = header_counts({"user": user})
        assert answer == {"tasks": tasks, "unread": 3}
        assert len(captured.captured_queries) == 1
        browser = Client()
        browser.force_login(user)
        html = browser.get("/").content.decode()
        assert '<span class="count"' in html and ">3</span>" in html
        assert ('data-nav="tasks"' in html) is tasks
    assert header_counts({"user": ft.cast.admin})["tasks"] is False


def test_the_context_processor_still_counts_when_a_template_asks(ft):
    from django.template import engines
    from django.test import RequestFactory

    from ecabinet.models import Notification

    Notification.objects.create(user=ft.lead_user, kind="k", title="một")
    Notification.objects.create(user=ft.co_user, kind="k", title="hai")
    request = RequestFactory().get("/")
    request.user = ft.lead_user
    html = engines["django"].from_string("[{{ unread_notifications }}]").render({}, request)
    unread = Notification.objects.filter(user=ft.lead_user, read_at__isnull=True).count()
    assert html == f"[{unread}]" and unread >= 1
    Notification.objects.filter(user=ft.lead_user).update(read_at=Notification.objects.first().created_at)
    assert engines["django"].from_string("[{{ unread_notifications }}]").render({}, request) == "[0]"
