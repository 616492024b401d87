"""Issue 19d attack on ``limits.check_then`` / ``refund``: a comment refused for its characters gives back
the ``comments`` count its request made. The give-back must return exactly that count — never one made by
another request, another account or another window — so that refused attempts cannot be used to push a
counter below what was really written (and the limit above its setting)."""

from __future__ import annotations

import contextvars
import threading

import pytest
from django.core.cache import caches

from ecabinet import clock as server_clock
from ecabinet import limits

from ..test_rate_limits_redis import prefix, redis_url  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000 - 1_800_000_000 % 3600 + 59  # the last second of a minute, mid-hour


class Who:
    def __init__(self, pk: int) -> None:
        self.pk = pk
        self.is_authenticated = True


def _count(scope: str, account: int, period: int, now: float) -> int:
    return caches["default"].get(f"rate:{scope}:{account}:{period}:{int(now // period)}") or 0


def _long_comment_counted_before_the_minute_ends(settings, monkeypatch, account: int):
    """A comment limit of 2 a minute and 10 characters an hour; the throttle of a long comment counts
    it at 11:59:59.9 (in a request context of its own, as under Daphne). Returns that context and the
    clock (a one-item list the test moves)."""
    settings.RATE_COMMENTS_PER_MINUTE = 2
    settings.RATE_COMMENTS_PER_HOUR = 0
    settings.RATE_COMMENT_CHARS_PER_HOUR = 10
    attacker = Who(account)
    now = [T0 + 0.9]
    monkeypatch.setattr(server_clock, "now", lambda: now[0])
    long_one = contextvars.copy_context()  # each request runs in a context of its own (as under Daphne)
    long_one.run(limits.check, "comments", attacker)  # the throttle of a long comment, in the old minute
    return attacker, long_one, now


def test_a_refund_gives_back_the_window_the_request_counted_in_not_the_next_one(settings, monkeypatch):
    """The throttle counts a comment at 11:59:59.9; its body is refused for its characters at 12:00:00.1.
    Before the fix the give-back came off the *new* minute's counter, where the same account had already
    posted its limit: every refused attempt sent across a minute's end was one comment more than the limit
    in the next minute (as many as the attempts in flight)."""
    attacker, long_one, now = _long_comment_counted_before_the_minute_ends(settings, monkeypatch, 4711)
    now[0] = T0 + 1.1  # the new minute: two short comments fill it
    for _ in range(2):
        short = contextvars.copy_context()
        short.run(limits.check, "comments", attacker)
        short.run(limits.check_then, "comment_chars", attacker, 5, counted="comments")
    with pytest.raises(limits.RateLimited):  # the long comment's body: refused for its characters
        long_one.run(limits.check_then, "comment_chars", attacker, 50, counted="comments")
    assert _count("comments", attacker.pk, 60, now[0]) == 2  # the new minute still holds its two comments
    assert _count("comments", attacker.pk, 60, T0 + 0.9) == 0  # the old minute got its count back
    with pytest.raises(limits.RateLimited):
        contextvars.copy_context().run(limits.check, "comments", attacker)  # a third in the minute: refused


def test_a_refund_without_a_count_of_this_request_gives_nothing(settings, monkeypatch):
    """A request that counted nothing against ``comments`` (another view, another context) cannot give
    back a count some other request of the account made."""
    settings.RATE_COMMENTS_PER_MINUTE = 2
    settings.RATE_COMMENT_CHARS_PER_HOUR = 10
    monkeypatch.setattr(server_clock, "now", lambda: T0 - 30)
    attacker = Who(4712)
    for _ in range(2):
        contextvars.copy_context().run(limits.check, "comments", attacker)
    with pytest.raises(limits.RateLimited):
        contextvars.copy_context().run(limits.check_then, "comment_chars", attacker, 50, counted="comments")
    assert _count("comments", attacker.pk, 60, T0 - 30) == 2


def test_a_refund_never_touches_another_account_or_goes_below_zero(settings, monkeypatch):
    settings.RATE_COMMENTS_PER_MINUTE = 5
    settings.RATE_COMMENT_CHARS_PER_HOUR = 10
    monkeypatch.setattr(server_clock, "now", lambda: T0 - 30)
    victim, attacker = Who(1), Who(2)
    for _ in range(3):
        limits.check("comments", victim)
    limits.check("comments", attacker)
    for _ in range(4):  # one count, four refused bodies: one give-back at most
        with pytest.raises(limits.RateLimited):
            limits.check_then("comment_chars", attacker, 50, counted="comments")
    assert _count("comments", victim.pk, 60, T0 - 30) == 3
    assert _count("comments", victim.pk, 3600, T0 - 30) == 3
    assert _count("comments", attacker.pk, 60, T0 - 30) == 0
    assert _count("comments", attacker.pk, 3600, T0 - 30) == 0


def test_concurrent_refunds_give_back_only_what_was_counted(settings, monkeypatch):
    """Many refused bodies at once (threads, as Daphne's sync workers): the counter ends at what was
    written, not below it."""
    settings.RATE_COMMENTS_PER_MINUTE = 100
    settings.RATE_COMMENT_CHARS_PER_HOUR = 10
    monkeypatch.setattr(server_clock, "now", lambda: T0 - 30)
    attacker = Who(3)
    limits.check("comments", attacker)  # one comment really posted
    errors = []

    def refused_attempt() -> None:
        try:
            limits.check("comments", attacker)
            limits.check_then("comment_chars", attacker, 50, counted="comments")
        except limits.RateLimited:
            return
        errors.append("not refused")

    threads = [threading.Thread(target=refused_attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _count("comments", attacker.pk, 60, T0 - 30) == 1
    assert _count("comments", attacker.pk, 3600, T0 - 30) == 1


def test_on_redis_the_refund_also_comes_off_the_window_it_was_counted_in(redis_url, prefix,  # noqa: F811
                                                                       settings, monkeypatch):
    """The same give-back with the counters on Redis (``_redis_incr``'s keys, the cache's ``decr``)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url, "KEY_PREFIX": prefix}}
    attacker, long_one, now = _long_comment_counted_before_the_minute_ends(settings, monkeypatch, 4713)
    now[0] = T0 + 1.1
    for _ in range(2):
        contextvars.copy_context().run(limits.check, "comments", attacker)
    with pytest.raises(limits.RateLimited):
        long_one.run(limits.check_then, "comment_chars", attacker, 50, counted="comments")
    assert _count("comments", attacker.pk, 60, now[0]) == 2
    assert _count("comments", attacker.pk, 60, T0 + 0.9) == 0
    with pytest.raises(limits.RateLimited):
        contextvars.copy_context().run(limits.check, "comments", attacker)
