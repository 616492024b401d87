"""followup.services: every transition, every refusal with its code, and nothing stored changes on a
refusal (tasks, their history, the audit chain)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ecabinet.errors import DomainError
from ecabinet.models import AuditEntry
from followup import services
from followup.models import Task, TaskChange
from meetings.models import Meeting
from voting.services import ballot_answers, ballot_closing, ballots, motions

from ..conftest import Cast
from ..pdfs import make_pdf
from .conftest import PATHS, later, new_task, walk


def snapshot():
    return (list(Task.objects.order_by("pk").values()), list(TaskChange.objects.order_by("pk").values()),
            AuditEntry.objects.count(), list(Task.co_ministries.through.objects.order_by("pk").values()))


def refused(code: str, status: int, call):
    before = snapshot()
    with pytest.raises(DomainError) as caught:
        call()
    assert (caught.value.code, caught.value.status) == (code, status)
    assert snapshot() == before, "a refusal changed stored data"
    return caught.value


# --- creating ------------------------------------------------------------------------------------

def test_the_secretariat_assigns_a_task_from_an_agenda_item_with_history_and_audit(ft):
    task = ft.task
    assert (task.state, task.meeting, task.agenda_item, task.lead_ministry) == (
        "assigned", ft.meeting, ft.cast.item, ft.lead)
    assert [m.code for m in task.co_ministries.all()] == ["bo-tu-phap"]
    change = task.changes.get()
    assert (change.kind, change.from_state, change.to_state, change.new_deadline) == (
        "created", "", "assigned", task.deadline)
    entry = AuditEntry.objects.filter(action="task.created").get()
    assert (entry.object_id, entry.meeting_id, entry.data["lead_ministry"]) == (
        str(task.pk), ft.meeting.pk, "bo-tai-chinh")


def test_a_regular_task_has_no_deadline(ft):
    task = new_task(ft, regular=True, deadline=None)
    assert task.regular and task.deadline is None


def test_a_task_from_a_voted_motion(ft):
    motion = motions.motion_create(actor=ft.secretary, item_id=ft.cast.item.pk, title="Thông qua Nghị định")
    refused("motion_not_closed", 409, lambda: new_task(ft, source_kind="motion", source_id=motion.pk))
    motions.motion_open(actor=ft.cast.pm, motion_id=motion.pk)
    motions.motion_close(actor=ft.cast.pm, motion_id=motion.pk)
    task = new_task(ft, source_kind="motion", source_id=motion.pk)
    assert (task.motion_id, task.meeting_id, task.agenda_item_id) == (motion.pk, ft.meeting.pk, None)


def test_a_task_from_the_resolution_once_the_session_is_closed(ft):
    refused("session_not_closed", 409, lambda: new_task(ft, source_kind="resolution", source_id=ft.meeting.pk))
    ft.cast.set_status(Meeting.Status.CLOSED)
    task = new_task(ft, source_kind="resolution", source_id=ft.meeting.pk)
    assert (task.source_kind, task.meeting_id) == ("resolution", ft.meeting.pk)


def closed_ballot(ft, *, close: bool = True, meeting=None):
    """A written ballot to ``member01`` (made a member of the Government), answered and closed;
    linked to ``meeting`` while it is a draft, if given."""
    ft.cast.member.is_member = True
    ft.cast.member.save(update_fields=["is_member"])
    ballot = ballots.ballot_create(actor=ft.secretary, title="Lấy ý kiến về dự thảo Nghị quyết",
                                   deadline=ballots.current_time() + dt.timedelta(days=3))
    question = ballots.ballot_question_add(actor=ft.secretary, ballot=ballot, text="Đồng ý thông qua?")
    ballots.ballot_document_add(actor=ft.secretary, ballot=ballot, title="Dự thảo",
                                upload=SimpleUploadedFile("d.pdf", make_pdf(), content_type="application/pdf"))
    ballots.ballot_recipients_set(actor=ft.secretary, ballot=ballot, usernames=["member01"])
    if meeting is not None:
        ballot = ballots.ballot_link_meeting(actor=ft.secretary, ballot=ballot, meeting=meeting.pk)
    ballots.ballot_issue(actor=ft.secretary, ballot=ballot)
    if close:
        ballot_answers.ballot_answer(actor=ft.cast.member, ballot=ballot.pk,
                                     answers=[{"question": question.pk, "choice": "agree", "opinion": ""}])
        ballot_closing.ballot_close(actor=ft.secretary, ballot=ballot.pk)
    return ballot


def test_a_task_from_a_closed_written_ballot_has_no_session(ft):
    open_ballot = closed_ballot(ft, close=False)
    refused("ballot_not_closed", 409, lambda: new_task(ft, source_kind="ballot", source_id=open_ballot.pk))
    ballot = closed_ballot(ft)
    task = new_task(ft, source_kind="ballot", source_id=ballot.pk)
    assert (task.ballot_id, task.meeting_id) == (ballot.pk, None)


def test_a_task_from_a_ballot_linked_to_a_session_belongs_to_that_session(ft):
    ballot = closed_ballot(ft, meeting=ft.meeting)
    assert ballot.meeting_id == ft.meeting.pk
    task = new_task(ft, source_kind="ballot", source_id=ballot.pk)
    assert (task.ballot_id, task.meeting_id) == (ballot.pk, ft.meeting.pk)


def test_a_session_not_held_yet_assigns_nothing(db, cast: Cast):
    from ecabinet.models import Ministry

    Ministry.objects.create(code="bo-tai-chinh", name="Bộ Tài chính")
    before = snapshot()
    with pytest.raises(DomainError) as caught:
        services.task_create(actor=cast.secretary, source_kind="agenda_item", source_id=cast.item.pk,
                             title="Sớm quá", lead_ministry="bo-tai-chinh", deadline=later(5))
    assert caught.value.code == "session_not_held" and snapshot() == before


@pytest.mark.parametrize(("overrides", "code", "status"), [
    ({"title": "   "}, "title_required", 400),
    ({"title": "x" * 501}, "text_too_long", 400),
    ({"description": "x" * 10_001}, "text_too_long", 400),
    ({"priority": "whenever"}, "invalid_priority", 400),
    ({"deadline": None}, "deadline_required", 400),
    ({"regular": True}, "deadline_not_allowed", 400),
    ({"deadline": dt.date(2000, 1, 1)}, "deadline_past", 400),
    ({"deadline": "far"}, "deadline_too_far", 400),
    ({"lead_ministry": "bo-khong-co"}, "unknown_ministry", 400),
    ({"co_ministries": ["bo-khong-co"]}, "unknown_ministry", 400),
    ({"co_ministries": ["bo-tai-chinh"]}, "ministry_twice", 400),
    ({"co_ministries": [f"bo-{n}" for n in range(31)]}, "too_many_ministries", 400),
    ({"source_kind": "rumour"}, "invalid_source_kind", 400),
    ({"source_id": 999_999}, "unknown_source", 400),
    ({"source_kind": "motion", "source_id": 999_999}, "unknown_source", 400),
    ({"source_kind": "ballot", "source_id": 999_999}, "unknown_source", 400),
    ({"source_kind": "resolution", "source_id": 999_999}, "unknown_source", 400),
])
def test_creating_refuses_bad_input_and_stores_nothing(ft, overrides, code, status):
    if overrides.get("deadline") == "far":
        overrides = {**overrides, "deadline": later(1831)}
    refused(code, status, lambda: new_task(ft, **overrides))


@pytest.mark.parametrize("who", ["pm", "member", "observer", "archivist", "outsider", "admin", "lead_user"])
def test_only_the_secretariat_assigns(ft, who):
    actor = getattr(ft, who, None) or getattr(ft.cast, who)
    refused("forbidden", 403, lambda: new_task(ft, actor=actor))


def test_a_session_assigns_at_most_the_bound(ft, settings):
    settings.TASKS_PER_SESSION_MAX = 2
    new_task(ft)
    refused("too_many_tasks", 409, lambda: new_task(ft))


# --- the transitions ----------------------------------------------------------------------------

def test_the_whole_life_of_a_task_is_in_its_history_and_the_audit(ft):
    task = ft.task
    services.task_start(actor=ft.lead_user, task=task.pk)
    services.task_report(actor=ft.lead_user, task=task.pk, note="Đã trình.")
    services.task_return(actor=ft.secretary, task=task.pk, reason="Thiếu đánh giá tác động.")
    services.task_start(actor=ft.lead_user, task=task.pk)
    old = Task.objects.get(pk=task.pk).deadline
    services.task_extend(actor=ft.secretary, task=task.pk, deadline=later(60), reason="Chờ ý kiến Bộ Tư pháp.")
    services.task_report(actor=ft.lead_user, task=task.pk)
    done = services.task_accept(actor=ft.secretary, task=task.pk)
    assert done.state == "accepted" and done.closed_at is not None and done.reported_at is not None
    assert done.deadline == later(60)
    history = list(task.changes.values_list("kind", "from_state", "to_state"))
    assert history == [
        ("created", "", "assigned"), ("started", "assigned", "in_progress"),
        ("reported", "in_progress", "reported_done"), ("returned", "reported_done", "returned"),
        ("started", "returned", "in_progress"), ("extended", "in_progress", "in_progress"),
        ("reported", "in_progress", "reported_done"), ("accepted", "reported_done", "accepted")]
    extension = task.changes.get(kind="extended")
    assert (extension.old_deadline, extension.new_deadline, extension.reason) == (
        old, later(60), "Chờ ý kiến Bộ Tư pháp.")
    actions = list(AuditEntry.objects.filter(object_id=str(task.pk), action__startswith="task.")
                   .values_list("action", flat=True))
    assert actions == ["task.created", "task.started", "task.reported", "task.returned", "task.started",
                       "task.extended", "task.reported", "task.accepted"]


def test_a_task_is_cancelled_with_its_reason(ft):
    task = services.task_cancel(actor=ft.secretary, task=ft.task, reason="Đã có chỉ đạo khác.")
    assert task.state == "cancelled" and task.closed_at is not None
    assert task.changes.last().reason == "Đã có chỉ đạo khác."


def test_a_task_may_be_reported_done_without_being_started(ft):
    assert services.task_report(actor=ft.lead_user, task=ft.task).state == "reported_done"


ACTIONS = {
    "start": lambda ft, t: services.task_start(actor=ft.lead_user, task=t),
    "report": lambda ft, t: services.task_report(actor=ft.lead_user, task=t),
    "accept": lambda ft, t: services.task_accept(actor=ft.secretary, task=t),
    "return": lambda ft, t: services.task_return(actor=ft.secretary, task=t, reason="Lý do"),
    "extend": lambda ft, t: services.task_extend(actor=ft.secretary, task=t, deadline=later(90), reason="Lý do"),
    "cancel": lambda ft, t: services.task_cancel(actor=ft.secretary, task=t, reason="Lý do"),
}
ILLEGAL = [(state, action) for state in PATHS for action in ACTIONS
           if state not in services.TRANSITIONS[action][0]]


def test_the_table_of_transitions_is_the_one_documented():
    assert {a: sorted(v[0]) for a, v in services.TRANSITIONS.items()} == {
        "start": ["assigned", "returned"], "report": ["assigned", "in_progress", "returned"],
        "accept": ["reported_done"], "return": ["reported_done"],
        "extend": ["assigned", "in_progress", "returned"],
        "cancel": ["assigned", "in_progress", "reported_done", "returned"]}
    assert len(ILLEGAL) == 36 - 14


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_an_illegal_transition_is_409_and_changes_nothing(ft, state, action):
    task = walk(ft, ft.task, state)
    refused("transition_not_allowed", 409, lambda: ACTIONS[action](ft, task.pk))


@pytest.mark.parametrize(("action", "who"), [
    ("start", "secretary"), ("report", "secretary"), ("start", "co_user"), ("report", "co_user"),
    ("start", "member"), ("start", "pm"),
    ("accept", "lead_user"), ("return", "lead_user"), ("extend", "lead_user"), ("cancel", "lead_user"),
    ("accept", "pm"), ("cancel", "co_user"),
])
def test_acting_without_the_standing_is_403(ft, action, who):
    task = walk(ft, ft.task, "reported_done" if action in ("accept", "return") else "assigned")
    actor = getattr(ft, who, None) or getattr(ft.cast, who)
    call = {
        "start": lambda: services.task_start(actor=actor, task=task.pk),
        "report": lambda: services.task_report(actor=actor, task=task.pk),
        "accept": lambda: services.task_accept(actor=actor, task=task.pk),
        "return": lambda: services.task_return(actor=actor, task=task.pk, reason="x"),
        "extend": lambda: services.task_extend(actor=actor, task=task.pk, deadline=later(90), reason="x"),
        "cancel": lambda: services.task_cancel(actor=actor, task=task.pk, reason="x"),
    }[action]
    refused("forbidden", 403, call)


@pytest.mark.parametrize("who", ["outsider", "admin", "member2", "observer", "archivist"])
def test_acting_on_a_task_one_cannot_see_is_404(ft, who):
    actor = getattr(ft.cast, who)
    refused("not_found", 404, lambda: services.task_start(actor=actor, task=ft.task.pk))
    refused("not_found", 404, lambda: services.task_cancel(actor=actor, task=ft.task.pk, reason="x"))


@pytest.mark.parametrize(("call", "code"), [
    (lambda ft, t: services.task_return(actor=ft.secretary, task=t, reason="  "), "reason_required"),
    (lambda ft, t: services.task_return(actor=ft.secretary, task=t, reason="x" * 2001), "text_too_long"),
    (lambda ft, t: services.task_cancel(actor=ft.secretary, task=t, reason=""), "reason_required"),
    (lambda ft, t: services.task_extend(actor=ft.secretary, task=t, deadline=later(90), reason=""),
     "reason_required"),
    (lambda ft, t: services.task_extend(actor=ft.secretary, task=t, deadline=None, reason="x"), "deadline_required"),
    (lambda ft, t: services.task_extend(actor=ft.secretary, task=t, deadline=later(1), reason="x"),
     "deadline_not_later"),
    (lambda ft, t: services.task_extend(actor=ft.secretary, task=t, deadline=dt.date(2001, 1, 1), reason="x"),
     "deadline_past"),
    (lambda ft, t: services.task_extend(actor=ft.secretary, task=t, deadline=later(5000), reason="x"),
     "deadline_too_far"),
    (lambda ft, t: services.task_report(actor=ft.lead_user, task=t, note="x" * 10_001), "text_too_long"),
])
def test_bad_input_to_a_transition_is_400_and_changes_nothing(ft, call, code):
    # the extensions on an open task (the state is checked after the input), the others on one reported done
    task = new_task(ft) if "task_extend" in call.__code__.co_names else walk(ft, ft.task, "reported_done")
    refused(code, 400, lambda: call(ft, task.pk))


def test_a_regular_task_is_not_extended(ft):
    task = new_task(ft, regular=True, deadline=None)
    refused("task_regular", 409, lambda: services.task_extend(actor=ft.secretary, task=task, deadline=later(9),
                                                              reason="Lý do"))


def test_an_approved_substitute_for_someone_of_the_lead_ministry_acts_for_it(substitute, ft):
    cast = substitute
    cast.member3.ministry = ft.lead
    cast.member3.save(update_fields=["ministry"])
    assert services.task_start(actor=cast.deputy, task=ft.task).state == "in_progress"
    assert services.task_report(actor=cast.deputy, task=ft.task).state == "reported_done"


def test_an_unapproved_substitute_does_not(substitute, ft):
    from meetings.models import Participant

    cast = substitute
    cast.member3.ministry = ft.lead
    cast.member3.save(update_fields=["ministry"])
    Participant.objects.filter(user=cast.deputy).update(substitute_approved_at=None, substitute_approved_by=None)
    refused("not_found", 404, lambda: services.task_start(actor=cast.deputy, task=ft.task))


def test_a_substitute_for_someone_of_another_ministry_does_not(substitute, ft):
    refused("not_found", 404, lambda: services.task_start(actor=substitute.deputy, task=ft.task))


def test_closing_the_session_leaves_its_tasks_moving(ft):
    ft.cast.set_status(Meeting.Status.CLOSED)
    assert services.task_start(actor=ft.lead_user, task=ft.task).state == "in_progress"


def test_refusals_speak_vietnamese(ft):
    from django.utils import translation

    with translation.override("vi"):
        error = refused("reason_required", 400,
                        lambda: services.task_cancel(actor=ft.secretary, task=ft.task, reason=""))
        assert str(error.message) == "Vui lòng nêu lý do: cơ quan được giao sẽ đọc lý do này."
        error = refused("transition_not_allowed", 409, lambda: services.task_accept(actor=ft.secretary, task=ft.task))
        assert str(error.message) == "Không thể thực hiện thao tác này với nhiệm vụ đang ở tình trạng “Đã giao”."
