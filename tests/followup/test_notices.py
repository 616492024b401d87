"""The notices of a task's changes (``followup.notices.notify_change``): each reaches exactly the
people ``task_notice_recipients`` names — never the actor, an administrator, an observer, another
ministry — in the app and by e-mail (after commit, in Vietnamese), and a change that is refused or
rolled back tells nobody."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from ecabinet.errors import InvalidState
from ecabinet.models import Notification
from followup import services
from followup.models import Task
from followup.permissions import task_notice_recipients

from ..factories import UserFactory
from .conftest import later, new_task, walk


def told(kind: str) -> list[str]:
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


@pytest.fixture
def crowd(ft):
    """Around the ``ft`` cast: a second secretary, an administrator and an inactive account of the
    lead ministry, someone of an unconcerned ministry."""
    ft.secretary2 = UserFactory(username="secretary2", is_secretariat=True)
    UserFactory(username="admin-btc", ministry=ft.lead, is_superuser=True, is_staff=True)
    UserFactory(username="gone-btc", ministry=ft.lead, is_active=False)
    UserFactory(username="yte01", ministry=ft.other)
    ft.lead_user2 = UserFactory(username="lead02", ministry=ft.lead)
    return ft


def test_it_tells_the_lead_and_co_operating_ministries_of_a_new_task_in_the_app_and_by_email(crowd, settings,
                                                                                          django_capture_on_commit_callbacks):
    settings.LANGUAGE_CODE = "vi"
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        task = new_task(crowd, co_ministries=["bo-tu-phap"], deadline=later(10), title="Rà soát Luật Đất đai")
    assert told("task.created") == ["co01", "lead01", "lead02"]
    notice = Notification.objects.filter(kind="task.created").first()
    assert notice.url == f"/tasks/{task.pk}/"
    assert notice.title == "Nhiệm vụ mới: Rà soát Luật Đất đai"
    deadline = later(10).strftime("%d/%m/%Y")
    assert f"Thời hạn: {deadline}." in notice.body and "Bộ Tài chính" in notice.body
    assert "Cơ quan phối hợp: Bộ Tư pháp." in notice.body
    assert sorted(m.to[0] for m in mail.outbox) == ["co01@example.gov.vn", "lead01@example.gov.vn",
                                                    "lead02@example.gov.vn"]
    message = mail.outbox[0]
    assert message.subject == "Nhiệm vụ mới: Rà soát Luật Đất đai"
    assert f"Thời hạn: {deadline}." in message.body and message.body.endswith(f"/tasks/{task.pk}/")


def test_each_change_reaches_exactly_its_people(crowd):
    task = crowd.task  # lead: bo-tai-chinh (lead01, lead02), co: bo-tu-phap (co01)
    services.task_start(actor=crowd.lead_user, task=task)
    assert Notification.objects.filter(kind__startswith="task.").exclude(kind="task.created").count() == 0

    services.task_report(actor=crowd.lead_user, task=task, note="Đã trình Chính phủ.")
    assert told("task.reported") == ["secretary", "secretary2"]  # the secretariat; not the lead who reported

    services.task_return(actor=crowd.secretary, task=task, reason="Thiếu số liệu năm 2025.")
    assert told("task.returned") == ["lead01", "lead02"]
    assert "Thiếu số liệu năm 2025." in Notification.objects.get(kind="task.returned", user=crowd.lead_user).body

    old = Task.objects.get(pk=task.pk).deadline
    services.task_extend(actor=crowd.secretary2, task=task, deadline=later(45), reason="Chờ ý kiến thẩm định.")
    assert told("task.extended") == ["co01", "lead01", "lead02"]
    body = Notification.objects.get(kind="task.extended", user=crowd.co_user).body
    assert old.strftime("%d/%m/%Y") in body and later(45).strftime("%d/%m/%Y") in body
    assert "Chờ ý kiến thẩm định." in body

    services.task_report(actor=crowd.lead_user2, task=task)
    assert told("task.reported") == ["secretary", "secretary", "secretary2", "secretary2"]
    services.task_accept(actor=crowd.secretary, task=task)
    assert told("task.accepted") == ["lead01", "lead02"]

    other = new_task(crowd, co_ministries=["bo-tu-phap"])
    services.task_cancel(actor=crowd.secretary, task=other, reason="Đã lồng ghép vào nhiệm vụ khác.")
    assert told("task.cancelled") == ["co01", "lead01", "lead02"]
    # Nobody else ever heard of these tasks: not the session's chair, members, observer, archivist,
    # outsider, the administrators, another ministry, an inactive account.
    heard = set(Notification.objects.filter(kind__startswith="task.").values_list("user__username", flat=True))
    assert heard == {"lead01", "lead02", "co01", "secretary", "secretary2"}


def test_the_actor_is_never_told_of_their_own_change(crowd):
    crowd.secretary.ministry = crowd.lead
    crowd.secretary.save(update_fields=["ministry"])
    task = new_task(crowd)
    assert "secretary" not in told("task.created")
    walk(crowd, task, "reported_done")
    services.task_return(actor=crowd.secretary, task=task, reason="Bổ sung phụ lục.")
    assert told("task.returned") == ["lead01", "lead02"]


def test_an_approved_delegate_of_the_lead_ministry_is_told_like_its_people(substitute, ft):
    from ecabinet.models import User

    User.objects.filter(username="member03").update(ministry=ft.lead)  # deputy01 stands in for member03
    task = new_task(ft)
    assert "deputy01" in told("task.created")
    assert "deputy01" in [u.username for u in task_notice_recipients(task, "reminder")]
    assert "deputy01" not in [u.username for u in task_notice_recipients(task, "reported")]


def test_a_rolled_back_change_tells_nobody(crowd, django_capture_on_commit_callbacks):
    walk(crowd, crowd.task, "reported_done")
    before = Notification.objects.count()
    mail.outbox.clear()
    with (django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError),
          transaction.atomic()):
        services.task_return(actor=crowd.secretary, task=crowd.task, reason="Thiếu số liệu.")
        assert told("task.returned") == ["lead01", "lead02"]  # written inside the transaction...
        raise RuntimeError("the request failed after the write")
    assert Notification.objects.count() == before  # ...and rolled back with it
    assert callbacks == [] and mail.outbox == []
    assert Task.objects.get(pk=crowd.task.pk).state == "reported_done"


def test_a_refused_change_tells_nobody(crowd):
    before = Notification.objects.count()
    with pytest.raises(InvalidState):
        services.task_accept(actor=crowd.secretary, task=crowd.task)  # assigned: not reported done
    assert Notification.objects.count() == before


def test_the_lead_ministry_told_is_exactly_who_may_move_the_task(substitute, ft):
    """Two copies of "the lead ministry" live in followup.permissions (``TaskAccess.is_lead`` for
    acting, ``task_notice_recipients`` for telling): they agree for every account."""
    from ecabinet.errors import NotFound
    from ecabinet.models import User
    from followup.permissions import task_access

    User.objects.filter(username="member03").update(ministry=ft.lead)
    UserFactory(username="admin-btc", ministry=ft.lead, is_superuser=True, is_staff=True)
    UserFactory(username="gone-btc", ministry=ft.lead, is_active=False)
    task = new_task(ft)

    def may_move(user) -> bool:
        try:
            return task_access(user, task).may("report")
        except NotFound:
            return False

    movers = {u.username for u in User.objects.all() if may_move(u)}
    told_ = {u.username for u in task_notice_recipients(task, "reminder")}
    assert movers == told_ == {"lead01", "member03", "deputy01"}
