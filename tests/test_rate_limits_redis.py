"""The per-account counters are shared by every process when ``REDIS_URL`` is set (``ecabinet.limits``).

Separate Python processes, each with its own settings and Redis connection (as separate Daphne
processes have), count writes of the same account against one limit: the total they let through is
the limit, exactly, also when they race. Redis is ``REDIS_URL``, else the local one
(``redis://127.0.0.1:6379/0``); the keys live under a prefix of their own (``rate-test-…``) and are
deleted afterwards. Without a Redis the test is skipped — unless ``CI`` is set, where it fails.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000 + 10
# One process's writes: pin the windows' clock (a test straddling a minute would see two windows),
# then count ``n`` comments of account 4242 and print which were let through.
CHILD = """
import json, sys, django
django.setup()
from ecabinet import clock, limits
clock.now = lambda: {t0}
print(json.dumps([limits.hit("comments", 4242) is None for _ in range(int(sys.argv[1]))]))
"""


@pytest.fixture
def redis_url() -> str:
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        message = f"rate limits across processes need Redis at {url}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def prefix(redis_url):
    import redis

    name = f"rate-test-{secrets.token_hex(4)}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def processes(redis_url: str, prefix: str, counts: list[int], *, child: str = CHILD.format(t0=T0),
              environ: dict | None = None) -> list[list[bool]]:
    """Start one process per count, all at once, each running ``child`` (count as its argument);
    what each printed last (here: what it let through)."""
    env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": prefix, "DJANGO_SETTINGS_MODULE": "ecabinet.settings",
           **(environ or {"RATE_COMMENTS_PER_MINUTE": "10", "RATE_COMMENTS_PER_HOUR": "1000"})}
    children = [subprocess.Popen([sys.executable, "-c", child, str(n)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in counts]
    results = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_processes_share_one_count(redis_url, prefix):
    first = processes(redis_url, prefix, [6])[0]
    second = processes(redis_url, prefix, [6])[0]
    assert first == [True] * 6
    assert second == [True] * 4 + [False] * 2  # the second process sees the first one's six


def test_processes_racing_let_through_exactly_the_limit(redis_url, prefix):
    results = processes(redis_url, prefix, [25, 25, 25])
    assert sum(sum(r) for r in results) == 10


def test_this_process_sees_the_count_of_the_others(redis_url, prefix, settings, monkeypatch):
    from django.core.cache import caches

    from ecabinet import clock as server_clock
    from ecabinet import limits

    processes(redis_url, prefix, [10])
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url, "KEY_PREFIX": prefix}}
    settings.RATE_COMMENTS_PER_MINUTE = 10
    monkeypatch.setattr(server_clock, "now", lambda: T0)
    assert type(caches["default"]).__name__ == "RedisCache"
    refusal = limits.hit("comments", 4242)
    assert refusal is not None and refusal.retry_after == 50
    assert limits.hit("comments", 4243) is None  # another account


def test_an_event_loop_counts_on_redis_off_the_loop_and_shares_the_count(redis_url, prefix, settings, monkeypatch):
    """``limits.ahit`` (the room socket's ``ws_messages`` and ``ws_connects``): with Redis the count
    is made on the module's own threads, not the loop's, against the same counter as ``hit``'s;
    past the limit it refuses and counts nothing."""
    import asyncio
    import threading

    from ecabinet import clock as server_clock
    from ecabinet import limits

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url, "KEY_PREFIX": prefix}}
    settings.RATE_WS_MESSAGES_PER_MINUTE = 4
    monkeypatch.setattr(server_clock, "now", lambda: T0)
    where = []
    real = limits.hit_many
    monkeypatch.setattr(limits, "hit_many", lambda *a: (where.append(threading.current_thread().name), real(*a))[1])
    assert limits.hit("ws_messages", 4242) is None  # a synchronous count of the same account

    async def pings() -> tuple[list, str]:
        answers = [await limits.ahit("ws_messages", 4242) for _ in range(5)]
        return answers, threading.current_thread().name

    answers, loop_thread = asyncio.run(pings())
    assert answers[:3] == [None, None, None]
    assert answers[3] == limits.Refusal("ws_messages", 50) == answers[4]
    assert loop_thread not in where[1:] and all(name.startswith("limits") for name in where[1:])
    assert limits.hit("ws_messages", 4242) is not None  # the refusals counted nothing: still 4 of 4
    settings.RATE_WS_MESSAGES_PER_MINUTE = 5
    assert limits.hit("ws_messages", 4242) is None


def test_a_count_on_redis_is_one_round_trip_and_its_window_expires(redis_url, prefix, settings, monkeypatch):
    """Each limit of a scope costs one trip to Redis (``SET NX EX`` and ``INCRBY`` in one ``MULTI``),
    new window or not; the counter expires a minute after its window, as the cache's ``add`` made it."""
    import redis
    from django.core.cache import caches

    from ecabinet import clock as server_clock
    from ecabinet import limits

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url, "KEY_PREFIX": prefix}}
    settings.RATE_WS_MESSAGES_PER_MINUTE = 3
    monkeypatch.setattr(server_clock, "now", lambda: T0)
    assert limits.hit("ws_messages", 4241) is None  # the connection made (its handshake is not a count's)
    trips = []
    real = redis.connection.Connection.send_packed_command
    monkeypatch.setattr(redis.connection.Connection, "send_packed_command",
                        lambda self, *a, **k: (trips.append(1), real(self, *a, **k))[1])
    answers = [limits.hit("ws_messages", 4242) for _ in range(4)]
    assert answers[:3] == [None] * 3 and answers[3] == limits.Refusal("ws_messages", 50)
    assert len(trips) == 4 + 2  # one per count; the refused one's taken back (the cache's decr: two)
    key = caches["default"].make_and_validate_key(f"rate:ws_messages:4242:60:{T0 // 60}")
    client = redis.Redis.from_url(redis_url)
    assert int(client.get(key)) == 3 == caches["default"].get(f"rate:ws_messages:4242:60:{T0 // 60}")
    assert 60 < client.ttl(key) <= 60 + limits.KEY_GRACE_SECONDS
