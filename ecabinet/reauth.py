"""Proof that the person holding a signed-in device is the account's owner, asked before anything
that changes how the account signs in (issue 15): adding a second factor, new recovery codes,
removing a factor.

A stolen session or token alone must not be enough: with it, a thief could otherwise add their own
authenticator app (the owner then cannot sign in on the screens) or take new recovery codes and
mint tokens that outlive the session. Accepted as proof:

* a **recent full sign-in** — the credential was issued by the password and, where enrolled, the
  second factor less than ``MFA_REAUTH_SECONDS`` ago (a device's creation; a browser session's
  sign-in mark, ``ecabinet.idle``), or the person confirmed on the security screen since (``confirm``);
* otherwise **the password**, checked as a sign-in is (``lockout.check_password``: a wrong one counts
  toward the account's lock, and a lock refuses the right one too), **or a current second-factor
  code**. A refused proof is audited (``mfa.proof_failed``).

Proofs are checked outside any write's transaction so that a failure stays counted and audited.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import audit, clock, idle, lockout
from .errors import Forbidden
from .models import Device

REAUTHENTICATED = "_reauthenticated_at"


def _django(request):
    """Django's request under a DRF one."""
    return getattr(request, "_request", request)


def recent(request) -> bool:
    """The caller's credential comes from a full sign-in, or a confirmation, within the window."""
    window = settings.MFA_REAUTH_SECONDS
    device = getattr(request, "auth", None)
    if isinstance(device, Device):
        return (clock.now() - device.created_at.timestamp()) < window
    session = getattr(_django(request), "session", None)
    if session is None:
        return False
    marks = [m for m in (session.get(idle.SIGNED_IN), session.get(REAUTHENTICATED)) if isinstance(m, int | float)]
    return bool(marks) and clock.now() - max(marks) < window


def check(request, user, *, password: str | None, code: str | None) -> None:
    """The password or a current code, now; ``Forbidden`` ``reauthentication_required`` otherwise
    (``lockout.AccountLocked`` while the account is locked)."""
    from . import mfa

    if password:
        if lockout.check_password(_django(request), user, password):
            return
    elif code and mfa.verify_second_factor(user, code):
        return
    if password or code:
        audit.record(user, "mfa.proof_failed", user, data={"by": "password" if password else "code"})
    raise Forbidden(_("Confirm with your password or a current code."), code="reauthentication_required")


def require(request, user, *, password: str | None = None, code: str | None = None) -> None:
    """A recent full sign-in, or else the password or a current code."""
    if not recent(request):
        check(request, user, password=password, code=code)


def confirm(request, *, password: str | None, code: str | None) -> None:
    """The security screen's "confirm it is you": a proof now opens the window again for this session."""
    check(request, request.user, password=password, code=code)
    _django(request).session[REAUTHENTICATED] = clock.now()
