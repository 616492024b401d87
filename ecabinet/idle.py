"""Idle session timeout (issue 15; docs/security.md "Web hardening", docs/limits.md "Sessions").

A signed-in browser session ends after ``SESSION_IDLE_MINUTES`` without activity, and in any case
``SESSION_COOKIE_AGE`` after sign-in (Django's own expiry). Activity is:

* any request of that session (screens, the API under the session cookie), and
* while the live room is open, the heartbeat of its socket (every 20 s; ``meetings.consumers``
  checks at most once a minute). A minister following a three-hour session in the room without
  touching the tablet is not signed out mid-session; a tablet left on any other screen is.

The last-seen mark (``_last_seen``, seconds since the epoch) is written at most once every
``TOUCH_SECONDS``, so a session is not saved on every request. Django slides a session's expiry each
time it is saved, so the sign-in time (``_signed_in_at``) is kept too and bounds the session
absolutely. A session found idle is ended (flushed), and the browser sent to the login page with a
message saying why; an API call gets 401 ``session_expired``. Sockets of an ended session are
closed (:func:`session_alive`, which other parts call to decide whether a cookie-authenticated
socket may go on).
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, get_user, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from ecabinet import clock

__all__ = ["LAST_SEEN", "SIGNED_IN", "TOUCH_SECONDS", "IdleSessionMiddleware", "expired", "needs_touch",
           "session_alive", "touch"]

LAST_SEEN = "_last_seen"
SIGNED_IN = "_signed_in_at"
TOUCH_SECONDS = 60
CODE = "session_expired"


def expired(session, at: float | None = None) -> str:
    """Why ``session`` (a mapping) must end: ``"idle"`` (unused for longer than ``SESSION_IDLE_MINUTES``),
    ``"age"`` (signed in longer than ``SESSION_COOKIE_AGE`` ago: Django's own expiry slides each time the
    session is saved, this one does not), or ``""``. A session without marks yet (just signed in, or from
    before this rule) is neither."""
    at = clock.now() if at is None else at
    seen, since = session.get(LAST_SEEN), session.get(SIGNED_IN)
    idle = settings.SESSION_IDLE_MINUTES * 60
    if idle and isinstance(seen, int | float) and at - seen > idle:
        return "idle"
    if isinstance(since, int | float) and at - since > settings.SESSION_COOKIE_AGE:
        return "age"
    return ""


def needs_touch(session, at: float | None = None) -> bool:
    seen = session.get(LAST_SEEN)
    return not isinstance(seen, int | float) or (clock.now() if at is None else at) - seen >= TOUCH_SECONDS


def touch(session, at: float | None = None) -> None:
    """Mark activity, at most once every ``TOUCH_SECONDS`` (a write of the session row)."""
    at = clock.now() if at is None else at
    if needs_touch(session, at):
        session[LAST_SEEN] = int(at)
        session.setdefault(SIGNED_IN, int(at))


def signed_in(sender, request, user, **kwargs) -> None:
    """``user_logged_in``: a new session starts both clocks."""
    session = getattr(request, "session", None)
    if session is not None:
        at = int(clock.now())
        session[LAST_SEEN] = session[SIGNED_IN] = at


def message(reason: str) -> str:
    if reason == "age":
        return _("You were signed out %(hours)d hours after signing in. Please sign in again.") % {
            "hours": settings.SESSION_COOKIE_AGE // 3600}
    return _("You were signed out after %(minutes)d minutes without activity. Please sign in again.") % {
        "minutes": settings.SESSION_IDLE_MINUTES}


class IdleSessionMiddleware:
    """After ``AuthenticationMiddleware``: ends an idle session before any view sees its user."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if session.session_key and request.user.is_authenticated:
            at = clock.now()
            reason = expired(session, at)
            if reason:
                logout(request)
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"code": CODE, "detail": message(reason)}, status=401)
                messages.info(request, message(reason), extra_tags=CODE)
                return redirect_to_login(request.get_full_path())
            touch(session, at)
        return self.get_response(request)


def session_alive(session_key: str | None, user_id=None, *, activity: bool = True) -> bool:
    """Whether the browser session ``session_key`` (of user ``user_id``, when given) is still signed in:
    it exists, has not expired, is not idle, and still names that user with a valid password hash.
    Synchronous (database): call it through ``database_sync_to_async`` from a consumer. With
    ``activity`` (a heartbeat of the live room) the last-seen mark is renewed, at most once a minute.
    A session found idle here is refused everywhere; the next request ends it and says why."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if SESSION_KEY not in store:  # no such row, expired by Django, or signed out
        return False
    if user_id is not None and str(store[SESSION_KEY]) != str(user_id):
        return False
    request = HttpRequest()
    request.session = store
    if not get_user(request).is_authenticated:  # Django's own rule: deactivated, or the password changed
        return False
    at = clock.now()
    if expired(store, at):
        return False  # left for the next request to end, which tells the person why
    if activity and needs_touch(store, at):
        touch(store, at)
        store.save()
    return True
