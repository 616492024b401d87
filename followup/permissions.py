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
* the lead ministry starts a task and reports it done: its people, and an approved substitute of the
  task's session standing in for one of them (the minister's delegate). Co-operating ministries
  contribute through the lead ministry and have no transition of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from ecabinet.errors import Forbidden, NotFound
from ecabinet.permissions import has_admin_powers
from meetings.models import Meeting, Participant
from voting.models import BallotRecipient

from .models import Task

__all__ = ["ATTENDED", "ATTENDEE_ROLES", "LEAD_ACTIONS", "SECRETARIAT_ACTIONS", "TaskAccess", "can_create_task",
           "may_export_register", "may_see_dashboard", "may_see_proposed_item", "task_access", "tasks_visible_to"]

ATTENDEE_ROLES = (Participant.Role.CHAIR, Participant.Role.MEMBER, Participant.Role.SUBSTITUTE)
ATTENDED = (Participant.Attendance.PRESENT, Participant.Attendance.REMOTE)
SECRETARIAT_ACTIONS = frozenset({"accept", "return", "extend", "cancel"})
LEAD_ACTIONS = frozenset({"start", "report"})


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
