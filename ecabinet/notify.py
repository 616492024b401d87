"""In-app notifications and e-mail, written by services inside their transaction.

The in-app row commits with the change; e-mail goes out only after commit, so a rolled-back change
never mails anyone.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import get_connection, send_mass_mail
from django.db import transaction

from .models import Notification

__all__ = ["notify"]


def notify(users: Iterable, *, kind: str, title: str, body: str = "", url: str = "", email: bool = True) -> None:
    users = list(users)
    Notification.objects.bulk_create(
        Notification(user=u, kind=kind, title=title, body=body, url=url) for u in users
    )
    if not email:
        return
    link = f"{settings.SITE_URL.rstrip('/')}{url}" if url else ""
    messages = [
        (title, f"{body}\n\n{link}".strip(), settings.DEFAULT_FROM_EMAIL, [u.email])
        for u in users if u.email
    ]
    if messages:
        transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=True, connection=get_connection()))
