"""The notices of decision follow-up tasks, in the app and by e-mail (``ecabinet.notify``: the in-app
rows commit with the change that caused them, e-mail leaves only after commit, so a rolled-back
change tells nobody anything).

Two sources call this module:

* ``followup.services``, after each write, inside its transaction (``notify_change``): a task
  assigned, returned, accepted, extended, cancelled, reported done;
* ``followup.schedule`` (the ``task_reminders`` command): reminders before the deadline, overdue
  notices, and the secretariat's digest of the tasks newly overdue.

Whom each notice reaches is ``followup.permissions.task_notice_recipients``. Notices are written in
the installation's language (Vietnamese), not the language of whoever pressed the button: they are
read later, by someone else. Every notice links to the task's page, ``/tasks/<id>/`` (``task_url``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.utils import translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from ecabinet.notify import notify

from .models import Task, TaskChange
from .permissions import task_notice_recipients

__all__ = ["REGISTER_URL", "date_text", "notify_change", "notify_overdue", "notify_overdue_digest", "notify_reminder",
           "task_url"]

REGISTER_URL = "/tasks/"
# A notice's title holds at most 300 characters (``Notification.title``); a task's title may hold 500.
TITLE_IN_SUBJECT = 120

K = TaskChange.Kind
# the history's kind → the event of ``task_notice_recipients`` (a started task tells nobody: the
# register shows it)
EVENTS = {K.CREATED: "created", K.RETURNED: "returned", K.ACCEPTED: "accepted", K.EXTENDED: "extended",
          K.CANCELLED: "cancelled", K.REPORTED: "reported"}


def task_url(task: Task) -> str:
    """The task's page. A literal path, not ``reverse()``: the page belongs to the screens
    (``followup.views``), and a notice must be right even where those screens are not installed."""
    return f"{REGISTER_URL}{task.pk}/"


def date_text(day: date) -> str:
    """``28/11/2026``: dates as Vietnamese documents write them."""
    return day.strftime("%d/%m/%Y")


def _short(task: Task) -> str:
    return Truncator(task.title).chars(TITLE_IN_SUBJECT)


def _deadline(task: Task) -> str:
    if task.regular:
        return _("A regular task: it has no deadline.")
    return _("Deadline: %(date)s.") % {"date": date_text(task.deadline)}


def _source(task: Task) -> str:
    if task.source_kind == Task.Source.BALLOT:
        return _("the written ballot “%(title)s”") % {"title": task.ballot.title}
    return task.meeting.title


def _send(users: Iterable, task: Task, *, kind: str, title: str, body: str) -> int:
    users = list(users)
    if users:
        notify(users, kind=kind, title=title, body=body, url=task_url(task))
    return len(users)


def notify_change(task: Task, kind: str, *, actor, reason: str = "", old_deadline: date | None = None) -> int:
    """Tell whom it concerns that ``task`` changed (``kind``: the ``TaskChange`` just written). Runs in
    the service's transaction. Returns how many people were told."""
    event = EVENTS.get(kind)
    if event is None:
        return 0
    users = task_notice_recipients(task, event, exclude=actor)
    values = {"title": task.title, "lead": task.lead_ministry.name, "reason": reason}
    with translation.override(settings.LANGUAGE_CODE):
        short = {"title": _short(task)}
        if event == "created":
            co = ", ".join(m.name for m in task.co_ministries.order_by("name"))
            subject = _("New task: %(title)s") % short
            body = _("The session's decision (%(source)s) assigns a task to %(lead)s: “%(title)s”.") % {
                **values, "source": _source(task)}
            if co:
                body += " " + _("Co-operating: %(co)s.") % {"co": co}
            body += " " + _deadline(task)
        elif event == "returned":
            subject = _("Task returned: %(title)s") % short
            body = _("The Office of the Government returned the task “%(title)s” reported done. Reason: "
                     "%(reason)s") % values + " " + _deadline(task)
        elif event == "accepted":
            subject = _("Task accepted: %(title)s") % short
            body = _("The Office of the Government accepted the task “%(title)s” as done.") % values
        elif event == "extended":
            subject = _("Deadline extended: %(title)s") % short
            body = _("The deadline of the task “%(title)s” moves from %(old)s to %(new)s. Reason: %(reason)s") % {
                **values, "old": date_text(old_deadline), "new": date_text(task.deadline)}
        elif event == "cancelled":
            subject = _("Task cancelled: %(title)s") % short
            body = _("The Office of the Government cancelled the task “%(title)s”. Reason: %(reason)s") % values
        else:  # reported
            subject = _("Task reported done: %(title)s") % short
            body = _("%(lead)s reports the task “%(title)s” done; accept it, or return it saying why.") % values
            if reason:
                body += " " + _("Note: %(note)s") % {"note": reason}
    return _send(users, task, kind=f"task.{event}", title=subject, body=body)


def notify_reminder(task: Task, *, today: date) -> int:
    """The reminder before ``task``'s deadline, to the lead ministry. Returns how many were told."""
    days = (task.deadline - today).days
    values = {"title": task.title, "short": _short(task), "lead": task.lead_ministry.name,
              "deadline": date_text(task.deadline), "days": days}
    with translation.override(settings.LANGUAGE_CODE):
        if days <= 0:
            subject = _("Reminder: “%(short)s” is due today") % values
        else:
            subject = _("Reminder: “%(short)s” is due on %(deadline)s") % values
        body = _("The task “%(title)s” led by %(lead)s is due on %(deadline)s (in %(days)s day(s)). Report it "
                 "done once it is, or ask the Office of the Government in time to extend the deadline.") % values
    return _send(task_notice_recipients(task, "reminder"), task, kind="task.reminder", title=subject, body=body)


def notify_overdue(task: Task, *, today: date) -> int:
    """The overdue notice of ``task``, to the lead ministry. Returns how many were told."""
    values = {"title": task.title, "short": _short(task), "lead": task.lead_ministry.name,
              "deadline": date_text(task.deadline), "days": (today - task.deadline).days}
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Overdue: “%(short)s” was due on %(deadline)s") % values
        body = _("The task “%(title)s” led by %(lead)s was due on %(deadline)s (%(days)s day(s) ago) and has not "
                 "been reported done. Report it done, or ask the Office of the Government to extend the "
                 "deadline.") % values
    return _send(task_notice_recipients(task, "overdue"), task, kind="task.overdue", title=subject, body=body)


def notify_overdue_digest(tasks: list[Task]) -> int:
    """One notice to the secretariat naming the tasks that became overdue (at most
    ``TASK_OVERDUE_DIGEST_MAX_LINES``, then how many more). Returns how many were told."""
    if not tasks:
        return 0
    limit = settings.TASK_OVERDUE_DIGEST_MAX_LINES
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Tasks overdue: %(n)s") % {"n": len(tasks)}
        lines = [_("%(n)s task(s) passed their deadline without being reported done:") % {"n": len(tasks)}]
        lines += [f"- {_short(t)} — {t.lead_ministry.name} — {date_text(t.deadline)} — "
                  f"{settings.SITE_URL.rstrip('/')}{task_url(t)}" for t in tasks[:limit]]
        if len(tasks) > limit:
            lines.append(_("… and %(n)s more.") % {"n": len(tasks) - limit})
    users = list(task_notice_recipients(None, "overdue_digest"))
    if users:
        notify(users, kind="task.overdue_digest", title=subject, body="\n".join(lines), url=REGISTER_URL)
    return len(users)
