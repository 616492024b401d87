"""The notices of written ballots, in the app and by e-mail (``ecabinet.notify``: the in-app rows
commit with the change, e-mail leaves after commit).

Notices are written in the installation's language, not the language of whoever pressed the button:
they are read later, by someone else.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ecabinet.notify import notify

from .models import Ballot
from .permissions import ballot_managers

__all__ = ["deadline_text", "notify_issued", "notify_overdue", "notify_reminder", "notify_summary_ready"]

User = get_user_model()


def deadline_text(ballot: Ballot) -> str:
    """``17:00 ngày 28/11/2026`` in the installation's time zone."""
    local = timezone.localtime(ballot.deadline)
    return _("%(time)s on %(date)s") % {"time": local.strftime("%H:%M"), "date": local.strftime("%d/%m/%Y")}


def _url(ballot: Ballot) -> str:
    return reverse("ballot_detail", args=[ballot.pk])


def notify_issued(ballot: Ballot, users: Iterable) -> None:
    users = list(users)
    if not users:
        return
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Written opinion requested: %(title)s") % {"title": ballot.title}
        body = _("The Office of the Government asks for your written opinion on “%(title)s”. Please answer "
                 "every question by %(deadline)s; you may change your answers until then.") % {
            "title": ballot.title, "deadline": deadline_text(ballot)}
    notify(users, kind="ballot.issued", title=title, body=body, url=_url(ballot))


def notify_reminder(ballot: Ballot, users: Iterable) -> None:
    users = list(users)
    if not users:
        return
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Reminder: your opinion on “%(title)s” is due by %(deadline)s") % {
            "title": ballot.title, "deadline": deadline_text(ballot)}
        body = _("You have not yet answered every question of the written ballot “%(title)s”. The ballot "
                 "closes at %(deadline)s.") % {"title": ballot.title, "deadline": deadline_text(ballot)}
    notify(users, kind="ballot.reminder", title=title, body=body, url=_url(ballot))


def notify_overdue(ballot: Ballot, users: Iterable) -> None:
    users = list(users)
    if not users:
        return
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Overdue: the written ballot “%(title)s” closed without your answer") % {"title": ballot.title}
        if ballot.silence_is_consent:
            consequence = _("Under the rules of this ballot, the questions you did not answer are counted as "
                            "agreement.")
        else:
            consequence = _("The questions you did not answer are recorded as not answered.")
        body = _("The ballot closed at %(deadline)s before you had answered every question.") % {
            "deadline": deadline_text(ballot)} + " " + consequence
    notify(users, kind="ballot.overdue", title=title, body=body, url=_url(ballot))


def notify_summary_ready(ballot: Ballot, *, exclude=None) -> None:
    """Tell the secretariat that the ballot is closed and its summary final."""
    users = ballot_managers()
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    users = list(users)
    if not users:
        return
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Summary ready: %(title)s") % {"title": ballot.title}
        body = _("The written ballot “%(title)s” is closed. The summary of the members' opinions is final and "
                 "can be printed as a PDF.") % {"title": ballot.title}
    notify(users, kind="ballot.summary_ready", title=title, body=body,
           url=reverse("ballot_summary", args=[ballot.pk]))
