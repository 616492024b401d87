"""Who may see and do what with decision follow-up tasks: the one place that answers it. Views and
services ask the named questions here (``tasks_visible_to``, ``task_access``, ``can_create_task``,
``TaskAccess.may``) and never look at ``is_secretariat`` or ministries themselves.

Who sees a task (issue 18 §5):

* the secretariat (``is_secretariat``): every task — it keeps the register;
* the chair of the task's session: every task of that session (the Prime Minister chairs the
  Government's sessions, so sees theirs; a task of a written ballot linked to no session is seen
  by the ballot's recipients);
* the people of a ministry (``User.ministry``): the tasks their ministry leads or co-operates on;
* members who attended the session (chair, member or substitute with attendance ``present`` or
  ``remote``): every task of that session; for a task of a written ballot, the ballot's recipients;
* the lead ministry's delegate: an approved substitute of the task's session standing in for
  someone of the lead ministry sees (and moves) its tasks of that session;
* archivists: tasks of closed sessions, and of written ballots (which are closed when they assign
  tasks);
* nobody else — observers who are not of a concerned ministry, members who did not attend, the
  administrator (``is_superuser``/``is_staff``: their ministry gives them nothing, and this module
  never calls ``user.has_perm()``). They get the same ``NotFound`` as for a task that does not exist.

Who sees the dashboard, the PDF report and the CSV (docs/followup.md, "Dashboard and reports"):

* the dashboard, its JSON and the report (``may_see_dashboard``): the secretariat and the chair (an
  account that chairs a session: the Prime Minister), never an administrator; their figures are of
  ``tasks_visible_to(user)``;
* the CSV (``may_export_register``): whoever may open the register, their visible rows;
* the proposed agenda item on a session's preparation screen (``may_see_proposed_item``): the
  secretariat.

Who acts (the transitions are ``followup.services``):

* the secretariat creates tasks and accepts, returns, extends and cancels them;
* the lead ministry starts a task, posts progress reports (``progress``) and reports it done: its
  people, and an approved substitute of the task's session standing in for one of them (the
  minister's delegate). Co-operating ministries contribute through the lead ministry and have no
  transition or report of their own.

Reports and their attachments (``followup.reports``) are read by whoever sees the task: the list of
reports and the download of an attachment ask ``task_access`` and ``task_attachment`` here (404 for
anyone else, and for an attachment of another task).

Whom the notices reach (``task_notice_recipients``; the texts are ``followup.notices``), never the
person who made the change, never an administrator, only active accounts:

* ``created``: the lead ministry's people (and delegates) and the co-operating ministries' people;
* ``returned``, ``accepted``: the lead ministry's people (and delegates);
* ``extended``, ``cancelled``: the lead and the co-operating ministries' people (they plan around it);
* ``reported``: the secretariat, which accepts or returns the task;
* ``reminder``, ``overdue`` (the scheduler): the lead ministry's people (and delegates) — those who
  move the task; ``overdue_digest``: the secretariat, once per run that found tasks newly overdue.

"The lead ministry's people (and delegates)" are exactly those who may start and report the task
(``TaskAccess.is_lead``): active users of the lead ministry, and approved substitutes of the task's
session standing in for one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet

from ecabinet import prepared
from ecabinet.errors import Forbidden, NotFound
from ecabinet.permissions import ADMIN_POWERS, has_admin_powers
from meetings.models import Meeting, Participant
from voting.models import Ballot, BallotRecipient
from voting.permissions import is_closed as ballot_is_closed

from .models import Task, TaskAttachment

__all__ = ["ATTENDED", "ATTENDEE_ROLES", "LEAD_ACTIONS", "PROBE_MEETING", "SECRETARIAT_ACTIONS", "TaskAccess",
           "can_create_task", "may_assign_from", "may_assign_from_ballot", "may_assign_resolution",
           "may_export_register", "may_open_register", "may_see_dashboard", "may_see_proposed_item", "register_query",
           "task_access", "task_attachment", "task_notice_recipients", "tasks_visible_to", "visible_tasks_sql"]

ATTENDEE_ROLES = (Participant.Role.CHAIR, Participant.Role.MEMBER, Participant.Role.SUBSTITUTE)
ATTENDED = (Participant.Attendance.PRESENT, Participant.Attendance.REMOTE)
SECRETARIAT_ACTIONS = frozenset({"accept", "return", "extend", "cancel"})
LEAD_ACTIONS = frozenset({"start", "progress", "report"})


def _active(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


def _is_admin(user) -> bool:
    """An administrator (superuser or staff): their ministry gives them no task (``ecabinet.permissions``)."""
    return has_admin_powers(user)


def can_create_task(user) -> bool:
    """Assigns tasks from a session's decisions or a written ballot: the secretariat."""
    return bool(_active(user) and user.is_secretariat)


def is_chair(user) -> bool:
    """Chairs a session (``Participant.Role.CHAIR`` of any session): the Prime Minister."""
    return Participant.objects.filter(user=user, role=Participant.Role.CHAIR).exists()


def may_see_dashboard(user) -> bool:
    """The dashboard, its JSON and the PDF report (issue 18 §4): the secretariat, and the chair — an
    account that chairs at least one session (the Prime Minister). Administrators never (their
    account holds no content duty). The figures are always those of ``tasks_visible_to(user)``: the
    chair's are the tasks of the sessions they chaired, plus what their ministry or attendance gives."""
    if not _active(user) or _is_admin(user):
        return False
    return bool(user.is_secretariat or is_chair(user))


def may_export_register(user) -> bool:
    """The register as CSV: whoever may open the register (any active account that is not an
    administrator); the rows are exactly the tasks ``tasks_visible_to(user)``, so an account that
    sees no task exports a header only."""
    return _active(user) and not _is_admin(user)


def may_see_proposed_item(user) -> bool:
    """The "follow-up of tasks" proposal on a session's preparation screen, and adding it to the
    agenda: the secretariat (who prepares sessions)."""
    return bool(_active(user) and not _is_admin(user) and user.is_secretariat)


def _ministry_q(user) -> Q:
    if _is_admin(user) or user.ministry_id is None:
        return Q(pk__in=[])
    through = Task.co_ministries.through
    return Q(lead_ministry_id=user.ministry_id) | Exists(
        through.objects.filter(task_id=OuterRef("pk"), ministry_id=user.ministry_id))


def tasks_visible_to(user) -> QuerySet[Task]:
    """Tasks the user may open, as one query."""
    if not _active(user):
        return Task.objects.none()
    if user.is_secretariat:
        return Task.objects.all()
    chaired = Exists(Participant.objects.filter(meeting_id=OuterRef("meeting_id"), user=user,
                                                role=Participant.Role.CHAIR))
    attended = Exists(Participant.objects.filter(meeting_id=OuterRef("meeting_id"), user=user,
                                                 role__in=ATTENDEE_ROLES, attendance__in=ATTENDED))
    asked = Exists(BallotRecipient.objects.filter(ballot_id=OuterRef("ballot_id"), user=user))
    delegate = Exists(Participant.objects.filter(
        meeting_id=OuterRef("meeting_id"), user=user, role=Participant.Role.SUBSTITUTE,
        substitute_approved_at__isnull=False, substitute_for__ministry_id=OuterRef("lead_ministry_id")))
    visible = _ministry_q(user) | chaired | attended | asked | delegate
    if user.is_archivist:
        visible |= Q(meeting__status=Meeting.Status.CLOSED) | Q(ballot__isnull=False)
    return Task.objects.filter(visible)


# --- the same rule as prepared SQL, for what every page asks (issue 19) ------------------------------
#
# The header of every page asks ``may_open_register`` and the session page lists its tasks: building
# ``tasks_visible_to``'s query (five subqueries) costs Django more CPU than SQLite takes to answer
# it. So the query is built once per process for each *shape* of account (what changes its SQL:
# archivist or not, administrator powers, with or without a ministry), from ``tasks_visible_to`` itself
# called with a probe account whose id and ministry are sentinels; each request only puts its own
# values in place of the sentinels. The rule stays ``tasks_visible_to`` — this is its compiled form,
# and tests/followup/test_permissions.py checks the two answer alike for every kind of account.

_PROBE_USER, _PROBE_MINISTRY, PROBE_MEETING = -730_194_600_001, -730_194_600_002, -730_194_600_003


def _shape(user) -> tuple:
    return (bool(user.is_archivist), tuple(bool(getattr(user, f, False)) for f in ADMIN_POWERS),
            user.ministry_id is None)


def _probe(user):
    """An unsaved account of ``user``'s shape whose id and ministry are the sentinels."""
    probe = get_user_model()(pk=_PROBE_USER, is_active=True, is_secretariat=False,
                             is_archivist=bool(user.is_archivist),
                             ministry_id=None if user.ministry_id is None else _PROBE_MINISTRY,
                             **{f: bool(getattr(user, f, False)) for f in ADMIN_POWERS})
    probe._state.adding = False
    return probe


def visible_tasks_sql(user, name: str, build, **values) -> tuple[str, str, list]:
    """``build(tasks_visible_to(user))`` as (database alias, SQL, parameters), prepared once per
    account shape and ``name``. ``build`` may filter with ``PROBE_MEETING`` in place of a session id,
    given as ``meeting=…``. For active accounts outside the secretariat (who see every task): the
    probe is neither, so any other account is refused here rather than given a query that is not its
    own (a deactivated account of a ministry would otherwise see that ministry's tasks)."""
    if not _active(user) or user.is_secretariat:
        raise ValueError("visible_tasks_sql is for active accounts outside the secretariat")
    alias, sql, params = prepared.prepare(("followup.tasks", name, _shape(user)),
                                          lambda: build(tasks_visible_to(_probe(user))))
    return alias, sql, prepared.fill(params, {_PROBE_USER: user.pk, _PROBE_MINISTRY: user.ministry_id,
                                              PROBE_MEETING: values.get("meeting")})


def may_open_register(user) -> bool:
    """Whether the header shows the register (``/tasks/``): whoever may see at least one task. The
    secretariat keeps the register and always sees it; anyone else costs one ``EXISTS`` query
    (``tasks_visible_to(user).exists()``, prepared: ``visible_tasks_sql``)."""
    known = register_query(user)
    if isinstance(known, bool):
        return known
    alias, sql, params = known
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def register_query(user) -> bool | tuple[str, str, list]:
    """``may_open_register`` when the account alone answers it, else the query that does (a row
    when the account may see a task), for a page that merges it with another of the header's."""
    if not _active(user):
        return False
    if user.is_secretariat:
        return True
    return visible_tasks_sql(user, "any", lambda tasks: tasks.values("pk")[:1])


# The session states in which a session has taken decisions (``followup.services._source`` refuses
# the others with ``session_not_held``); tests/followup/test_views.py checks the two agree.
SESSION_HELD = (Meeting.Status.IN_PROGRESS, Meeting.Status.ADJOURNED, Meeting.Status.CLOSED)


def may_assign_from(user, meeting: Meeting) -> bool:
    """The session page offers "Assign a task" on its agenda items and voted motions: to the
    secretariat, once the session has been held."""
    return can_create_task(user) and meeting.status in SESSION_HELD


def may_assign_resolution(user, meeting: Meeting) -> bool:
    """"Assign a task from the resolution": the secretariat, on a closed session."""
    return can_create_task(user) and meeting.status == Meeting.Status.CLOSED


def may_assign_from_ballot(user, ballot: Ballot, now) -> bool:
    """A closed written ballot's page offers "Assign a task" to the secretariat."""
    return can_create_task(user) and ballot_is_closed(ballot, now)


def _delegate_of_lead(user, task: Task) -> bool:
    """An approved substitute of the task's session standing in for someone of the lead ministry."""
    if task.meeting_id is None:
        return False
    return Participant.objects.filter(
        meeting_id=task.meeting_id, user=user, role=Participant.Role.SUBSTITUTE,
        substitute_approved_at__isnull=False, substitute_for__ministry_id=task.lead_ministry_id).exists()


@dataclass(frozen=True)
class TaskAccess:
    """What one user may do with one task, worked out once per request."""

    user: object
    task: Task
    is_lead: bool

    @property
    def is_secretariat(self) -> bool:
        return bool(self.user.is_secretariat)

    def may(self, action: str) -> bool:
        """Whether the caller's standing allows ``action`` (the state is the service's question)."""
        if action in SECRETARIAT_ACTIONS:
            return self.is_secretariat
        if action in LEAD_ACTIONS:
            return self.is_lead
        return False

    @property
    def may_report(self) -> bool:
        """Posts reports on the task, of either kind (``followup.reports``): the lead ministry."""
        return self.may("progress") or self.may("report")

    def actions(self) -> list[str]:
        return sorted(a for a in SECRETARIAT_ACTIONS | LEAD_ACTIONS if self.may(a))

    def require(self, action: str) -> None:
        if not self.may(action):
            raise Forbidden()


def task_access(user, task: Task | int) -> TaskAccess:
    """The caller's access to a task, or ``NotFound`` if they may not see it at all."""
    if not _active(user):
        raise NotFound()
    task_id = task.pk if isinstance(task, Task) else task
    if not tasks_visible_to(user).filter(pk=task_id).exists():
        raise NotFound()
    if not isinstance(task, Task):
        task = Task.objects.select_related("meeting", "lead_ministry").get(pk=task_id)
    is_lead = not _is_admin(user) and (
        (user.ministry_id is not None and user.ministry_id == task.lead_ministry_id) or _delegate_of_lead(user, task))
    return TaskAccess(user=user, task=task, is_lead=is_lead)


# --- whom the notices reach ------------------------------------------------------------------------

NOTICE_EVENTS = frozenset({"created", "returned", "accepted", "extended", "cancelled", "reported", "reminder",
                           "overdue", "overdue_digest"})


def _people() -> QuerySet:
    """Active accounts without an administrator power (an administrator's ministry gives them no task)."""
    users = get_user_model().objects.filter(is_active=True)
    for power in ADMIN_POWERS:
        users = users.exclude(**{power: True})
    return users


def _lead_q(task: Task) -> Q:
    delegates = Participant.objects.filter(
        meeting_id=task.meeting_id, role=Participant.Role.SUBSTITUTE, substitute_approved_at__isnull=False,
        substitute_for__ministry_id=task.lead_ministry_id).values("user_id") if task.meeting_id else []
    return Q(ministry_id=task.lead_ministry_id) | Q(pk__in=delegates)


def task_notice_recipients(task: Task | None, event: str, *, exclude=None) -> QuerySet:
    """Who is told of ``event`` on ``task`` (the table in the module's docstring), as one query in a
    stable order; ``exclude`` (the actor) is left out. ``overdue_digest`` takes no task."""
    if event not in NOTICE_EVENTS:
        raise ValueError(f"unknown task event {event!r}")
    if event in ("reported", "overdue_digest"):
        who = Q(is_secretariat=True)
    else:
        who = _lead_q(task)
        if event in ("created", "extended", "cancelled"):
            who |= Q(ministry_id__in=task.co_ministries.values("pk"))
    users = _people().filter(who)
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users.order_by("id")


def task_attachment(user, task_id: int, attachment_id: int) -> TaskAttachment:
    """An attachment of a report on ``task_id`` for someone who may see that task: whoever sees the
    task reads its reports and their files. ``NotFound`` otherwise, and for an attachment of another task."""
    access = task_access(user, task_id)
    found = TaskAttachment.objects.filter(pk=attachment_id, report__task_id=access.task.pk).first()
    if found is None:
        raise NotFound()
    return found
