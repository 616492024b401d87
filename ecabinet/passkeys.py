"""Passkeys (WebAuthn): the registration and sign-in ceremonies of the second factor ``PasskeyCredential``,
verified by py_webauthn (Duo Labs), with the challenge kept in the session (issue 15, point 1).

The rest of multi-factor sign-in (what a user has, TOTP, recovery codes, the checks at sign-in and signing)
is ``ecabinet.mfa``; a passkey verified here stands for a code there as a ``PasskeyProof``. Every write is
audited with the real actor.
"""

from __future__ import annotations

import base64
import json
import secrets

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecabinet import clock

from . import audit, reauth
from .errors import ValidationFailed
from .mfa import PasskeyProof, first_recovery_codes
from .models import PasskeyCredential

__all__ = ["authentication_options", "passkey_proof", "register_passkey", "registration_options", "verify_passkey"]

MAX_PASSKEY_NAME = 60
MAX_CREDENTIAL_JSON = 64 * 1024


def rp_id(request) -> str:
    return settings.WEBAUTHN_RP_ID or request.get_host().rsplit(":", 1)[0].strip("[]")


def expected_origins(request) -> list[str]:
    return settings.WEBAUTHN_ORIGINS or [f"{request.scheme}://{request.get_host()}"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse_credential(raw) -> dict:
    if isinstance(raw, str):
        if len(raw) > MAX_CREDENTIAL_JSON:
            raise ValidationFailed(_("The passkey answer is too large."), code="invalid_passkey")
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict) or not isinstance(raw.get("rawId"), str) or len(raw["rawId"]) > 1400:
        raise ValidationFailed(_("The passkey answer could not be read."), code="invalid_passkey")
    return raw


def registration_options(request, user) -> str:
    """Options for ``navigator.credentials.create`` (JSON); the challenge is kept in the session."""
    reauth.require(request, user)  # the screen's "confirm it is you" when the sign-in is not recent
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    challenge = secrets.token_bytes(32)
    options = generate_registration_options(
        rp_id=rp_id(request), rp_name=settings.WEBAUTHN_RP_NAME, user_name=user.username,
        user_id=str(user.pk).encode(), user_display_name=user.get_full_name(), challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.PREFERRED,
                                                               user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=bytes(c.credential_id))
                             for c in PasskeyCredential.objects.filter(user=user)])
    request.session["mfa_webauthn_reg"] = _b64(challenge)
    return options_to_json(options)


@transaction.atomic
def register_passkey(request, *, actor, name: str, credential) -> tuple[PasskeyCredential, list[str]]:
    """Verify the browser's answer to ``registration_options`` and store the passkey; returns it and the
    first recovery codes (when the user had none)."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import InvalidRegistrationResponse

    name = " ".join((name or "").split())
    if not name or len(name) > MAX_PASSKEY_NAME:
        raise ValidationFailed(_("Give the passkey a name of at most %(n)s characters (e.g. “Office tablet”).")
                               % {"n": MAX_PASSKEY_NAME}, code="invalid_name")
    challenge = request.session.pop("mfa_webauthn_reg", None)
    if not challenge:
        raise ValidationFailed(_("The passkey request has expired. Try again."), code="invalid_passkey")
    try:
        verified = verify_registration_response(
            credential=_parse_credential(credential), expected_challenge=_unb64(challenge),
            expected_rp_id=rp_id(request), expected_origin=expected_origins(request), require_user_verification=True)
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        audit.record(actor, "mfa.failed", actor, data={"factor": "passkey", "reason": "registration"})
        raise ValidationFailed(_("The passkey could not be registered. Try again."), code="invalid_passkey") from exc
    if PasskeyCredential.objects.filter(credential_id=verified.credential_id).exists():
        raise ValidationFailed(_("This passkey is already registered."), code="invalid_passkey")
    passkey = PasskeyCredential.objects.create(user=actor, name=name, credential_id=verified.credential_id,
                                               public_key=verified.credential_public_key,
                                               sign_count=verified.sign_count)
    audit.record(actor, "mfa.passkey_registered", actor, data={"name": name})
    return passkey, first_recovery_codes(actor)


def authentication_options(request, user) -> str:
    """Options for ``navigator.credentials.get`` for ``user``'s passkeys; challenge kept in the session."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

    challenge = secrets.token_bytes(32)
    options = generate_authentication_options(
        rp_id=rp_id(request), challenge=challenge, user_verification=UserVerificationRequirement.REQUIRED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=bytes(c.credential_id))
                           for c in PasskeyCredential.objects.filter(user=user)])
    request.session["mfa_webauthn_auth"] = _b64(challenge)
    return options_to_json(options)


@transaction.atomic
def verify_passkey(request, user, credential) -> bool:
    """Check the browser's answer to ``authentication_options`` against ``user``'s passkeys."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import InvalidAuthenticationResponse

    challenge = request.session.pop("mfa_webauthn_auth", None)
    try:
        parsed = _parse_credential(credential)
        passkey = PasskeyCredential.objects.select_for_update().filter(
            user=user, credential_id=_unb64(parsed["rawId"])).first()
        if challenge is None or passkey is None:
            raise InvalidAuthenticationResponse("unknown credential or no challenge")
        verified = verify_authentication_response(
            credential=parsed, expected_challenge=_unb64(challenge), expected_rp_id=rp_id(request),
            expected_origin=expected_origins(request), credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count, require_user_verification=True)
    except (InvalidAuthenticationResponse, ValidationFailed, ValueError, KeyError, TypeError):
        audit.record(user, "mfa.failed", user, data={"factor": "passkey"})
        return False
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = clock.moment()
    passkey.save(update_fields=["sign_count", "last_used_at"])
    return True


def passkey_proof(request, user, credential) -> PasskeyProof | None:
    """Verify a passkey answer to ``authentication_options`` for a signing screen."""
    return PasskeyProof(user.pk) if credential and verify_passkey(request, user, credential) else None
