"""Multi-factor sign-in: the second factors of an account and every write to them (issue 15, point 1).

Factors, all from well-kept libraries:
- TOTP (RFC 6238) — django-otp's ``TOTPDevice``, with its own failure throttling (each failure doubles
  the wait before the next try) and replay protection (a code is accepted once);
- recovery codes — django-otp's ``StaticDevice``: ``MFA_RECOVERY_CODES`` single-use codes, shown once;
- passkeys (WebAuthn) — ``PasskeyCredential``, the ceremonies verified by py_webauthn (Duo Labs), in
  ``ecabinet.passkeys``.

A user "has a second factor" once a TOTP device is confirmed or a passkey is registered; from then on
sign-in (screens, admin, API token) and signing ask for one. Recovery codes are only a way back in,
never a factor of their own. Every write here is audited with the real actor.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit, reauth
from .converters import whole_number
from .errors import DomainError, Forbidden, ValidationFailed
from .models import PasskeyCredential
from .permissions import has_admin_powers, may_reset_mfa_of

__all__ = ["MFARequired", "PasskeyProof", "confirm_totp", "factors", "first_recovery_codes", "has_second_factor",
           "mfa_required_for", "regenerate_recovery_codes", "remove_factor", "require_fresh_factor", "reset_mfa",
           "start_totp", "token_refusal", "verify_second_factor"]

TOTP_NAME = "totp"
RECOVERY_NAME = "recovery"
RECOVERY_CODE_LENGTH = 8  # django-otp's StaticToken.random_token(): 5 random bytes in base32
MAX_CODE_LENGTH = 32  # longer input is refused before any lookup (TOTP: 6 digits; recovery: 8 characters)


class MFARequired(DomainError):
    """A second factor is enrolled and none (or a wrong one) was given: 401 ``mfa_required``."""

    status = 401
    code = "mfa_required"
    default_message = _("Enter a current code from your authenticator app (or a recovery code).")


WRONG_CODE = _("The second-factor code is not correct or has already been used. Enter a new code.")


# --- reading ----------------------------------------------------------------------------------------

def _totp(user, *, confirmed: bool | None = True) -> TOTPDevice | None:
    devices = TOTPDevice.objects.filter(user=user, name=TOTP_NAME)
    if confirmed is not None:
        devices = devices.filter(confirmed=confirmed)
    return devices.first()


def _recovery(user) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, name=RECOVERY_NAME).first()


def has_second_factor(user) -> bool:
    """True when the user has a confirmed TOTP device or a passkey."""
    if user is None or not user.pk:
        return False
    return (TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            or PasskeyCredential.objects.filter(user=user).exists())


def has_passkey(user) -> bool:
    return PasskeyCredential.objects.filter(user=user).exists()


@dataclass(frozen=True)
class Factors:
    totp: bool
    passkeys: list
    recovery_left: int


def factors(user) -> Factors:
    recovery = _recovery(user)
    return Factors(totp=_totp(user) is not None, passkeys=list(PasskeyCredential.objects.filter(user=user)),
                   recovery_left=recovery.token_set.count() if recovery else 0)


def user_roles(user) -> set[str]:
    """The roles of ``MFA_REQUIRED_ROLES`` the user holds (a participant: invited to any session,
    read through the reverse relation so that the core imports no app above it)."""
    roles = set()
    if has_admin_powers(user):
        roles.add("staff")
    if user.is_secretariat:
        roles.add("secretariat")
    if user.is_archivist:
        roles.add("archivist")
    if user.is_member:
        roles.add("member")
    if user.participations.exists():
        roles.add("participant")
    return roles


def mfa_required_for(user) -> bool:
    """Must this user have a second factor? Only when ``MFA_ENFORCE`` is on."""
    if not settings.MFA_ENFORCE or user is None or not user.is_authenticated:
        return False
    return bool(user_roles(user) & set(settings.MFA_REQUIRED_ROLES))


def needs_enrolment(user) -> bool:
    return mfa_required_for(user) and not has_second_factor(user)


# --- verifying --------------------------------------------------------------------------------------

def _normalise(code) -> str:
    if not isinstance(code, str):
        return ""
    return re.sub(r"[\s-]", "", code).lower()[:MAX_CODE_LENGTH + 1]


@transaction.atomic
def verify_second_factor(user, code) -> bool:
    """Check a TOTP code or a recovery code of ``user`` (a recovery code is used up). Audited: a
    recovery code used, a failure. TOTP failures are throttled by django-otp (doubling waits)."""
    code = _normalise(code)
    if not code or len(code) > MAX_CODE_LENGTH:
        audit.record(user, "mfa.failed", user, data={"factor": "code", "reason": "malformed"})
        return False
    # A TOTP code (a recovery code has 8 characters); ASCII digits only: int() refuses "²", which isdigit() takes.
    if code.isascii() and code.isdigit() and len(code) < RECOVERY_CODE_LENGTH:
        device = _totp(user)
        if device is not None and device.verify_token(code):
            return True
        audit.record(user, "mfa.failed", user, data={"factor": "totp"})
        return False
    recovery = _recovery(user)
    if recovery is not None and has_second_factor(user) and recovery.verify_token(code):
        audit.record(user, "mfa.recovery_code_used", user, data={"left": recovery.token_set.count()})
        return True
    audit.record(user, "mfa.failed", user, data={"factor": "recovery_code"})
    return False


@dataclass(frozen=True)
class PasskeyProof:
    """A passkey assertion verified in this very request, for ``require_fresh_factor`` in place of a
    code. Made only by ``ecabinet.passkeys.passkey_proof`` (request data is never one: the API's ``otp``
    is a string)."""

    user_id: int


def require_fresh_factor(*, user, otp) -> None:
    """Signing: where a second factor is enrolled, a current code (or, on the screen, a passkey
    verified in this request: ``PasskeyProof``) must come with the PIN (401 ``mfa_required``). A TOTP
    code is accepted once, a recovery code is used up."""
    if not has_second_factor(user):
        return
    if isinstance(otp, PasskeyProof):
        if otp.user_id == user.pk:
            return
        raise MFARequired(WRONG_CODE)
    if not otp:
        raise MFARequired(_("Signing needs a fresh second factor: enter a current code from your authenticator "
                            "app (or a recovery code) with the PIN."))
    if not verify_second_factor(user, otp):
        raise MFARequired(WRONG_CODE)


def token_refusal(user, otp) -> tuple[str, str, int] | None:
    """The API token endpoint's second-factor step, after the password check: ``None`` to issue the
    token, else ``(code, sentence, status)`` to answer instead."""
    if has_second_factor(user):
        if not otp:
            return ("mfa_required", str(_("This account has a second factor: send a current code from the "
                                          "authenticator app (or a recovery code) as \"otp\".")), 401)
        if not verify_second_factor(user, otp):
            return ("mfa_required", str(WRONG_CODE), 401)
        return None
    if needs_enrolment(user):
        return ("mfa_enrolment_required", str(_("Your account must use a second factor: sign in on the web "
                                                "screen and set one up under Security first.")), 401)
    return None


# --- writes -----------------------------------------------------------------------------------------

def _new_recovery_codes(user) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME,
                                                          defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.MFA_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    device.throttle_reset()
    return codes


def start_totp(*, actor, request, password: str | None = None, code: str | None = None) -> TOTPDevice:
    """A new unconfirmed TOTP device (a repeat replaces the unconfirmed one), after a proof that the
    holder of the session or token is the owner (``reauth.require``: a recent full sign-in, else the
    password or a current code). Refused while a confirmed one exists: remove it first."""
    reauth.require(request, actor, password=password, code=code)
    return _start_totp(actor)


@transaction.atomic
def _start_totp(actor) -> TOTPDevice:
    if _totp(actor) is not None:
        raise DomainError(_("An authenticator app is already set up. Remove it first to set up another."),
                          code="totp_already_enrolled", status=409)
    TOTPDevice.objects.filter(user=actor, name=TOTP_NAME, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=actor, name=TOTP_NAME, confirmed=False)
    audit.record(actor, "mfa.totp_enrolment_started", actor)
    return device


def otpauth_uri(device: TOTPDevice) -> str:
    return device.config_url


def secret_b32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode("ascii")


def confirm_totp(*, actor, code) -> list[str]:
    """Turn the pending TOTP device on with a current code; returns fresh recovery codes (shown once)
    when the user had none. 400 ``invalid_code`` otherwise (the failure, its audit entry and
    django-otp's throttle are kept: the check runs outside the write's transaction)."""
    device = _totp(actor, confirmed=False)
    if device is None:
        raise ValidationFailed(_("Start setting up an authenticator app first."), code="no_pending_totp")
    normalised = _normalise(code)
    digits = normalised.isascii() and normalised.isdigit()
    if not digits or len(normalised) > MAX_CODE_LENGTH or not device.verify_token(normalised):
        audit.record(actor, "mfa.failed", actor, data={"factor": "totp", "reason": "enrolment"})
        raise ValidationFailed(_("The code is not correct. Enter the 6-digit code the app shows now."),
                               code="invalid_code")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record(actor, "mfa.totp_confirmed", actor)
        return first_recovery_codes(actor)


def first_recovery_codes(user) -> list[str]:
    recovery = _recovery(user)
    if recovery is not None and recovery.token_set.exists():
        return []
    codes = _new_recovery_codes(user)
    audit.record(user, "mfa.recovery_codes_generated", user, data={"count": len(codes)})
    return codes


def regenerate_recovery_codes(*, actor, request, password: str | None = None, code: str | None = None) -> list[str]:
    """New recovery codes (the old ones stop working), after the password or a current code. The
    proof is checked outside the write's transaction, so a failure (its audit entry, django-otp's
    throttle) is kept even though the call is refused."""
    if not has_second_factor(actor):
        raise ValidationFailed(_("Set up an authenticator app or a passkey first."), code="no_second_factor")
    reauth.check(request, actor, password=password, code=code)
    with transaction.atomic():
        codes = _new_recovery_codes(actor)
        audit.record(actor, "mfa.recovery_codes_generated", actor, data={"count": len(codes)})
    return codes


def remove_factor(*, actor, request, factor: str, password: str | None = None, code: str | None = None) -> None:
    """Remove ``factor`` ("totp" or "passkey:<id>") of the actor, who proves it is them. Removing the
    last factor also removes the recovery codes."""
    if factor == "totp":
        target = _totp(actor)
    elif factor.startswith("passkey:") and whole_number(factor[8:]) is not None:
        target = PasskeyCredential.objects.filter(user=actor, pk=int(factor[8:])).first()
    else:
        target = None
    if target is None:
        raise ValidationFailed(_("There is no such factor on your account."), code="no_such_factor")
    reauth.check(request, actor, password=password, code=code)  # outside the write's transaction, as above
    kind = "totp" if factor == "totp" else "passkey"
    data = {"factor": kind} if kind == "totp" else {"factor": kind, "name": target.name}
    with transaction.atomic():
        target.delete()
        if not has_second_factor(actor):
            StaticDevice.objects.filter(user=actor).delete()
        audit.record(actor, "mfa.factor_removed", actor, data=data)


@transaction.atomic
def reset_mfa(*, actor, user) -> None:
    """Remove every factor of ``user`` (a lost phone or tablet): the administrator or the
    secretariat, never on themselves. Audited with the real actor."""
    if actor.pk == user.pk:
        raise Forbidden(_("You cannot reset your own second factor; ask another administrator."),
                        code="reset_own_mfa")
    if not may_reset_mfa_of(actor, user):
        raise Forbidden(_("Only the administrator or the secretariat may reset a second factor."))
    removed = {"totp": TOTPDevice.objects.filter(user=user).delete()[0],
               "passkeys": PasskeyCredential.objects.filter(user=user).delete()[0]}
    StaticDevice.objects.filter(user=user).delete()
    audit.record(actor, "mfa.reset", user, data=removed)
