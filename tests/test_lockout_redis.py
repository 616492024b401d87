"""Failed sign-ins are counted once across processes when ``REDIS_URL`` is set (ecabinet.lockout).

Separate Python processes, each with its own settings and Redis connection (as the Daphne processes
of a cluster have), count failures of one account: exactly one of them starts the lock, at exactly
the limit, also when they race, and this process then refuses that account. Redis is ``REDIS_URL``,
else the local one; keys live under a prefix of their own and are deleted afterwards. Without a
Redis the test is skipped — unless ``CI`` is set, where it fails (as tests/test_rate_limits_redis.py).
"""

from __future__ import annotations

import pytest

from .test_rate_limits_redis import prefix, redis_url  # noqa: F401 — the fixtures
from .test_rate_limits_redis import processes as rate_processes

CHILD = """
import json, sys, django
django.setup()
from ecabinet import lockout
subject = lockout.Subject("account", "minister07")
print(json.dumps([lockout._count_failure(subject)[1] for _ in range(int(sys.argv[1]))]))
"""


def processes(redis_url: str, prefix: str, counts: list[int]) -> list[list[bool]]:  # noqa: F811
    """One process per count, all at once; for each failure it counted, whether it started the lock."""
    return rate_processes(redis_url, prefix, counts, child=CHILD, environ={"LOCKOUT_ACCOUNT_FAILURES": "30"})


def use_redis(settings, redis_url, prefix):  # noqa: F811
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url, "KEY_PREFIX": prefix}}
    assert type(caches["default"]).__name__ == "RedisCache"


def test_processes_racing_start_exactly_one_lock(redis_url, prefix, settings):  # noqa: F811
    from ecabinet import lockout

    results = processes(redis_url, prefix, [20, 20, 20])
    assert sum(sum(r) for r in results) == 1
    use_redis(settings, redis_url, prefix)
    state = lockout._locked_for([lockout.Subject("account", "minister07")])
    assert state is not None and 14 * 60 < state[1] <= 15 * 60
    assert lockout._locked_for([lockout.Subject("account", "minister08")]) is None


@pytest.mark.django_db
def test_failures_on_other_processes_count_here(redis_url, prefix, settings):  # noqa: F811
    from rest_framework.test import APIClient

    from .factories import UserFactory

    UserFactory(username="minister07")
    UserFactory(username="minister08")
    assert processes(redis_url, prefix, [10, 10, 9]) == [[False] * 10, [False] * 10, [False] * 9]
    use_redis(settings, redis_url, prefix)

    def token(username, password):
        return APIClient().post("/api/v1/auth/token", {"username": username, "password": password}, format="json",
                                REMOTE_ADDR="10.9.8.7")

    assert token("minister07", "wrong").status_code == 429  # the 30th failure, the first one here
    assert token("minister07", "pw-for-tests").json()["code"] == "account_locked"
    assert token("minister08", "pw-for-tests").status_code == 200
