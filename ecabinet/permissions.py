"""Who may change accounts, and which duties one account may hold: the separation of duties.

The model (DESIGN.md §2, issue 15 point 4): the administrator (IT) manages accounts and
configuration and has no access to session content. Session content is reached through *content
duties* — the office-wide flags that the content permission modules (``meetings.permissions``,
``voting.permissions``, the ballot recipients) read — and through membership in a session, which
only the session's secretariat grants (``meetings.services.participant_add``). *Administrator
powers* are the two flags Django reads: ``is_staff`` (may sign in to /admin/) and ``is_superuser``.

The rules, each answered here and nowhere else:

1. Only an active superuser changes accounts (``can_manage_accounts``). A staff account without
   ``is_superuser`` changes nothing, whatever Django model permissions it was given.
2. Nobody changes their own duties, ministry or activation, and nobody resets their own password
   through the administration (``own_change_refusal``): another administrator must, and it is
   audited. One's own password is changed with the current one, on the password change screen.
3. One account never holds administrator powers and a content duty at once
   (``duties_conflict``): so the administrator cannot make themselves secretariat, archivist or a
   Government member, and a secretary or archivist cannot be made an administrator without losing
   the content duty in the same change.

Why this closes the back door: ``meetings.permissions`` and ``voting.permissions`` never ask
``user.has_perm()`` (Django answers True to everything for an active superuser) nor
``is_superuser``/``is_staff``; the administrator reaches content only by holding a content duty or
a place in a session, and rule 3 and the secretariat-only ``participant_add`` stop both. What the
rules cannot stop is an administrator creating a *second* account with a content duty and a
password they chose; that change names them in the hash-chained audit log (``account.created``,
``account.duties_changed``, ``account.password_reset``) — see docs/security.md.

Devices: who may see and end whose sign-ins (devices and sessions).

* Everyone sees and revokes their own devices.
* The secretariat sees and revokes the devices of the other accounts (a member's lost tablet),
  except the administrators': the secretariat runs sessions, not the IT system.
* Nobody else sees anyone's devices; a device one may not see is ``NotFound``, like one that does
  not exist. Nobody, the administrator included, ever sees a token: only its digest is stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from ecabinet.errors import NotFound

__all__ = ["ADMIN_POWERS", "CONFLICT_MESSAGE", "CONTENT_DUTIES", "DUTY_FIELDS", "FLAGS", "OWN_DUTIES_MESSAGE",
           "OWN_PASSWORD_MESSAGE", "can_manage_accounts", "check_may_manage_devices_of", "duties_conflict",
           "has_admin_powers", "may_lift_signin_lock", "may_look_up_devices", "may_manage_devices_of",
           "may_reset_mfa_of", "own_change_refusal"]

CONTENT_DUTIES = ("is_secretariat", "is_archivist", "is_member")
ADMIN_POWERS = ("is_staff", "is_superuser")
FLAGS = (*CONTENT_DUTIES, *ADMIN_POWERS)
# The fields only another administrator may change on an account (rule 2).
DUTY_FIELDS = (*CONTENT_DUTIES, *ADMIN_POWERS, "ministry", "is_active")

OWN_DUTIES_MESSAGE = _("You cannot change your own duties, ministry or activation: another administrator must, "
                       "and the change is recorded in the audit log.")
OWN_PASSWORD_MESSAGE = _("You cannot reset your own password here: change it with your current password "
                         "on the password change screen.")
CONFLICT_MESSAGE = _("An account with administrator powers (staff or superuser) cannot also be secretariat, "
                     "archivist or a Government member: the administrator has no access to session content.")


def can_manage_accounts(user) -> bool:
    """Rule 1: create accounts, change people's details and duties, (de)activate, reset passwords."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def may_lift_signin_lock(actor) -> bool:
    """Who may end a sign-in or signing-PIN lock early (``ecabinet.services.signin_lock_lift``): an
    account manager (rule 1) or the secretariat (a minister locked out on the morning of a session)."""
    return can_manage_accounts(actor) or bool(
        actor is not None and actor.is_authenticated and actor.is_active and actor.is_secretariat)


def has_admin_powers(user) -> bool:
    """The account holds an administrator power (``ADMIN_POWERS``): the "staff" role of
    ``MFA_REQUIRED_ROLES``, which must use a second factor in production."""
    return any(getattr(user, f, False) for f in ADMIN_POWERS)


def may_reset_mfa_of(actor, user) -> bool:
    """Who may remove every second factor of ``user`` (a lost phone): an account manager (rule 1) or
    the secretariat, never on their own account (rule 2: another person must, and it is audited).
    The secretariat does not reset an administrator's factors: it runs sessions, not the IT system."""
    if actor is None or user is None or actor.pk == user.pk:
        return False
    if can_manage_accounts(actor):
        return True
    return bool(actor.is_authenticated and actor.is_active and actor.is_secretariat and not has_admin_powers(user))


def duties_conflict(flags: Mapping[str, object]) -> bool:
    """Rule 3: ``flags`` (the account's duty flags after the change) give administrator powers and a
    content duty at once."""
    return any(flags.get(f) for f in ADMIN_POWERS) and any(flags.get(f) for f in CONTENT_DUTIES)


def own_change_refusal(*, actor, user, changed: set[str] | frozenset[str]) -> str | None:
    """Rule 2: the message refusing a change of ``changed`` fields of ``user`` by ``actor``, or None.

    ``changed`` names model fields, plus ``"password"`` for a reset by the administrator."""
    if actor is None or user is None or user.pk is None or actor.pk != user.pk:
        return None
    if "password" in changed:
        return str(OWN_PASSWORD_MESSAGE)
    if set(changed) & set(DUTY_FIELDS):
        return str(OWN_DUTIES_MESSAGE)
    return None


def may_look_up_devices(actor) -> bool:
    """Whether the caller may look up another account's devices (the secretariat, for a member's lost
    tablet); which accounts it may then see is ``may_manage_devices_of``."""
    return bool(actor is not None and actor.is_authenticated and actor.is_active and actor.is_secretariat)


def may_manage_devices_of(actor, owner) -> bool:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    if actor.pk == owner.pk:
        return True
    return may_look_up_devices(actor) and not has_admin_powers(owner)


def check_may_manage_devices_of(actor, owner) -> None:
    if not may_manage_devices_of(actor, owner):
        raise NotFound()
