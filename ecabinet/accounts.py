"""Writes to accounts: the one home for creating people, changing their details and duties,
(de)activating them and the administrator's password reset.

Every function: keyword-only arguments, one transaction, the rules of ``ecabinet.permissions``
(only an active superuser; nobody changes their own duties; administrator powers and content duties
never together) checked against the stored row, and an entry in the hash-chained audit log naming
the real actor with the values before and after (never a password or its hash). A refusal raises a
``DomainError`` and leaves the account as it was. The Django admin (``ecabinet.admin``) and any
command that changes accounts call these; nothing else writes ``User`` rows, except the demo
bootstrap (``seed_demo``, which creates its published cast once and audits it) and Django's own
``createsuperuser`` (the first administrator, before there is anyone to name as actor).

Audit actions: ``account.created``, ``account.updated`` (person fields), ``account.duties_changed``
(content duties, administrator powers, ministry), ``account.activated``, ``account.deactivated``,
``account.password_reset``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from . import audit, devices
from .errors import Forbidden, ValidationFailed
from .models import Ministry
from .permissions import CONFLICT_MESSAGE, FLAGS, can_manage_accounts, duties_conflict, own_change_refusal

__all__ = ["PERSON_FIELDS", "UNCHANGED", "account_create", "account_set_duties", "account_update", "set_active",
           "set_password_by_admin"]

PERSON_FIELDS = ("username", "full_name", "email", "position")


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


def _require_manager(actor) -> None:
    if not can_manage_accounts(actor):
        raise Forbidden(_("Only an administrator may change accounts."), code="not_account_administrator")


def _require_not_own(*, actor, user, changed) -> None:
    message = own_change_refusal(actor=actor, user=user, changed=set(changed))
    if message:
        raise Forbidden(message, code="own_account")


def _require_compatible(flags: dict) -> None:
    if duties_conflict(flags):
        raise ValidationFailed(CONFLICT_MESSAGE, code="duties_incompatible")


def _locked(user):
    """The stored row, locked: the before values come from the database, never from an instance a
    form may already have changed in memory."""
    audit.lock_head()  # the chain's lock first, as every writer takes it (ecabinet.audit.lock_head)
    return get_user_model().objects.select_for_update().get(pk=user.pk)


def _validate(account, *, exclude: list[str]) -> None:
    try:
        account.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as error:
        messages = [str(m) for field_messages in error.message_dict.values() for m in field_messages]
        raise ValidationFailed(" ".join(messages), code="invalid_account") from error


def _value(account, field: str):
    if field == "ministry":
        return account.ministry.code if account.ministry_id else None
    return getattr(account, field)


def _check_password(password: str, account) -> None:
    try:
        password_validation.validate_password(password, account)
    except ValidationError as error:
        raise ValidationFailed(" ".join(error.messages), code="weak_password") from error


@transaction.atomic
def account_create(*, actor, username: str, full_name: str, password: str | None, email: str = "",
                   position: str = "", ministry: Ministry | None = None, is_member: bool = False,
                   is_secretariat: bool = False, is_archivist: bool = False, is_staff: bool = False,
                   is_superuser: bool = False, is_active: bool = True):
    """Create an account. ``password=None`` leaves it without a usable password (the person is given
    one by a reset). The new account's duties obey rule 3 like any change."""
    _require_manager(actor)
    flags = {"is_member": is_member, "is_secretariat": is_secretariat, "is_archivist": is_archivist,
             "is_staff": is_staff, "is_superuser": is_superuser}
    _require_compatible(flags)
    audit.lock_head()
    User = get_user_model()
    account = User(username=username, full_name=full_name, email=email, position=position, ministry=ministry,
                   is_active=is_active, **flags)
    _validate(account, exclude=["password"])
    if password is None:
        account.set_unusable_password()
    else:
        _check_password(password, account)
        account.set_password(password)
    account.save()
    audit.record(actor, "account.created", account, data={
        "username": account.username,
        "after": {f: _value(account, f) for f in (*PERSON_FIELDS, *FLAGS, "ministry", "is_active")},
        "usable_password": password is not None,
    })
    return account


@transaction.atomic
def account_update(*, actor, user, username: str = UNCHANGED, full_name: str = UNCHANGED, email: str = UNCHANGED,
                   position: str = UNCHANGED):
    """Change a person's details (not duties). Changing one's own details is allowed."""
    _require_manager(actor)
    account = _locked(user)
    wanted = {"username": username, "full_name": full_name, "email": email, "position": position}
    return _apply(actor, account, {k: v for k, v in wanted.items() if v is not UNCHANGED}, "account.updated")


@transaction.atomic
def account_set_duties(*, actor, user, is_member: bool = UNCHANGED, is_secretariat: bool = UNCHANGED,
                       is_archivist: bool = UNCHANGED, is_staff: bool = UNCHANGED, is_superuser: bool = UNCHANGED,
                       ministry: Ministry | None = UNCHANGED):
    """Change the office-wide duties, the administrator powers or the ministry of ``user``.

    Refused (``own_account``) on one's own account, and (``duties_incompatible``) when the result
    would combine administrator powers with a content duty."""
    _require_manager(actor)
    wanted = {"is_member": is_member, "is_secretariat": is_secretariat, "is_archivist": is_archivist,
              "is_staff": is_staff, "is_superuser": is_superuser, "ministry": ministry}
    wanted = {k: v for k, v in wanted.items() if v is not UNCHANGED}
    account = _locked(user)
    changes = {k: v for k, v in wanted.items() if getattr(account, k) != v}
    _require_not_own(actor=actor, user=account, changed=changes)
    _require_compatible({f: changes.get(f, getattr(account, f)) for f in FLAGS})
    return _apply(actor, account, changes, "account.duties_changed")


def _apply(actor, account, wanted: dict, action: str):
    changed = {k: v for k, v in wanted.items() if getattr(account, k) != v}
    if not changed:
        return account
    before = {k: _value(account, k) for k in changed}
    for field, value in changed.items():
        setattr(account, field, value)
    _validate(account, exclude=["password"])
    account.save(update_fields=list(changed))
    audit.record(actor, action, account, data={
        "username": account.username, "before": before, "after": {k: _value(account, k) for k in changed}})
    return account


@transaction.atomic
def set_active(*, actor, user, active: bool):
    """Activate or deactivate ``user`` (never oneself). An inactive account is refused by every
    authentication backend at its next request; ending its sessions, tokens and sockets at once
    belongs in this transaction: a deactivation ends every session and device of the account and
    closes its sockets on every process (``devices.end_access``)."""
    _require_manager(actor)
    account = _locked(user)
    if account.is_active == active:
        return account
    _require_not_own(actor=actor, user=account, changed={"is_active"})
    account.is_active = active
    account.save(update_fields=["is_active"])
    audit.record(actor, "account.activated" if active else "account.deactivated", account,
                 data={"username": account.username, "before": {"is_active": not active},
                       "after": {"is_active": active}})
    if not active:
        devices.end_access(user=account, actor=actor, reason="deactivated")
    return account


@transaction.atomic
def set_password_by_admin(*, actor, user, password: str | None):
    """The administrator sets a new password for someone else (``None``: no usable password, so the
    person cannot sign in until given one). The audit entry says that it happened, never what."""
    _require_manager(actor)
    account = _locked(user)
    _require_not_own(actor=actor, user=account, changed={"password"})
    if password is None:
        account.set_unusable_password()
    else:
        _check_password(password, account)
        account.set_password(password)
    account.save(update_fields=["password"])
    audit.record(actor, "account.password_reset", account,
                 data={"username": account.username, "usable_password": password is not None})
    devices.end_access(user=account, actor=actor, reason="password_reset")  # never oneself: rule 2
    return account
