"""Authenticating many API requests at once, for the vote intake's batches (``hotpath.intake``).

Each request gets the user that DRF's authentication of the API (``TokenAuthentication``, then
``SessionAuthentication`` with its CSRF check) would give it — or ``None``, meaning "not the common
case: let Django's own view answer it". Only the success path is done here, in a few queries for
the whole batch; every refusal and every unusual case (a malformed header, an unknown or disabled
account, a session that does not verify or was signed with an older secret, a CSRF failure, a
session engine other than the database) goes back to DRF, which gives its usual answer. So this
module never has to copy an error message, and what it accepts is exactly what DRF accepts:

* **Token**: ``Authorization: Token <key>`` split as ``TokenAuthentication.authenticate`` splits
  it; the key's digest must name a live device of an active user (``ecabinet.devices.resolve_tokens``,
  which ``DeviceTokenAuthentication`` uses too, and which slides the devices' expiry in one update).
* **Session**: no ``Authorization`` header and the session cookie; the session row must exist and
  not have expired (``SessionStore.load``); it must name ``ModelBackend``, an active user, and a
  session hash equal to ``user.get_session_auth_hash()`` (``django.contrib.auth.get_user``); and the
  request must pass ``SessionAuthentication.enforce_csrf``, which is DRF's own check, called here.
  A session that is idle, or whose last-seen mark is due to be renewed (``ecabinet.idle``), goes to
  Django's path too, whose middleware ends or renews it.

``tests/api/test_bulk_auth.py`` checks each case against DRF on the same requests.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication, get_authorization_header

from ecabinet import devices, idle

__all__ = ["authenticate_many", "credentials_of"]

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
DB_SESSIONS = "django.contrib.sessions.backends.db"


def credentials_of(request) -> tuple[str, str] | None:
    """``("token", key)``, ``("session", key)``, or None when DRF must look at the request itself."""
    header = get_authorization_header(request)
    if header:
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != TokenAuthentication.keyword.lower().encode():
            return None
        try:
            return "token", parts[1].decode()
        except UnicodeError:
            return None
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return ("session", key) if key else None


def authenticate_many(requests: list) -> list:
    """The user of each request (``django.http.HttpRequest``), or None (see the module docstring)."""
    found = [credentials_of(request) for request in requests]
    resolved = devices.resolve_tokens({c[1] for c in found if c and c[0] == "token"})
    tokens = {key: device.user_id for key, device in resolved.items() if not isinstance(device, str)}
    sessions = _session_users({c[1] for c in found if c and c[0] == "session"})
    wanted = set(tokens.values()) | {user_id for user_id, _hash in sessions.values()}
    users = {u.pk: u for u in get_user_model()._default_manager.filter(pk__in=wanted, is_active=True)}
    out = []
    for request, credentials in zip(requests, found, strict=True):
        user = None
        if credentials and credentials[0] == "token":
            user = users.get(tokens.get(credentials[1]))
        elif credentials:
            user = _verified(sessions.get(credentials[1]), users)
            if user is not None and not _csrf_passes(request):
                user = None
        out.append(user)
    return out


def _session_users(keys: set[str]) -> dict[str, tuple[object, str]]:
    """session key → (user id, session hash), for the live sessions logged in with ModelBackend."""
    if not keys or settings.SESSION_ENGINE != DB_SESSIONS:
        return {}
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    rows = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
        "session_key", "session_data")
    out = {}
    pk = get_user_model()._meta.pk
    for key, data in rows:
        session = store.decode(data)
        if session.get(BACKEND_SESSION_KEY) != MODEL_BACKEND or MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
            continue
        if idle.expired(session) or idle.needs_touch(session):
            continue  # Django's path ends an idle session (ecabinet.idle) or renews its last-seen mark
        try:
            out[key] = (pk.to_python(session[SESSION_KEY]), session.get(HASH_SESSION_KEY) or "")
        except Exception:  # noqa: S112 - a session Django would not accept either: DRF answers
            continue
    return out


def _verified(session: tuple[object, str] | None, users: dict):
    if session is None:
        return None
    user = users.get(session[0])
    if user is None or not session[1] or not constant_time_compare(session[1], user.get_session_auth_hash()):
        return None  # fallback secrets, a changed password: django.contrib.auth.get_user decides
    return user


def _csrf_passes(request) -> bool:
    try:
        SessionAuthentication().enforce_csrf(request)
    except exceptions.PermissionDenied:
        return False
    return True
