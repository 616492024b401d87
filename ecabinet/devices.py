"""Signed-in devices and sessions, and the one service that ends access (issue 15).

Tokens: ``POST /api/v1/auth/token`` makes a ``Device`` and hands out its token once; the database
keeps only the token's SHA-256 digest. The token is 256 random bits from ``secrets``, so the digest
is looked up directly (an index on the digest, no comparison that could leak timing about a secret
the database does not have) and a copy of the database opens nothing. Expiry slides: each use moves
``expires_at`` to ``API_TOKEN_IDLE_DAYS`` ahead, at most once every ``API_TOKEN_REFRESH_SECONDS`` (no
write per request) and never past ``API_TOKEN_MAX_DAYS`` after sign-in.

Sessions: each login records the session in ``UserSession`` under a random ``sid`` kept in the
session's data, so the sessions of one user are found without reading the whole session table, and
a room socket is known by the credential it was opened with: ``d<device id>`` or ``s<sid>``.

Ending access (``revoke_device``, ``end_session``, ``end_access``, ``change_password``): in one
transaction the devices are deleted, the sessions deleted, an entry appended to the audit log
naming the real actor, and after the commit ``ecabinet.realtime`` tells every process to close the
room sockets opened with those credentials (4401).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Least
from django.utils.translation import gettext_lazy as _

from ecabinet import audit, clock, prepared, realtime
from ecabinet.errors import DomainError
from ecabinet.models import Device, UserSession
from ecabinet.permissions import check_may_manage_devices_of

__all__ = ["DEVICE_NAME_MAX", "SID_KEY", "TokenRefused", "authenticate_token", "change_password", "device_credential",
           "device_live", "digest", "end_access", "end_session", "issue_device", "live_devices", "remember_session",
           "resolve_tokens", "revoke_device", "session_credential"]

SID_KEY = "_ecabinet_sid"
DEVICE_NAME_MAX = 100
TOKEN_BYTES = 32
INVALID_TOKEN = "invalid_token"
TOKEN_EXPIRED = "token_expired"
# Sentinels for ``ecabinet.prepared``: no digest holds a NUL, no device id is negative.
_PROBE_DIGEST, _PROBE_DEVICE = prepared.SENTINEL_MARK + "devices.digest", -730_194_703_001
REASONS = ("logout", "revoked", "password_changed", "password_reset", "deactivated")


class TooManyDevices(DomainError):
    status = 409
    code = "too_many_devices"
    default_message = _("This account is signed in on too many devices. Sign out of one of them "
                        "(under “My devices”) and try again.")


class TokenRefused(DomainError):
    """A token that opens nothing: unknown or revoked (``invalid_token``), or expired."""

    status = 401
    code = INVALID_TOKEN
    default_message = _("This sign-in is no longer valid (signed out, revoked or unknown). Please sign in again.")


def token_message(code: str) -> str:
    if code == TOKEN_EXPIRED:
        return str(_("This sign-in has expired after a time without use. Please sign in again."))
    return str(TokenRefused.default_message)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def device_credential(device_id: int) -> str:
    return f"d{device_id}"


def session_credential(sid: str | None) -> str:
    return f"s{sid or ''}"


def _now():
    return clock.moment()


def _idle() -> timedelta:
    return timedelta(days=settings.API_TOKEN_IDLE_DAYS)


# -- devices -----------------------------------------------------------------------------------------

def live_devices(user):
    return Device.objects.filter(user=user, expires_at__gt=_now())


@transaction.atomic
def issue_device(*, user, name: str) -> tuple[Device, str]:
    """A new device of ``user`` and its token (shown once). The user's expired devices go first; at
    ``API_MAX_DEVICES_PER_USER`` live ones, ``too_many_devices``."""
    audit.lock_head()
    now = _now()
    Device.objects.filter(user=user, expires_at__lte=now).delete()
    if Device.objects.filter(user=user).count() >= settings.API_MAX_DEVICES_PER_USER:
        raise TooManyDevices()
    key = secrets.token_urlsafe(TOKEN_BYTES)
    device = Device.objects.create(
        user=user, name=(name.strip() or str(_("API client")))[:DEVICE_NAME_MAX], digest=digest(key), created_at=now,
        last_used_at=now, expires_at=min(now + _idle(), now + timedelta(days=settings.API_TOKEN_MAX_DAYS)),
        absolute_expires_at=now + timedelta(days=settings.API_TOKEN_MAX_DAYS))
    audit.record(user, "auth.device_issued", device, data={"name": device.name})
    return device, key


def resolve_tokens(keys) -> dict[str, Device | str]:
    """Each key → its live ``Device`` (with ``user``), or ``invalid_token`` / ``token_expired``: one
    query for all of them, and one update for the devices whose expiry is due to slide."""
    keys = set(keys)
    if not keys:
        return {}
    by_digest = {digest(key): key for key in keys}
    now = _now()
    found = {d.digest: d for d in _devices_by_digest(list(by_digest))}
    out: dict[str, Device | str] = {}
    stale = []
    refresh = timedelta(seconds=settings.API_TOKEN_REFRESH_SECONDS)
    for dig, key in by_digest.items():
        device = found.get(dig)
        if device is None:
            out[key] = INVALID_TOKEN
        elif device.expires_at <= now:
            out[key] = TOKEN_EXPIRED
        else:
            out[key] = device
            if now - device.last_used_at >= refresh:
                stale.append(device.pk)
    if stale:
        Device.objects.filter(pk__in=stale).update(last_used_at=now, expires_at=Least(now + _idle(),
                                                                                         "absolute_expires_at"))
    return out


def _devices_by_digest(digests: list[str]) -> list[Device]:
    """``Device.objects.select_related("user").filter(digest__in=digests)``. One digest (every API request
    and socket handshake) is read by a query compiled once per process (``ecabinet.prepared``, issue 19:
    building this query cost more CPU than the database took to answer it); the row is read afresh on
    every call, so a revoked (deleted) or expired device is refused on its very next request."""
    # A stored digest is hex: a text with a NUL matches none (and PostgreSQL refuses it as a parameter).
    digests = [d for d in digests if "\x00" not in d]
    if not digests:
        return []
    if len(digests) != 1:
        return list(Device.objects.select_related("user").filter(digest__in=digests))
    alias, rows = prepared.converted_rows(("devices.by_digest",), _by_digest_query, {_PROBE_DIGEST: digests[0]})
    width = len(prepared.attnames(Device))
    found = []
    for row in rows:
        device = prepared.instance(alias, Device, row[:width])
        Device.user.field.set_cached_value(device, prepared.instance(alias, Device.user.field.related_model,
                                                                     row[width:]))
        found.append(device)
    return found


def _by_digest_query():
    user_columns = ["user__" + name for name in prepared.attnames(Device.user.field.related_model)]
    return Device.objects.filter(digest=_PROBE_DIGEST).values_list(*prepared.attnames(Device), *user_columns)


def device_live(device_id: int) -> bool:
    """Whether device ``device_id`` is neither revoked (deleted) nor expired: what a room socket opened
    with it checks again on its heartbeats (``ecabinet.ws_auth.still_valid``), by a query compiled
    once per process that reads the row afresh."""
    _alias, rows = prepared.converted_rows(
        ("devices.expiry",), lambda: Device.objects.filter(pk=_PROBE_DEVICE).values_list("expires_at"),
        {_PROBE_DEVICE: int(device_id)})
    return bool(rows) and rows[0][0] > _now()


def authenticate_token(key: str) -> tuple[object, Device]:
    """(user, device) for a live token of an active account, or ``TokenRefused``."""
    found = resolve_tokens([key]).get(key, INVALID_TOKEN)
    if isinstance(found, str):
        raise TokenRefused(token_message(found), code=found)
    if not found.user.is_active:
        raise TokenRefused()
    return found.user, found


@transaction.atomic
def revoke_device(*, actor, device: Device) -> None:
    """Sign ``device`` out: its token stops working at once and its sockets close."""
    audit.lock_head()
    check_may_manage_devices_of(actor, device.user)
    device_id = device.pk
    deleted, _rows = Device.objects.filter(pk=device_id).delete()
    if not deleted:
        return  # revoked meanwhile: nothing left to do
    audit.record(actor, "auth.device_revoked", device.user,
                 data={"device_id": device_id, "name": device.name, "owner": device.user.username})
    realtime.credentials_closed_on_commit(user_id=device.user_id, close=[device_credential(device_id)])


# -- sessions -----------------------------------------------------------------------------------------

def remember_session(*, user, session) -> str:
    """Record ``session`` (logged in as ``user``) under its ``sid``; called at login and after a
    password change keeps the session under a new key. Returns the sid."""
    if session.session_key is None:
        session.save()
    sid = session.get(SID_KEY) or secrets.token_hex(16)
    session[SID_KEY] = sid
    UserSession.objects.update_or_create(sid=sid, defaults={"user": user, "session_key": session.session_key,
                                                            "created_at": _now()})
    # The user's sessions that expired or were flushed meanwhile: forgotten here, one statement.
    others = dict(UserSession.objects.filter(user=user).exclude(sid=sid).values_list("session_key", "pk"))
    live = set(Session.objects.filter(session_key__in=others, expire_date__gt=_now()).values_list("session_key",
                                                                                               flat=True))
    UserSession.objects.filter(pk__in=[pk for key, pk in others.items() if key not in live]).delete()
    return sid


@transaction.atomic
def end_session(*, user, session_key: str | None, sid: str | None) -> None:
    """The user signed out of this browser session (Django flushes the session itself): forget it,
    audit it, and close the room sockets opened with it."""
    audit.lock_head()
    UserSession.objects.filter(Q(sid=sid or "-") | Q(session_key=session_key or "-"), user=user).delete()
    audit.record(user, "auth.logout", user, data={"via": "session"})
    if sid:
        realtime.credentials_closed_on_commit(user_id=user.pk, close=[session_credential(sid)])


# -- ending access ----------------------------------------------------------------------------------

@transaction.atomic
def end_access(*, user, actor, reason: str, keep_session_key: str | None = None,
               keep_device_id: int | None = None) -> dict:
    """End every session and device of ``user`` except the ones named, and close their sockets on
    every process. ``reason`` is one of ``REASONS``. Returns what ended (counts)."""
    assert reason in REASONS, reason
    audit.lock_head()
    devices = Device.objects.filter(user=user).exclude(pk=keep_device_id or 0)
    device_ids = list(devices.values_list("pk", flat=True))
    devices.delete()
    rows = UserSession.objects.filter(user=user)
    kept = rows.filter(session_key=keep_session_key).values_list("sid", flat=True).first() if keep_session_key else None
    ended = list(rows.exclude(sid=kept or "").values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=ended).exclude(session_key=keep_session_key or "").delete()
    rows.exclude(sid=kept or "").delete()
    audit.record(actor, "auth.access_ended", user, data={
        "reason": reason, "user": user.username, "devices_revoked": len(device_ids), "sessions_ended": len(ended),
        "kept_device": keep_device_id, "kept_session": bool(kept)})
    keep = [session_credential(kept)] if kept else []
    if keep_device_id:
        keep.append(device_credential(keep_device_id))
    realtime.credentials_closed_on_commit(user_id=user.pk, keep=keep)
    return {"devices": len(device_ids), "sessions": len(ended)}


@transaction.atomic
def change_password(*, user, actor, new_password: str | None, reason: str = "password_changed",
                    keep_session_key: str | None = None, keep_device_id: int | None = None) -> dict:
    """Set ``user``'s password (already validated by the caller's form: old password, the project's
    validators; None: an unusable password, sign-in by password closed) and end every other session
    and device of theirs (``end_access``). ``reason`` is ``password_changed`` (by the user) or
    ``password_reset`` (by an administrator)."""
    if new_password is None:
        user.set_unusable_password()
    else:
        user.set_password(new_password)
    user.save(update_fields=["password"])
    return end_access(user=user, actor=actor, reason=reason, keep_session_key=keep_session_key,
               keep_device_id=keep_device_id)
