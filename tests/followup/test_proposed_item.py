"""The next session's preparation screen proposes "Báo cáo tình hình thực hiện nhiệm vụ": the open and
overdue tasks of earlier sessions (``followup.proposed``, the ``task_agenda`` tag), shown to the
secretariat only, and the button that adds the item through the agenda service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from followup import services
from followup.models import Task
from followup.proposed import PROPOSED_ITEM_TITLE, proposed_item
from meetings import services as meeting_services
from meetings.models import AgendaItem, Participant

from ..factories import in_days
from .conftest import new_task, walk


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def nxt(ft):
    """The next session (a draft, ten days on), and the earlier session's tasks: the fixture's (open),
    two overdue, one accepted, one cancelled."""
    ft.next = meeting_services.meeting_create(actor=ft.secretary, title="Phiên họp Chính phủ thường kỳ tháng 12",
                                              kind="regular", starts_at=in_days(10), location="Nhà Quốc hội")
    meeting_services.participant_add(actor=ft.secretary, meeting=ft.next, username=ft.cast.pm.username,
                                     role=Participant.Role.CHAIR)
    ft.late1 = new_task(ft, title="Quá hạn lâu")
    ft.late2 = new_task(ft, title="Quá hạn ít")
    Task.objects.filter(pk=ft.late1.pk).update(deadline=services.today() - dt.timedelta(days=20))
    Task.objects.filter(pk=ft.late2.pk).update(deadline=services.today() - dt.timedelta(days=2))
    walk(ft, new_task(ft, title="Đã xong"), "accepted")
    walk(ft, new_task(ft, title="Đã hủy"), "cancelled")
    return ft


def test_the_proposal_counts_the_open_and_overdue_tasks_of_earlier_sessions(nxt):
    got = proposed_item(nxt.secretary, nxt.next, services.today())
    assert (got.open, got.overdue, got.on_agenda) == (3, 2, False)
    assert [(t.title, days) for t, days in got.most_overdue] == [("Quá hạn lâu", 20), ("Quá hạn ít", 2)]
    # the session itself is not "earlier" than itself
    assert proposed_item(nxt.secretary, nxt.meeting, services.today()).open == 0


def test_the_proposal_names_at_most_the_bound(nxt, settings):
    settings.TASKS_PROPOSED_ITEM_LIST = 1
    got = proposed_item(nxt.secretary, nxt.next, services.today())
    assert got.overdue == 2 and [t.title for t, _ in got.most_overdue] == ["Quá hạn lâu"]


def test_the_proposal_takes_the_same_queries_whatever_the_number_of_tasks(nxt):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            proposed_item(nxt.secretary, nxt.next, services.today())
        return len(captured)

    few = count()
    for n in range(12):
        new_task(nxt, title=f"Thêm {n}")
    assert count() == few == 3


def test_the_secretary_sees_the_panel_and_adds_the_item(nxt):
    client = _client(nxt.secretary)
    page = client.get(f"/meetings/{nxt.next.pk}/prepare/").content.decode()
    assert 'id="proposed-item-card"' in page and 'data-open="3" data-overdue="2"' in page
    assert "Quá hạn lâu" in page
    response = client.post(f"/tasks/proposed-item/{nxt.next.pk}/")
    assert response.status_code == 302
    item = AgendaItem.objects.get(meeting=nxt.next, title=PROPOSED_ITEM_TITLE)
    assert "3 nhiệm vụ chưa hoàn thành, trong đó 2 nhiệm vụ quá hạn" in item.description
    # counts only: the agenda is read by everyone invited, the tasks only by whom they concern
    assert "Quá hạn lâu" not in item.description and "Quá hạn ít" not in item.description
    # a second press adds nothing, and the panel says it is on the agenda
    client.post(f"/tasks/proposed-item/{nxt.next.pk}/")
    assert AgendaItem.objects.filter(meeting=nxt.next, title=PROPOSED_ITEM_TITLE).count() == 1
    # nor does a press that read the agenda before the first was added (two at once): the service
    # looks again under the session's lock
    again = services.proposed_item_add(actor=nxt.secretary, meeting=nxt.next, title=PROPOSED_ITEM_TITLE,
                                       description="x")
    assert again is None
    assert AgendaItem.objects.filter(meeting=nxt.next, title=PROPOSED_ITEM_TITLE).count() == 1
    assert "already on the agenda" in client.get(f"/meetings/{nxt.next.pk}/prepare/").content.decode()


@pytest.mark.parametrize("who", ["pm", "member", "admin", "outsider", "archivist"])
def test_only_the_secretariat_may_add_it(nxt, who):
    user = getattr(nxt.cast, who)
    before = AgendaItem.objects.count()
    assert _client(user).post(f"/tasks/proposed-item/{nxt.next.pk}/").status_code == 403
    assert AgendaItem.objects.count() == before


def test_a_missing_session_is_404(nxt):
    assert _client(nxt.secretary).post("/tasks/proposed-item/999999/").status_code == 404


def test_a_session_no_longer_in_preparation_gets_a_message_not_an_item(nxt):
    """The agenda service refuses a held session; nothing is added."""
    nxt.cast.set_status("closed")
    client = _client(nxt.secretary)
    response = client.post(f"/tasks/proposed-item/{nxt.meeting.pk}/", follow=True)
    assert response.status_code == 200
    assert not AgendaItem.objects.filter(meeting=nxt.meeting, title=PROPOSED_ITEM_TITLE).exists()
