"""The signer's own key for the after-session documents (issue 5): unlocked by the PIN under the
lockout rules (issue 15), used to sign the PDF with the visible stamp where the rendering placed it,
and the certificate's holder as the record names them.
"""

from __future__ import annotations

import contextlib
import hashlib

from django.utils.translation import gettext as _

from ecabinet import lockout, pki
from ecabinet.errors import ValidationFailed
from ecabinet.pdf import STATIC_DIR

from .. import signing


class SigningRefused(ValidationFailed):
    """The signing key could not be used: wrong PIN, no key, a token or timestamp problem."""


@contextlib.contextmanager
def signer_key(user, pin: str):
    """The caller's own signing key, unlocked by ``pin`` (PKCS#11 token or PKCS#12 file)."""
    if not isinstance(pin, str) or not pin:
        raise SigningRefused(_("Enter the PIN of your signing key."), code="pin_required")
    lockout.pin_allowed(user)  # too many wrong PINs lately: refused before the key is touched (429 pin_locked)
    try:
        with pki.signing_session(user.username, pin) as signer:
            lockout.pin_succeeded(user)
            yield signer
    except pki.WrongPin as exc:
        lockout.pin_failed(user)
        raise SigningRefused(_("The PIN is not correct."), code="wrong_pin") from exc
    except pki.NoKey as exc:
        raise SigningRefused(_("No signing key is set up for your account. Ask the IT department."),
                             code="no_signing_key") from exc
    except pki.PkiError as exc:
        raise SigningRefused(str(exc), code="signing_key_unavailable") from exc


def stamp_for(boxes: dict, role: str) -> signing.Appearance | None:
    """The visible stamp of ``role``'s signature, where the rendering put its signature block."""
    place = (boxes or {}).get(role)
    if not place:
        return None
    font = STATIC_DIR / "fonts" / "DejaVuSans.ttf"
    return signing.Appearance(page=place[0], box=tuple(round(v) for v in place[1]), font_path=str(font))


def sign_bytes(data: bytes, *, user, pin: str, field_name: str, reason: str, certify: bool,
                appearance: signing.Appearance | None = None) -> tuple[bytes, object]:
    """Sign with the user's own key; with ``TSA_URL``, a PAdES B-LT signature (timestamp, DSS)."""
    from django.conf import settings

    timestamper = signing.timestamper_from_settings()
    extra = {}
    if timestamper is not None:
        extra = {"trust_roots": pki.trust_roots_from_settings() + pki.tsa_roots_from_settings(),
                 "crls": pki.crls_from_settings(), "allow_fetching": settings.SIGNING_FETCH_REVOCATION}
    with signer_key(user, pin) as signer:
        try:
            signed = signing.sign_pdf(data, signer=signer, field_name=field_name, reason=reason,
                                      location=settings.MINUTES_PLACE, certify=certify, timestamper=timestamper,
                                      appearance=appearance, **extra)
        except signing.SigningFailed as exc:
            raise SigningRefused(str(exc), code="signing_failed") from exc
        return signed, signer.signing_cert


def cert_identity(cert) -> tuple[str, str]:
    """The certificate's holder as people read it (name — organisation) and its sha256."""
    import unicodedata

    subject = cert.subject.native
    parts = [subject.get("common_name"), subject.get("organization_name")]
    text = " — ".join(str(p) for p in parts if p) or cert.subject.human_friendly
    return unicodedata.normalize("NFC", text)[:300], hashlib.sha256(cert.dump()).hexdigest()
