"""Rate and volume limits per account: the one home of the rule (issue 14; docs/limits.md).

Every write a member can repeat at will — comments, requests to speak, positions, uploads, votes,
ballot answers — and every message and connection of the room socket is counted per account
against the limits of its *scope*, here. The API's throttle (``ecabinet.api.throttles``), the vote
intake (``hotpath.intake``), the screens and the room socket (``meetings.consumers``) all ask
``hit`` or ``check``; none of them holds a number. The numbers are settings (``RATE_*``), read on
each call so that a test may change them.

How it counts, and why it is safe across processes
--------------------------------------------------
A fixed-window counter per (scope, account, window): the key names the window's index
(``now // period``), the counter is raised with the cache's ``incr``, and it expires a minute after
its window. With ``REDIS_URL`` the cache is Redis (``ecabinet.settings``): ``incr`` is Redis's
``INCRBY``, atomic, so two requests of one account on two Daphne processes are both counted and the
limit holds exactly across processes. Without it the cache is this process's memory (``LocMemCache``,
whose ``incr`` holds a lock), which is all there is to share on one process. A new window's counter
is made with ``add`` (``SET NX``): of two processes racing to make it, one makes it and the other's
``add`` fails and it ``incr``s.

Why not DRF's ``SimpleRateThrottle`` or a list of timestamps: it reads, appends and writes back a
list — two processes both read N and both write N + 1, so a flood split over processes passes; it
cannot count a volume (characters, bytes) either. Why not ``django-ratelimit``: its counter is the
same ``add``/``incr`` pair, but it wants a request object (the socket and the intake's batches have
none of the kind) and answers 403. A fixed window lets up to twice the limit through around a window
boundary; each scope that matters therefore has a second, longer window (an hour) that bounds the
total, and the limits are far above honest use anyway.

A refused attempt is not counted (its increments are taken back): a client retrying during its 429
is not pushed further out; it is told in ``Retry-After`` when its window ends. Replays of an
``Idempotency-Key`` count like any other request (the throttle runs before the replay look-up, and
a client that retries a hundred times a minute is misbehaving whatever it retries).

If the cache cannot be reached (Redis away), writes are allowed and the failure is logged: a
session must not stop because its abuse guard is down.

From an event loop (the room socket counts every message it receives, ``ws_messages``, and every
socket it opens, ``ws_connects``) ``ahit`` counts the same way: with this process's memory as the
cache, at once (a lock and a dict); with Redis, on a small pool of threads of its own, so that the
loop serving every socket of the process does not wait for Redis's round trips (issue 19: one
blocking round trip per ping, on the loop). Same keys, same counters, same answer as ``hit``.
On Redis a count is one round trip (``SET NX`` with the expiry, then ``INCRBY``, in one ``MULTI``),
not Django's ``EXISTS`` then ``INCRBY``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext, ngettext
from django.utils.translation import pgettext_lazy as _what

from ecabinet import clock
from ecabinet.errors import DomainError

log = logging.getLogger(__name__)

__all__ = ["SCOPES", "RateLimited", "Refusal", "ahit", "check", "check_upload", "hit", "hit_many", "rates",
           "refusal_body"]

CODE = "rate_limited"
CACHE_ALIAS = "default"
KEY_GRACE_SECONDS = 60  # a window's counter outlives the window a little: clocks of processes differ


@dataclass(frozen=True)
class Scope:
    """What is counted, what the person is told it is, and its limits: (setting name, period in
    seconds) pairs. ``unit`` is how one setting unit converts to the cost passed to ``hit``."""

    label: object
    limits: tuple[tuple[str, int], ...]
    unit: int = 1


SCOPES: dict[str, Scope] = {
    "comments": Scope(_what("rate limit", "comments"),
                      (("RATE_COMMENTS_PER_MINUTE", 60), ("RATE_COMMENTS_PER_HOUR", 3600))),
    "comment_chars": Scope(_what("rate limit", "comment text"), (("RATE_COMMENT_CHARS_PER_HOUR", 3600),)),
    "annotations": Scope(_what("rate limit", "annotations"),
                         (("RATE_ANNOTATIONS_PER_MINUTE", 60), ("RATE_ANNOTATIONS_PER_HOUR", 3600))),
    "speaking": Scope(_what("rate limit", "requests to speak"), (("RATE_SPEAKING_PER_MINUTE", 60),)),
    "positions": Scope(_what("rate limit", "positions"), (("RATE_POSITIONS_PER_MINUTE", 60),)),
    "uploads": Scope(_what("rate limit", "uploads"), (("RATE_UPLOADS_PER_HOUR", 3600),)),
    "upload_bytes": Scope(_what("rate limit", "uploaded data"), (("RATE_UPLOAD_MB_PER_HOUR", 3600),), unit=1024 * 1024),
    "votes": Scope(_what("rate limit", "votes"), (("RATE_VOTES_PER_MINUTE", 60),)),
    "ballot_answers": Scope(_what("rate limit", "ballot answers"), (("RATE_BALLOT_ANSWERS_PER_MINUTE", 60),)),
    "task_writes": Scope(_what("rate limit", "changes to tasks"),
                         (("RATE_TASK_WRITES_PER_MINUTE", 60), ("RATE_TASK_WRITES_PER_HOUR", 3600))),
    "pdf_reports": Scope(_what("rate limit", "PDF reports"), (("RATE_PDF_REPORTS_PER_MINUTE", 60),)),
    "ws_messages": Scope(_what("rate limit", "messages on the live connection"),
                         (("RATE_WS_MESSAGES_PER_MINUTE", 60),)),
    "ws_connects": Scope(_what("rate limit", "live connections"), (("RATE_WS_CONNECTS_PER_MINUTE", 60),)),
}


@dataclass(frozen=True)
class Rate:
    limit: int  # in cost units (requests, characters, bytes)
    period: int  # seconds


@dataclass(frozen=True)
class Refusal:
    scope: str
    retry_after: int  # whole seconds until the window that refused ends (at least 1)


class RateLimited(DomainError):
    """Too many writes of one kind by one account: 429, with ``Retry-After`` (``ecabinet.api.errors``)."""

    status = 429
    code = CODE

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        self.retry_after = refusal.retry_after
        super().__init__(_message(refusal))


def rates(scope: str) -> list[Rate]:
    """The scope's limits in force (0 in a setting: that limit is off)."""
    spec = SCOPES[scope]
    found = []
    for name, period in spec.limits:
        limit = int(getattr(settings, name))
        if limit > 0:
            found.append(Rate(limit * spec.unit, period))
    return found


def hit(scope: str, account_id: int | None, cost: int = 1) -> Refusal | None:
    """Count ``cost`` against ``account_id``'s limits of ``scope``; a ``Refusal`` (and nothing
    counted) when any of them would be passed. Anonymous callers (None) are not counted here:
    every limited path requires a signed-in account first."""
    return hit_many(account_id, [(scope, cost)])


def hit_many(account_id: int | None, charges: list[tuple[str, int]], now: float | None = None) -> Refusal | None:
    """``hit`` for several scopes at once (an upload: one upload and its bytes), all or nothing; ``now``
    (the windows' time) is read from the clock unless given."""
    if account_id is None:
        return None
    cache = caches[CACHE_ALIAS]
    now = clock.now() if now is None else now
    counted: list[tuple[str, int]] = []
    refusal: Refusal | None = None
    try:
        for scope, cost in charges:
            if cost <= 0:
                continue
            for rate in rates(scope):
                window = int(now // rate.period)
                key = f"rate:{scope}:{account_id}:{rate.period}:{window}"
                total = _incr(cache, key, cost, rate.period + KEY_GRACE_SECONDS)
                counted.append((key, cost))
                wait = max(1, math.ceil((window + 1) * rate.period - now))
                if total > rate.limit and (refusal is None or wait > refusal.retry_after):
                    refusal = Refusal(scope, wait)
        if refusal is None:
            return None
        for key, cost in counted:
            cache.decr(key, cost)
    except Exception:  # the cache (Redis) is away: let the write through rather than stop the session
        log.warning("rate limits: the cache failed; account %s not limited", account_id, exc_info=True)
        return None
    return refusal


# Threads that count for event loops when the cache is Redis (``ahit``): a few, so that one slow
# round trip does not hold every socket's count behind it; made on first use in each process.
OFF_LOOP_THREADS = 2
_off_loop: tuple[int, ThreadPoolExecutor] | None = None
_off_loop_lock = threading.Lock()


def _off_loop_pool() -> ThreadPoolExecutor:
    global _off_loop
    with _off_loop_lock:
        if _off_loop is None or _off_loop[0] != os.getpid():
            _off_loop = (os.getpid(), ThreadPoolExecutor(max_workers=OFF_LOOP_THREADS, thread_name_prefix="limits"))
        return _off_loop[1]


async def ahit(scope: str, account_id: int | None, cost: int = 1) -> Refusal | None:
    """``hit``, from an event loop, without making the loop wait for the cache: this process's memory
    (``LocMemCache``) is counted at once, any other cache (Redis) on ``OFF_LOOP_THREADS`` threads of
    this module's own — not the thread of the sockets' database work. The caller awaits the answer,
    so a socket's messages are still counted, and refused, in the order they came."""
    if account_id is None:
        return None
    if isinstance(caches[CACHE_ALIAS], LocMemCache):
        return hit(scope, account_id, cost)
    return await asyncio.get_running_loop().run_in_executor(_off_loop_pool(),
                                                            functools.partial(hit, scope, account_id, cost))


def _incr(cache, key: str, cost: int, timeout: int) -> int:
    if isinstance(cache, RedisCache):
        return _redis_incr(cache, key, cost, timeout)
    try:
        return cache.incr(key, cost)
    except ValueError:  # no counter yet for this window
        if cache.add(key, cost, timeout):
            return cost
        return cache.incr(key, cost)  # another process made it meanwhile


def _redis_incr(cache: RedisCache, key: str, cost: int, timeout: int) -> int:
    """``_incr`` on Redis in one round trip instead of two to four (Django's ``incr`` asks ``EXISTS``
    before ``INCRBY``; a new window then ``SET NX`` and ``INCRBY`` again): ``SET key 0 EX timeout NX``
    (makes the window's counter, with its expiry, unless it is there) and ``INCRBY key cost`` in one
    ``MULTI``/``EXEC``. The same key and value as the cache's own methods (an int is stored as
    itself), so ``decr`` and the other processes' counts see the same counter."""
    full = cache.make_and_validate_key(key)
    with cache._cache.get_client(full, write=True).pipeline(transaction=True) as pipe:
        pipe.set(full, 0, ex=timeout, nx=True)
        pipe.incrby(full, cost)
        return int(pipe.execute()[1])


def check(scope: str, user, cost: int = 1, *, also: tuple[tuple[str, int], ...] = ()) -> None:
    """``hit`` for ``user`` (a User or AnonymousUser), and the ``also`` charges with it, all or
    nothing; raise ``RateLimited`` when refused."""
    account_id, now = getattr(user, "pk", None), clock.now()
    refusal = hit_many(account_id, [(scope, cost), *also], now)
    if refusal is not None:
        raise RateLimited(refusal)
    if account_id is not None:  # what ``refund`` may give back in this request (a new dict: contexts share none)
        _counted.set({**(_counted.get() or {}), scope: (account_id, now, cost)})


# The count ``check`` last made in this context (a request: Django runs each sync view in a context of
# its own), per scope: (account, time, cost). ``refund`` gives back that count and no other — not one
# made by another request, another account, or in the window that began since (issue 19d: a refused
# body sent across a minute's end came off the next minute's counter, one write over the limit each).
_counted: contextvars.ContextVar[dict[str, tuple[int, float, int]] | None] = contextvars.ContextVar(
    "limits_counted", default=None)


def check_then(scope: str, user, cost: int, *, counted: str) -> None:
    """``check`` for a charge known only once the body is read (a comment's characters), after the
    view's throttle already counted the request against ``counted``. When this refuses, that count is
    given back too: a refused attempt counts against nothing (docs/limits.md)."""
    try:
        check(scope, user, cost)
    except RateLimited:
        refund(counted, getattr(user, "pk", None))
        raise


def refund(scope: str, account_id: int | None, cost: int = 1) -> None:
    """Give back ``cost`` of the count this request (context) made against ``account_id``'s windows of
    ``scope`` by ``check``, in the windows it was made in; once. Nothing when this request made no such
    count. A counter that is gone (its window long over) is left alone."""
    counted = _counted.get() or {}
    made = counted.get(scope)
    if account_id is None or made is None or made[0] != account_id or made[2] < cost:
        return
    _counted.set({name: value for name, value in counted.items() if name != scope})
    cache = caches[CACHE_ALIAS]
    for rate in rates(scope):
        key = f"rate:{scope}:{account_id}:{rate.period}:{int(made[1] // rate.period)}"
        try:
            if (cache.get(key) or 0) >= cost:
                cache.decr(key, cost)
        except Exception:  # the cache is away or the key just expired: nothing to give back
            log.warning("rate limits: could not give back %s of %s for account %s", cost, scope, account_id,
                        exc_info=True)


def check_upload(user, meta) -> None:
    """An upload counts once against ``uploads`` and its size against ``upload_bytes``: the request's
    ``Content-Length`` (from ``meta``, the request's META), known before a byte of the body is parsed."""
    try:
        size = max(int(meta.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        size = 0
    check("uploads", user, also=(("upload_bytes", size),))


def wait_phrase(seconds: int) -> str:
    """"5 seconds", "3 minutes": how long until a refused caller may try again."""
    if seconds < 120:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _message(refusal: Refusal) -> str:
    wait = wait_phrase(refusal.retry_after)
    return gettext("Too many %(what)s from your account in a short time. Please try again in %(wait)s.") % {
        "what": SCOPES[refusal.scope].label, "wait": wait}


def refusal_body(refusal: Refusal) -> dict:
    """The JSON body of a 429, in the active language (the API view's and the vote intake's)."""
    return {"code": CODE, "detail": _message(refusal)}
