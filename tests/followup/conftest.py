"""The follow-up cast: the session cast (tests/conftest.py) held and attended, plus the people of a
lead ministry and of a co-operating ministry, and one task of the session's agenda item.

Attendance: ``pm`` (chair) and ``member`` present, ``member2`` absent (did not attend), ``observer``
present (an observer is not a member: attending gives them no task). ``lead_user`` and ``co_user``
are of the two ministries and take no part in the session. Everything is built by the services."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from followup import services
from meetings import services as meeting_services
from meetings.models import Meeting

from ..factories import MinistryFactory, UserFactory


def later(days: int) -> dt.date:
    return services.today() + dt.timedelta(days=days)


@pytest.fixture
def ft(cast):
    lead = MinistryFactory(code="bo-tai-chinh", name="Bộ Tài chính")
    co = MinistryFactory(code="bo-tu-phap", name="Bộ Tư pháp")
    other = MinistryFactory(code="bo-y-te", name="Bộ Y tế")
    lead_user = UserFactory(username="lead01", full_name="Phan Văn Chủ Trì", ministry=lead)
    co_user = UserFactory(username="co01", full_name="Trịnh Thị Phối Hợp", ministry=co)
    cast.set_status(Meeting.Status.PUBLISHED)
    for user, status in ((cast.pm, "present"), (cast.member, "present"), (cast.observer, "present")):
        meeting_services.attendance_set(actor=cast.secretary, meeting=cast.meeting, username=user.username,
                                        status=status)
    meeting_services.attendance_set(actor=cast.secretary, meeting=cast.meeting, username=cast.member2.username,
                                    status="absent", reason="Công tác nước ngoài")
    cast.set_status(Meeting.Status.IN_PROGRESS)
    task = services.task_create(actor=cast.secretary, source_kind="agenda_item", source_id=cast.item.pk,
                                title="Hoàn thiện dự thảo Nghị định về thuế", description="Tiếp thu ý kiến.",
                                lead_ministry="bo-tai-chinh", co_ministries=["bo-tu-phap"], deadline=later(30),
                                priority="high")
    return SimpleNamespace(cast=cast, lead=lead, co=co, other=other, lead_user=lead_user, co_user=co_user,
                           task=task, meeting=cast.meeting, secretary=cast.secretary)


def new_task(ft, **overrides):
    args = {"actor": ft.secretary, "source_kind": "agenda_item", "source_id": ft.cast.item.pk,
            "title": "Báo cáo Chính phủ kết quả thực hiện", "lead_ministry": "bo-tai-chinh",
            "co_ministries": [], "deadline": later(14)}
    args.update(overrides)
    return services.task_create(**args)


# Walk a task to each state through the services (the actor of each step is the one allowed).
PATHS = {
    "assigned": [],
    "in_progress": ["start"],
    "reported_done": ["start", "report"],
    "returned": ["start", "report", "return"],
    "accepted": ["start", "report", "accept"],
    "cancelled": ["cancel"],
}


def walk(ft, task, state: str):
    for step in PATHS[state]:
        if step == "start":
            services.task_start(actor=ft.lead_user, task=task)
        elif step == "report":
            services.task_report(actor=ft.lead_user, task=task, note="Đã trình Chính phủ.")
        elif step == "return":
            services.task_return(actor=ft.secretary, task=task, reason="Thiếu số liệu.")
        elif step == "accept":
            services.task_accept(actor=ft.secretary, task=task)
        elif step == "cancel":
            services.task_cancel(actor=ft.secretary, task=task, reason="Không còn phù hợp.")
    task.refresh_from_db()
    assert task.state == state
    return task
