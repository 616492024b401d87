"""Template tags joining the follow-up register to the pages of the apps below it, loaded by name
(no import from ``meetings`` or ``voting`` to ``followup``): the header's "Tasks" link, the session
page's "Tasks assigned" section and its "Assign a task" links, and the closed written ballot's.
Who sees what is asked of ``followup.permissions``."""

from __future__ import annotations

from django import template
from django.db import connections, router
from django.urls import reverse
from django.utils.http import urlencode

from ecabinet.models import Notification

from .. import permissions, selectors, services
from ..models import Task

register = template.Library()

SESSION_TASKS_SHOWN = 50  # docs/limits.md: the session page lists at most this many; the register has the rest


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


@register.simple_tag(takes_context=True)
def may_open_register(context) -> bool:
    """``{% may_open_register as show_tasks %}``: whether the header links to the register."""
    user = _user(context)
    return bool(user is not None and permissions.may_open_register(user))


_UNREAD_USER = -730_194_800_001
_unread_sql: dict[str, tuple[str, tuple]] = {}


def _unread(alias: str, user_id: int) -> tuple[str, list]:
    """The count of the account's unread notifications (``ecabinet.context_processors``' question) as
    SQL, built once per process."""
    if alias not in _unread_sql:
        rows = Notification.objects.using(alias).filter(user_id=_UNREAD_USER, read_at__isnull=True).values("pk")
        sql, params = rows.query.get_compiler(alias).as_sql()
        _unread_sql[alias] = (f"SELECT COUNT(*) FROM ({sql}) unread", tuple(params))  # noqa: S608 — Django's own compiled SQL, values bound
    sql, params = _unread_sql[alias]
    return sql, [user_id if type(p) is int and p == _UNREAD_USER else p for p in params]


@register.simple_tag(takes_context=True)
def header_counts(context) -> dict:
    """``{% header_counts as header %}``: whether the header links to the register (``header.tasks``,
    ``permissions.may_open_register``) and the caller's unread notifications (``header.unread``),
    in one query (issue 19: the header is on every page)."""
    user = _user(context)
    if user is None or not user.is_authenticated:
        return {"tasks": False, "unread": 0}
    known = permissions.register_query(user)
    alias = known[0] if isinstance(known, tuple) else router.db_for_read(Notification)
    unread_sql, unread_params = _unread(alias, user.pk)
    if isinstance(known, bool):
        sql, params = f"SELECT ({unread_sql}), 0", unread_params
    else:
        sql, params = f"SELECT ({unread_sql}), EXISTS({known[1]})", [*unread_params, *known[2]]
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        unread, tasks = cursor.fetchone()
    return {"tasks": known if isinstance(known, bool) else bool(tasks), "unread": unread}


@register.simple_tag(takes_context=True)
def session_tasks(context, meeting) -> dict:
    """``{% session_tasks meeting as assigned %}``: the session's tasks the reader may see (at most
    ``SESSION_TASKS_SHOWN``), the register filtered by the session, and whether the reader may assign
    tasks from its agenda items and motions (``can_assign``) and from its resolution
    (``resolution_url``)."""
    user = _user(context)
    if user is None:
        return {"rows": [], "can_assign": False}
    today = services.today()
    tasks = selectors.session_tasks(user, meeting.pk, SESSION_TASKS_SHOWN)
    return {
        "rows": [{"task": t, "overdue": selectors.is_overdue(t, today)} for t in tasks],
        "register_url": reverse("task_list") + "?" + urlencode({"meeting": meeting.pk}),
        "can_assign": permissions.may_assign_from(user, meeting),
        "resolution_url": new_task_url(Task.Source.RESOLUTION, meeting.pk)
        if permissions.may_assign_resolution(user, meeting) else None,
    }


@register.simple_tag
def new_task_url(kind: str, source_id: int) -> str:
    """``{% new_task_url "motion" motion.pk %}``: the new-task form for that decision."""
    return reverse("task_new") + "?" + urlencode({"source_kind": kind, "source_id": source_id})


@register.simple_tag(takes_context=True)
def ballot_task_url(context, ballot) -> str | None:
    """``{% ballot_task_url ballot as assign_url %}``: the new-task form for a closed written ballot,
    for who may assign tasks; else None."""
    user = _user(context)
    if user is None or not permissions.may_assign_from_ballot(user, ballot, services.current_time()):
        return None
    return new_task_url(Task.Source.BALLOT, ballot.pk)


@register.filter
def task_state(value: str) -> str:
    """A state's name in words (``TaskChange.from_state``/``to_state`` hold the code)."""
    return Task.State(value).label if value in Task.State.values else value
