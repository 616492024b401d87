"""Writes to the core models that belong to no session (sessions' writes live in ``meetings.services``)."""

from __future__ import annotations

import ipaddress

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from ecabinet import clock

from . import audit, lockout
from .errors import Forbidden, ValidationFailed
from .models import Notification
from .permissions import may_lift_signin_lock

__all__ = ["notifications_mark_read", "signin_lock_lift"]


def notifications_mark_read(*, user, up_to_id: int | None = None) -> int:
    """Mark the unread notifications of ``user`` as read now; returns how many were marked.

    With ``up_to_id``, only those up to that id: the screen passes the newest one it showed, so a
    notice that arrives while the page renders stays unread. One conditional UPDATE. Reading one's
    own notices is not session content, so no audit entry is written.
    """
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if up_to_id is not None:
        unread = unread.filter(id__lte=up_to_id)
    return unread.update(read_at=clock.moment())


def signin_lock_lift(*, actor, username: str = "", address: str = "") -> list[str]:
    """End early the sign-in lock of ``username`` and/or ``address`` (and the account's signing-PIN
    lock), forgetting their failures (``ecabinet.lockout``). An administrator (superuser) or the
    secretariat only; audited ``auth.lockout_lifted`` with the real actor, whether or not anything
    was locked. Returns which locks there were (account, address, pin)."""
    if not may_lift_signin_lock(actor):
        raise Forbidden(_("Only an administrator or the secretariat may lift a sign-in lock."))
    username, address = (username or "").strip(), (address or "").strip()
    if not username and not address:
        raise ValidationFailed(_("Name an account or an address."), code="lock_subject_required")
    if address:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError as exc:
            raise ValidationFailed(_("“%(value)s” is not an IP address.") % {"value": address},
                                   code="invalid_address") from exc
    account = get_user_model().objects.filter(username=username).first() if username else None
    with transaction.atomic():
        lifted = lockout.lift_locks(username=username or None, address=address or None,
                                    account_id=account.pk if account is not None else None)
        audit.record(actor, "auth.lockout_lifted", account,
                     data={"username": username, "address": address, "lifted": lifted})
    return lifted
