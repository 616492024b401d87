"""Signing with a key on a PKCS#11 token (an official's USB token, or SoftHSM2 in development).

Reached through :func:`ecabinet.pki.signing_session` for the users in ``settings.SIGNING_PKCS11_TOKENS``;
every failure is one of ``ecabinet.pki``'s :class:`~ecabinet.pki.PkiError`, with a message for the user.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .pki import NoKey, TokenUnavailable, WrongPin

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer

__all__ = ["pkcs11_signer"]

logger = logging.getLogger(__name__)

# PKCS#11 login state is shared by all sessions of one process on a token, and logging out one session
# logs out the others: two signatures with the same token at once would break each other. So a process
# uses a token for one signature at a time.
_token_locks: dict[tuple[str, str], threading.Lock] = {}
_token_locks_guard = threading.Lock()


def _token_lock(module: str, token_label: str) -> threading.Lock:
    with _token_locks_guard:
        return _token_locks.setdefault((module, token_label), threading.Lock())


@contextmanager
def pkcs11_signer(module: str, *, token_label: str, key_label: str, pin: str, owner: str = "") -> Iterator[Signer]:
    """A pyHanko ``PKCS11Signer`` for the key labelled ``key_label`` on the token ``token_label``.

    The key's certificate must carry the same label (pyHanko's convention); every certificate on the
    token is added to the signature so that verifiers can build the chain. Use it as a context manager:
    the session is logged out and closed at the end of the block.
    """
    import pkcs11
    from pkcs11 import exceptions as p11

    whose = f" of “{owner}”" if owner else ""
    name = f"The signing token “{token_label}”{whose}"
    if not module or not Path(module).is_file():
        raise TokenUnavailable(
            f"{name} cannot be used: its driver (PKCS#11 module “{module or 'not configured'}”) is not installed"
            " on the server. Ask the administrator."
        )
    if not pin:
        raise WrongPin(f"Enter the PIN of the signing token “{token_label}”{whose}.")
    try:
        token = pkcs11.lib(module).get_token(token_label=token_label)
    except p11.NoSuchToken as exc:
        raise TokenUnavailable(f"{name} is not connected. Plug it in and try again.") from exc
    except p11.PKCS11Error as exc:
        raise TokenUnavailable(f"{name} cannot be reached ({type(exc).__name__}). Ask the administrator.") from exc
    with _token_lock(module, token_label):
        try:
            session = token.open(user_pin=pin)
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange) as exc:
            raise WrongPin(f"Wrong PIN for the signing token “{token_label}”{whose}.") from exc
        except p11.PinLocked as exc:
            raise TokenUnavailable(f"{name} is locked after too many wrong PINs. Ask the administrator.") from exc
        except p11.PinExpired as exc:
            raise TokenUnavailable(
                f"The PIN of the signing token “{token_label}”{whose} has expired. Change it with the token's tool."
            ) from exc
        except p11.PKCS11Error as exc:
            raise TokenUnavailable(f"{name} refused to open ({type(exc).__name__}).") from exc
        try:
            signer = _token_signer(session, token_label=token_label, key_label=key_label, whose=whose)
            try:
                yield signer
            except (p11.DeviceRemoved, p11.TokenNotPresent, p11.SessionHandleInvalid, p11.SessionClosed) as exc:
                raise TokenUnavailable(f"{name} was unplugged while signing. Nothing was signed.") from exc
            except p11.PKCS11Error as exc:
                raise TokenUnavailable(
                    f"{name} failed while signing ({type(exc).__name__}). Nothing was signed; ask the administrator."
                ) from exc
        finally:
            _close(session)


def _token_signer(session, *, token_label: str, key_label: str, whose: str) -> Signer:
    from pkcs11 import KeyType, Mechanism, ObjectClass
    from pkcs11 import exceptions as p11
    from pyhanko.sign.pkcs11 import PKCS11Signer

    try:
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=key_label)
    except p11.NoSuchKey as exc:
        raise NoKey(f"The signing token “{token_label}”{whose} holds no key named “{key_label}”.") from exc
    except p11.MultipleObjectsReturned as exc:
        raise NoKey(
            f"The signing token “{token_label}”{whose} holds several keys named “{key_label}”; ask the"
            " administrator to configure which one to use."
        ) from exc
    # Some tokens (SoftHSM among them) only sign a digest computed outside (CKM_ECDSA), not the message
    # (CKM_ECDSA_SHA256); pyHanko then hashes itself.
    mechanisms = session.token.slot.get_mechanisms()
    raw_ecdsa = key.key_type == KeyType.EC and Mechanism.ECDSA_SHA256 not in mechanisms
    signer = PKCS11Signer(
        session, key_label=key_label, cert_label=key_label, other_certs_to_pull=None, use_raw_mechanism=raw_ecdsa
    )
    try:
        signer.signing_cert  # noqa: B018 -- loads the certificate and key now, to report a missing one clearly
    except p11.PKCS11Error as exc:
        raise NoKey(
            f"The signing token “{token_label}”{whose} holds no certificate named “{key_label}” for its key."
        ) from exc
    return signer


def _close(session) -> None:
    from pkcs11 import exceptions as p11

    try:
        session.close()
    except p11.PKCS11Error:
        # The token went away (unplugged) after the work was done or had failed; there is nothing left to
        # close, and raising here would hide the outcome of the block.
        logger.warning("could not close the PKCS#11 session cleanly", exc_info=True)
