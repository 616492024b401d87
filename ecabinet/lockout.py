"""Failed sign-ins and signing PINs: counted per account and per address, locked for a while (issue 15).

The one home of the rule, hence a little over 400 lines: sign-in, the signing PIN and the early lift
share one set of counters and locks, and the settings name this module's handler and callables.
What counts, where, and why:

* **Sign-in** (the login screen, the admin login, ``POST /api/v1/auth/token``): all three call
  ``django.contrib.auth.authenticate(request, ...)``. django-axes hooks into it: its backend
  (``AxesStandaloneBackend``, first in ``AUTHENTICATION_BACKENDS``) asks ``LockoutHandler.is_locked``
  *before* any password is hashed, and Django's ``user_login_failed`` signal reaches
  ``LockoutHandler.user_login_failed``. Only failures are counted, never a success: 28 tablets
  behind one hall address sign in at once whatever the count.
  - per account (the username typed, whether or not it exists, so the answer tells nothing about
    which accounts exist): ``LOCKOUT_ACCOUNT_FAILURES`` failures, each within
    ``LOCKOUT_COOLOFF_MINUTES`` of the previous one, lock that username for
    ``LOCKOUT_COOLOFF_MINUTES``. A successful sign-in on a screen (Django's ``user_logged_in``)
    forgets the account's failures; the token endpoint sends no such signal, its failures expire.
  - per address (``client_address``): ``LOCKOUT_ADDRESS_FAILURES`` failures lock the address, for
    every account, for the same time. Higher than the account's limit, so that one minister
    mistyping does not lock the hall, low enough that spraying one password over many accounts
    from one address stops after a few hundred guesses an hour. A success does not forget the
    address's failures (or one known account would renew the budget of a whole address).
  While a lock lasts every attempt is refused, the right password too, and the answer is the same
  whether the password was right or not (it is never checked). Refused attempts do not lengthen
  the lock. The lock's start is audited (``auth.locked_out``).
* **Signing PIN** (minutes, resolution, corrections; ``records.minutes.keys``):
  ``LOCKOUT_PIN_FAILURES`` wrong PINs of one signer lock that signer's signing for
  ``LOCKOUT_COOLOFF_MINUTES``; every wrong PIN is audited (``signing.pin_failed``), the lock too
  (``signing.pin_locked``). The check comes before the key is unlocked.

Where the counters live, and why there
--------------------------------------
In Django's cache: Redis when ``REDIS_URL`` is set (``INCR`` is atomic, so the several Daphne
processes of a cluster count one failure once and share one lock; keys expire by themselves, so
nothing has to be cleaned up), else this process's memory (one process: nothing to share) — the
same store as the per-account rate limits (``ecabinet.limits``). Axes' database handler was the
other choice: it writes a row per failure (with the request's data) into PostgreSQL under a row
lock and keeps them until a clean-up, so a password spray becomes write load on the database the
session runs on. The cost of the cache: a Redis restart forgets the counters and the locks (an
attacker gets a fresh budget; the audit log keeps what happened). If the cache cannot be reached,
sign-in goes on unlimited and the failure is logged: a session must not stop because its guard is
down.

The address (``client_address``) is the connection's (``REMOTE_ADDR``), unless the connection came
from one of ``TRUSTED_PROXIES`` and ``API_NUM_PROXIES`` (REST framework's ``NUM_PROXIES``, one
setting for both) is set: then the ``API_NUM_PROXIES``-th ``X-Forwarded-For`` entry from the end,
the one the proxy wrote. A caller writing its own ``X-Forwarded-For`` straight to Daphne keeps its
own address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from functools import lru_cache

from axes.backends import AxesStandaloneBackend
from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext

from ecabinet import audit, clock
from ecabinet.errors import DomainError
from ecabinet.limits import wait_phrase

log = logging.getLogger(__name__)

__all__ = ["AccountLocked", "LockoutBackend", "LockoutHandler", "PinLocked", "client_address", "lift_locks",
           "lockout_response", "pin_allowed", "pin_failed", "pin_succeeded"]

CACHE_ALIAS = "default"
ACCOUNT_CODE = "account_locked"  # the account's lock
ADDRESS_CODE = "rate_limited"  # the address's lock: the code of ecabinet.limits' refusals
PIN_CODE = "pin_locked"


def _now() -> float:
    """The clock of the locks (``ecabinet.clock``, the server's one clock); tests may replace this."""
    return clock.now()


def _cache():
    return caches[CACHE_ALIAS]


def cooloff_seconds() -> int:
    return max(1, int(settings.LOCKOUT_COOLOFF_MINUTES) * 60)


# --- the client's address -------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> str | None:
    """The address failures are counted against (axes' ``AXES_CLIENT_IP_CALLABLE``)."""
    from rest_framework.settings import api_settings

    remote = request.META.get("REMOTE_ADDR") or None
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded and remote and _is_trusted_proxy(remote):
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            return entries[-min(proxies, len(entries))][:64]
    return remote


# --- counters and locks ---------------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class Subject:
    """What failures are counted against: ``kind`` is account, address or pin."""

    kind: str
    ident: str  # the username, the address, the signer's id

    @property
    def key(self) -> str:
        return f"lockout:{self.kind}:{_digest(self.ident)}"

    def limit(self) -> int:
        return int({"account": settings.LOCKOUT_ACCOUNT_FAILURES, "address": settings.LOCKOUT_ADDRESS_FAILURES,
                    "pin": settings.LOCKOUT_PIN_FAILURES}[self.kind])


def _subjects(username: str | None, address: str | None) -> list[Subject]:
    found = []
    if username:
        found.append(Subject("account", username))
    if address:
        found.append(Subject("address", address))
    return found


def _locked_for(subjects: list[Subject]) -> tuple[Subject, int] | None:
    """The subject locked longest among ``subjects`` and the seconds left, or None."""
    if not subjects:
        return None
    until = _cache().get_many([f"{s.key}:lock" for s in subjects])
    now = _now()
    longest = None
    for subject in subjects:
        end = until.get(f"{subject.key}:lock")
        if end is not None and end > now and (longest is None or end > longest[1]):
            longest = (subject, end)
    if longest is None:
        return None
    return longest[0], max(1, math.ceil(longest[1] - now))


def _count_failure(subject: Subject) -> tuple[int, bool]:
    """One more failure of ``subject``: (the count, whether this failure started a lock). The count
    lives ``LOCKOUT_COOLOFF_MINUTES`` after the latest failure. On reaching the limit the lock is
    made with ``add`` (of two processes reaching it at once one makes it) and the count starts again."""
    cache, timeout = _cache(), cooloff_seconds()
    if cache.add(subject.key, 1, timeout):
        count = 1
    else:
        try:
            count = cache.incr(subject.key)
        except ValueError:  # expired between the two calls
            cache.add(subject.key, 1, timeout)
            count = 1
        cache.touch(subject.key, timeout)
    limit = subject.limit()
    if limit <= 0 or count < limit:
        return count, False
    started = cache.add(f"{subject.key}:lock", _now() + timeout, timeout)
    cache.delete(subject.key)
    return count, started


def _forget(subject: Subject) -> None:
    _cache().delete(subject.key)


def _lift(subject: Subject) -> bool:
    """End ``subject``'s lock and forget its failures; whether it was locked."""
    cache = _cache()
    was = _locked_for([subject]) is not None
    cache.delete_many([subject.key, f"{subject.key}:lock"])
    return was


# --- sign-in (django-axes' handler) ---------------------------------------------------------------


def surface(request) -> str:
    """Which door the attempt came through, for the audit entry: api or login (the admin site signs
    in on the login screen too: ``ecabinet.mfa_views.admin_login``)."""
    path = getattr(request, "path", "") or ""
    return "api" if path.startswith("/api/") else "login"


def _account(username: str | None):
    if not username:
        return None
    return get_user_model().objects.filter(username=username).first()


class LockoutBackend(AxesStandaloneBackend):
    """axes' backend, first in ``AUTHENTICATION_BACKENDS``. ``authenticate`` without a request (the
    test client's ``login``, a shell) still meets the account's lock; its failures are not counted
    (Django's signal carries no request then)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        return super().authenticate(request if request is not None else HttpRequest(), username, password, **kwargs)


class LockoutHandler(AxesCacheHandler):
    """django-axes' handler (``AXES_HANDLER``): axes' cache handler counts every key against one
    limit; here the account and the address have limits of their own, a lock has an end that is
    told to the caller (``Retry-After``), and its start goes into the audit log."""

    def _state(self, request, credentials) -> tuple[Subject, int] | None:
        username = get_client_username(request, credentials)
        return _locked_for(_subjects(username, getattr(request, "axes_ip_address", None)))

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        try:
            state = self._state(request, credentials)
        except Exception:  # the cache (Redis) is away: sign-in goes on
            log.warning("lockout: the cache failed; sign-in not limited", exc_info=True)
            return False
        if state is not None:
            request.lockout = state
        return state is not None

    def get_failures(self, request, credentials: dict | None = None) -> int:
        cache = _cache()
        username = get_client_username(request, credentials)
        return max([cache.get(s.key, 0) for s in _subjects(username, request.axes_ip_address)] or [0])

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None or getattr(request, "axes_locked_out", False):
            return  # without a request nothing is known; a refused attempt does not lengthen the lock
        username = get_client_username(request, credentials)
        subjects = _subjects(username, request.axes_ip_address)
        started = []
        try:
            for subject in subjects:
                count, new_lock = _count_failure(subject)
                if new_lock:
                    started.append((subject, count))
            state = _locked_for(subjects)
        except Exception:
            log.warning("lockout: the cache failed; failure of %s not counted", request.axes_ip_address, exc_info=True)
            return
        for subject, count in started:
            account = _account(username) if subject.kind == "account" else None
            audit.record(account, "auth.locked_out", account,
                         data={"address": request.axes_ip_address, "surface": surface(request), "by": subject.kind,
                               "failures": count, "minutes": settings.LOCKOUT_COOLOFF_MINUTES})
            log.warning("lockout: %s locked after %d failures (%s)", subject.kind, count, surface(request))
        if state is not None:
            request.lockout = state
            request.axes_locked_out = True
            request.axes_credentials = credentials

    def user_logged_in(self, sender, request, user, **kwargs):
        signed_in(user)

    def user_logged_out(self, sender, request, user, **kwargs):
        pass

    def reset_attempts(self, *, ip_address: str | None = None, username: str | None = None,
                       ip_or_username: bool = False) -> int:
        """axes' ``axes_reset_*`` commands: lift without an audit entry; ``lift_locks`` (through
        ``ecabinet.services.signin_lock_lift``) is the audited way."""
        return sum(_lift(s) for s in _subjects(username, ip_address))


def signed_in(user) -> None:
    """A complete sign-in (the password and, where enrolled, the second factor) forgets the account's
    failures, not the address's: the screens through Django's ``user_logged_in``, the API's token
    endpoint by calling this once the device is issued."""
    try:
        _forget(Subject("account", user.get_username()))
    except Exception:
        log.warning("lockout: the cache failed", exc_info=True)


def lock_message(kind: str, retry_after: int) -> str:
    wait = wait_phrase(retry_after)
    if kind == "address":
        return gettext("Too many failed sign-in attempts from your network address. "
                       "Please try again in %(wait)s.") % {"wait": wait}
    return gettext("Too many failed sign-in attempts for this account. Sign-in is paused; "
                   "please try again in %(wait)s.") % {"wait": wait}


class AccountLocked(DomainError):
    """Sign-in refused while a lock lasts: 429 ``account_locked`` (or ``rate_limited`` for an
    address), with ``Retry-After``."""

    status = 429
    code = ACCOUNT_CODE

    def __init__(self, kind: str, retry_after: int) -> None:
        self.kind, self.retry_after = kind, retry_after
        super().__init__(lock_message(kind, retry_after), code=ADDRESS_CODE if kind == "address" else ACCOUNT_CODE)


def lock_of(request) -> AccountLocked | None:
    """The lock that refused this request's sign-in, if one did."""
    state = getattr(request, "lockout", None)
    if not getattr(request, "axes_locked_out", False) or state is None:
        return None
    return AccountLocked(state[0].kind, state[1])


def check_password(request, user, password: str) -> bool:
    """``user``'s current password, checked as a sign-in is (changing one's password asks for it): a
    wrong one counts toward the account's and the address's locks, and while a lock lasts the answer
    is the lock (``AccountLocked`` raised), whatever the password. ``request``: Django's."""
    from django.contrib.auth import authenticate

    if authenticate(request, username=user.get_username(), password=password) is not None:
        return True
    lock = lock_of(request)
    if lock is not None:
        raise lock
    return False


def lockout_response(request, original_response=None, credentials=None):
    """axes' ``AXES_LOCKOUT_CALLABLE``: the API answers 429 in its error format; a screen keeps the
    page its form rendered (the form says why: ``ecabinet.forms``), as 429 with ``Retry-After``."""
    error = lock_of(request) or AccountLocked("account", cooloff_seconds())
    if surface(request) == "api" or not hasattr(original_response, "status_code"):
        response = JsonResponse({"code": error.code, "detail": str(error.message)}, status=429)
    else:
        response = original_response
        response.status_code = 429
    response["Retry-After"] = str(error.retry_after)
    return response


# --- lifting a lock early (audited) ---------------------------------------------------------------


def lift_locks(*, username: str | None, address: str | None, account_id: int | None) -> list[str]:
    """End the locks of ``username`` (sign-in), ``address`` and the account's signing PIN, and forget
    their failures; which were locked. The audited service is ``ecabinet.services.signin_lock_lift``."""
    subjects = _subjects(username, address)
    if account_id is not None:
        subjects.append(Subject("pin", str(account_id)))
    return [s.kind for s in subjects if _lift(s)]


# --- the signing PIN ------------------------------------------------------------------------------


class PinLocked(DomainError):
    status = 429
    code = PIN_CODE

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(gettext("Too many wrong PINs: signing is paused for your account. "
                                 "Please try again in %(wait)s.") % {"wait": wait_phrase(retry_after)})


def pin_allowed(user) -> None:
    """Raise ``PinLocked`` while ``user``'s signing is locked (before the key is touched)."""
    try:
        state = _locked_for([Subject("pin", str(user.pk))])
    except Exception:
        log.warning("lockout: the cache failed; PIN not limited", exc_info=True)
        return
    if state is not None:
        raise PinLocked(state[1])


def pin_failed(user, *, surface_name: str = "pin") -> None:
    """Count a wrong PIN of ``user`` and audit it; on reaching the limit, audit the lock too."""
    subject = Subject("pin", str(user.pk))
    try:
        count, started = _count_failure(subject)
    except Exception:
        log.warning("lockout: the cache failed; wrong PIN not counted", exc_info=True)
        count, started = 0, False
    audit.record(user, "signing.pin_failed", user, data={"failures": count, "surface": surface_name})
    if started:
        audit.record(user, "signing.pin_locked", user,
                     data={"failures": count, "minutes": settings.LOCKOUT_COOLOFF_MINUTES, "surface": surface_name})


def pin_succeeded(user) -> None:
    try:
        _forget(Subject("pin", str(user.pk)))
    except Exception:
        log.warning("lockout: the cache failed", exc_info=True)
