"""Template tags joining the follow-up register to the pages of the apps below it, loaded by name
(no import from ``meetings`` or ``voting`` to ``followup``): the header's "Tasks" link, the session
page's "Tasks assigned" section and its "Assign a task" links, and the closed written ballot's.
Who sees what is asked of ``followup.permissions``."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.http import urlencode

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
