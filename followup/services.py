"""Writes to decision follow-up tasks: one transaction each, the audit entry and the task's history
(``TaskChange``) inside it. Every refusal is a domain error with a ``code``; a refused call leaves
the stored data exactly as it was. Who may act is ``followup.permissions``.

Transitions (``TRANSITIONS``; anything else is 409 ``transition_not_allowed``):

=========  =========================================  ==============  ==================  ===============
action     from                                       to              who                 input
=========  =========================================  ==============  ==================  ===============
create     —                                          assigned        secretariat         the task
start      assigned, returned                         in_progress     lead ministry       —
report     assigned, in_progress, returned            reported_done   lead ministry       note, files (optional)
accept     reported_done                              accepted        secretariat         note (optional)
return     reported_done                              returned        secretariat         reason
extend     assigned, in_progress, returned            (unchanged)     secretariat         deadline, reason
cancel     assigned, in_progress, reported_done,      cancelled       secretariat         reason
           returned
=========  =========================================  ==============  ==================  ===============

``accepted`` and ``cancelled`` are final. "Extended" is an event, not a state: it moves a dated
task's deadline later (409 ``task_regular`` for a regular task) and leaves its state as it was,
so the register still says whether the work is under way; its ``TaskChange`` keeps both deadlines.
A task reported done waits for the secretariat: it is not extended (the ministry says it is done).

Where a task comes from (``source_kind``, ``source_id``): an agenda item or a closed motion of a
session that has been held (in progress, adjourned or closed: 409 ``session_not_held``), the
resolution of a closed session (409 ``session_not_closed``), or a closed written ballot (409
``ballot_not_closed``). The bounds (docs/limits.md, "Decision follow-up tasks") are checked before
any row is locked; the count of tasks per session (or ballot) under the lock of that row.

Each write tells whom it concerns (``followup.notices.notify_change``; whom:
``followup.permissions.task_notice_recipients``) inside its transaction: the in-app notices commit
with the change, the e-mails leave after commit, and a refused or rolled-back write tells nobody.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecabinet import audit, clock
from ecabinet.errors import Conflict, Forbidden, InvalidState, ValidationFailed
from ecabinet.models import Ministry
from ecabinet.textlimits import bounded_description
from meetings.models import AgendaItem, Meeting
from meetings.services.agenda import agenda_item_add
from meetings.services.guards import lock_meeting
from voting.models import Ballot, Motion
from voting.permissions import is_closed as ballot_is_closed

from . import notices
from .models import Task, TaskChange
from .permissions import can_create_task, task_access

__all__ = [
    "TRANSITIONS",
    "current_time",
    "proposed_item_add",
    "report_done_transition",
    "require_creator",
    "task_accept",
    "task_cancel",
    "task_create",
    "task_extend",
    "task_report",
    "task_return",
    "task_start",
    "today",
]

S = Task.State
K = TaskChange.Kind
OPEN = (S.ASSIGNED, S.IN_PROGRESS, S.RETURNED)
HELD = (Meeting.Status.IN_PROGRESS, Meeting.Status.ADJOURNED, Meeting.Status.CLOSED)

# action → (states it may start from, the state it leads to (None: unchanged), the history's kind)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None, str]] = {
    "start": (frozenset({S.ASSIGNED, S.RETURNED}), S.IN_PROGRESS, K.STARTED),
    "report": (frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RETURNED}), S.REPORTED_DONE, K.REPORTED),
    "accept": (frozenset({S.REPORTED_DONE}), S.ACCEPTED, K.ACCEPTED),
    "return": (frozenset({S.REPORTED_DONE}), S.RETURNED, K.RETURNED),
    "extend": (frozenset(OPEN), None, K.EXTENDED),
    "cancel": (frozenset({S.ASSIGNED, S.IN_PROGRESS, S.REPORTED_DONE, S.RETURNED}), S.CANCELLED, K.CANCELLED),
}


def current_time() -> datetime:
    """The services' clock (``ecabinet.clock``, the server's one clock); tests may replace this."""
    return clock.moment()


def today() -> date:
    """The date in the Government's time zone (deadlines are dates there)."""
    return timezone.localdate(current_time())


# --- bounds ---------------------------------------------------------------------------------------

def _too_long(text: str, limit: int, field: str) -> ValidationFailed:
    return ValidationFailed(
        _("The text is too long: %(length)s characters, at most %(limit)s are allowed.")
        % {"length": len(text), "limit": limit}, code="text_too_long", field=field)


def _title(text) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_("Give the task a title."), code="title_required", field="title")
    if len(text) > settings.TASK_TITLE_MAX_CHARS:
        raise _too_long(text, settings.TASK_TITLE_MAX_CHARS, "title")
    return text


def _reason(text, *, required: bool, limit: int | None = None) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationFailed(_("Give the reason: the ministry reads it."), code="reason_required", field="reason")
    limit = limit or settings.TASK_REASON_MAX_CHARS
    if len(text) > limit:
        raise _too_long(text, limit, "reason")
    return text


def _deadline_bounds(deadline: date) -> None:
    now = today()
    if deadline < now:
        raise ValidationFailed(_("The deadline has already passed."), code="deadline_past", field="deadline")
    if deadline > now + timedelta(days=settings.TASK_DEADLINE_MAX_DAYS):
        raise ValidationFailed(_("The deadline is too far ahead: at most %(days)s days from today.")
                               % {"days": settings.TASK_DEADLINE_MAX_DAYS}, code="deadline_too_far", field="deadline")


def _deadline(deadline: date | None, regular: bool) -> date | None:
    if regular:
        if deadline is not None:
            raise ValidationFailed(_("A regular task has no deadline."), code="deadline_not_allowed",
                                   field="deadline")
        return None
    if deadline is None:
        raise ValidationFailed(_("Give a deadline, or mark the task as regular."), code="deadline_required",
                               field="deadline")
    _deadline_bounds(deadline)
    return deadline


def _ministries(lead: str, co: list[str] | tuple[str, ...]) -> tuple[Ministry, list[Ministry]]:
    codes = list(dict.fromkeys(c.strip() for c in co or ()))
    if len(codes) > settings.TASK_MAX_CO_MINISTRIES:
        raise ValidationFailed(_("A task has at most %(n)s co-operating ministries.")
                               % {"n": settings.TASK_MAX_CO_MINISTRIES}, code="too_many_ministries",
                               field="co_ministries")
    lead = (lead or "").strip()
    if lead in codes:
        raise ValidationFailed(_("The lead ministry cannot also be a co-operating ministry."),
                               code="ministry_twice", field="co_ministries")
    found = {m.code: m for m in Ministry.objects.filter(code__in=[lead, *codes])}
    for code, field in ((lead, "lead_ministry"), *((c, "co_ministries") for c in codes)):
        if code not in found:
            raise ValidationFailed(_("There is no ministry “%(code)s”.") % {"code": code[:40]},
                                   code="unknown_ministry", field=field)
    return found[lead], [found[c] for c in codes]


# --- where a task comes from ----------------------------------------------------------------------

def _unknown_source() -> ValidationFailed:
    return ValidationFailed(_("The decision this task comes from was not found."), code="unknown_source",
                            field="source_id")


def _source(kind: str, source_id: int) -> dict:
    """The links of a new task (``meeting``, ``agenda_item``, ``motion``, ``ballot``), checked to be a
    decision taken."""
    links: dict = {"meeting": None, "agenda_item": None, "motion": None, "ballot": None}
    if kind == Task.Source.AGENDA_ITEM:
        item = AgendaItem.objects.select_related("meeting").filter(pk=source_id).first()
        if item is None:
            raise _unknown_source()
        links.update(meeting=item.meeting, agenda_item=item)
    elif kind == Task.Source.MOTION:
        motion = Motion.objects.select_related("agenda_item__meeting").filter(pk=source_id).first()
        if motion is None:
            raise _unknown_source()
        if motion.status != Motion.Status.CLOSED:
            raise InvalidState(_("A task can come only from a motion that has been voted on."),
                               code="motion_not_closed")
        links.update(meeting=motion.agenda_item.meeting, motion=motion)
    elif kind == Task.Source.RESOLUTION:
        meeting = Meeting.objects.filter(pk=source_id).first()
        if meeting is None:
            raise _unknown_source()
        if meeting.status != Meeting.Status.CLOSED:
            raise InvalidState(_("The resolution assigns tasks once the session is closed."),
                               code="session_not_closed")
        links.update(meeting=meeting)
    elif kind == Task.Source.BALLOT:
        ballot = Ballot.objects.filter(pk=source_id).first()
        if ballot is None:
            raise _unknown_source()
        if not ballot_is_closed(ballot, current_time()):
            raise InvalidState(_("A task can come only from a written ballot that is closed."),
                               code="ballot_not_closed")
        # a closed ballot's session is frozen (``voting.services.ballots.ballot_link_meeting``): the
        # task belongs to it, and is counted and seen with that session's tasks
        links.update(ballot=ballot, meeting=ballot.meeting)
    else:
        raise ValidationFailed(_("A task comes from an agenda item, a motion, the resolution or a written ballot."),
                               code="invalid_source_kind", field="source_kind")
    if kind != Task.Source.BALLOT and links["meeting"] is not None and links["meeting"].status not in HELD:
        raise InvalidState(_("The session has not been held yet: it has taken no decision."),
                           code="session_not_held")
    return links


def require_creator(actor) -> None:
    """403 unless the caller may assign tasks (asked before a request's body is read)."""
    if not can_create_task(actor):
        raise Forbidden()


@transaction.atomic
def task_create(*, actor, source_kind: str, source_id: int, title: str, lead_ministry: str,
                co_ministries: list[str] | tuple[str, ...] = (), description: str = "", deadline: date | None = None,
                regular: bool = False, priority: str = Task.Priority.NORMAL) -> Task:
    """The secretariat assigns a task from a decision (see the module's docstring)."""
    require_creator(actor)
    title = _title(title)
    description = bounded_description(description)
    if priority not in Task.Priority.values:
        raise ValidationFailed(_("The priority is normal, high or urgent."), code="invalid_priority",
                               field="priority")
    deadline = _deadline(deadline, bool(regular))
    lead, co = _ministries(lead_ministry, co_ministries)
    links = _source(source_kind, source_id)
    audit.lock_head()
    if links["meeting"] is not None:
        Meeting.objects.select_for_update().filter(pk=links["meeting"].pk).first()
        count = Task.objects.filter(meeting=links["meeting"]).count()
    else:
        Ballot.objects.select_for_update().filter(pk=links["ballot"].pk).first()
        count = Task.objects.filter(ballot=links["ballot"]).count()
    if count >= settings.TASKS_PER_SESSION_MAX:
        raise Conflict(_("A session (or a written ballot) assigns at most %(n)s tasks.")
                       % {"n": settings.TASKS_PER_SESSION_MAX}, code="too_many_tasks")
    now = current_time()
    task = Task.objects.create(source_kind=source_kind, title=title, description=description, lead_ministry=lead,
                               regular=bool(regular), deadline=deadline, priority=priority, state=S.ASSIGNED,
                               created_by=actor, created_at=now, **links)
    task.co_ministries.set(co)
    TaskChange.objects.create(task=task, kind=K.CREATED, actor=actor, at=now, from_state="", to_state=S.ASSIGNED,
                              new_deadline=deadline)
    audit.record(actor, "task.created", task, meeting_id=task.meeting_id, data={
        "source": source_kind, "source_id": source_id, "title": title, "lead_ministry": lead.code,
        "co_ministries": [m.code for m in co], "deadline": deadline.isoformat() if deadline else None,
        "regular": bool(regular), "priority": priority})
    notices.notify_change(task, K.CREATED, actor=actor)  # in the transaction: rolled back with it
    return task


# --- transitions ----------------------------------------------------------------------------------

def _refused(task: Task, action: str) -> InvalidState:
    return InvalidState(
        _("This cannot be done to a task that is “%(state)s”.") % {"state": task.get_state_display()},
        code="transition_not_allowed", action=action)


def _transition(*, actor, task: Task | int, action: str, reason=None, reason_required: bool = False,
                new_deadline: date | None = None, reason_limit: int | None = None,
                audit_extra: dict | None = None) -> Task:
    """Check the caller (404, 403) before the input (400), lock the task, check its state (409),
    write the change."""
    access = task_access(actor, task)
    access.require(action)
    reason = _reason(reason, required=reason_required, limit=reason_limit)
    if action == "extend":
        if new_deadline is None:
            raise ValidationFailed(_("Give the new deadline."), code="deadline_required", field="deadline")
        _deadline_bounds(new_deadline)
    audit.lock_head()
    locked = Task.objects.select_for_update().get(pk=access.task.pk)
    allowed, target, kind = TRANSITIONS[action]
    if locked.state not in allowed:
        raise _refused(locked, action)
    now = current_time()
    old_deadline, from_state = locked.deadline, locked.state
    if action == "extend":
        if locked.regular:
            raise InvalidState(_("A regular task has no deadline to extend."), code="task_regular")
        if new_deadline <= locked.deadline:
            raise ValidationFailed(_("The new deadline must be later than the current one."),
                                   code="deadline_not_later", field="deadline")
        locked.deadline = new_deadline
    if target is not None:
        locked.state = target
    if action == "report":
        locked.reported_at = now
    if target in (S.ACCEPTED, S.CANCELLED):
        locked.closed_at = now
    locked.save(update_fields=["state", "deadline", "reported_at", "closed_at"])
    TaskChange.objects.create(task=locked, kind=kind, actor=actor, at=now, from_state=from_state,
                              to_state=locked.state, reason=reason,
                              old_deadline=old_deadline if action == "extend" else None,
                              new_deadline=new_deadline if action == "extend" else None)
    data = {"from": from_state, "to": locked.state}
    if reason:
        data["reason"] = reason
    if action == "extend":
        data.update(old_deadline=old_deadline.isoformat(), new_deadline=new_deadline.isoformat())
    data.update(audit_extra or {})
    audit.record(actor, f"task.{kind}", locked, meeting_id=locked.meeting_id, data=data)
    notices.notify_change(locked, kind, actor=actor, reason=reason, old_deadline=old_deadline)
    return locked


@transaction.atomic
def task_start(*, actor, task: Task | int) -> Task:
    """The lead ministry starts the work (also after the task was returned)."""
    return _transition(actor=actor, task=task, action="start")


def task_report(*, actor, task: Task | int, note: str = "", files=(), prepared=None) -> Task:
    """The lead ministry reports the task done, with an optional note of what was done and PDF
    attachments: a report of completion (``followup.reports.task_report_done``, which inspects the
    files before its transaction: never call this inside one with files unless ``prepared`` is given)."""
    from .reports import task_report_done  # the reports build on this module's transitions

    return task_report_done(actor=actor, task=task, text=note, files=files, prepared=prepared).task


def report_done_transition(*, actor, task: Task | int, note: str, audit_extra: dict) -> Task:
    """The ``report`` transition inside ``followup.reports``' transaction: the report's text (bounded
    by ``TASK_REPORT_TEXT_MAX_CHARS``) is the note of the history's step, and its audit entry
    (``task.reported``) also names the report and its files (``audit_extra``)."""
    return _transition(actor=actor, task=task, action="report", reason=note,
                       reason_limit=settings.TASK_REPORT_TEXT_MAX_CHARS, audit_extra=audit_extra)


@transaction.atomic
def task_accept(*, actor, task: Task | int, note: str = "") -> Task:
    """The secretariat accepts a task reported done: it is finished."""
    return _transition(actor=actor, task=task, action="accept", reason=note)


@transaction.atomic
def task_return(*, actor, task: Task | int, reason: str) -> Task:
    """The secretariat returns a task reported done, saying why; the ministry works on."""
    return _transition(actor=actor, task=task, action="return", reason=reason, reason_required=True)


@transaction.atomic
def task_extend(*, actor, task: Task | int, deadline: date | None, reason: str) -> Task:
    """The secretariat moves an open dated task's deadline later, saying why."""
    return _transition(actor=actor, task=task, action="extend", reason=reason, reason_required=True,
                       new_deadline=deadline)


@transaction.atomic
def task_cancel(*, actor, task: Task | int, reason: str) -> Task:
    """The secretariat cancels a task that is not finished, saying why."""
    return _transition(actor=actor, task=task, action="cancel", reason=reason, reason_required=True)


# --- the follow-up report on a next session's agenda ------------------------------------------------

def proposed_item_add(*, actor, meeting: Meeting, title: str, description: str):
    """Put the follow-up report on the agenda of ``meeting`` once: under the session's lock, so two
    presses at once add one item (the second finds it; a security review's finding). ``None`` when
    it is already there; the agenda service asks who manages the session and whether it is still
    in preparation."""
    with transaction.atomic():
        lock_meeting(meeting.pk)
        if AgendaItem.objects.filter(meeting_id=meeting.pk, title=title).exists():
            return None
        return agenda_item_add(actor=actor, meeting=meeting, title=title, description=description)
