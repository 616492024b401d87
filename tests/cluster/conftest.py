"""The scale-out tier (issue #6): real Daphne processes behind a real nginx, on a real PostgreSQL and
Redis, started by ``deploy.cluster.Cluster`` — the launcher ``make cluster`` runs.

These tests need ``DATABASE_URL=postgres://…`` and ``REDIS_URL=redis://…`` (``make test-cluster``
sets both). Without them they are skipped with a message saying so; with them but a service missing
they are skipped too — unless ``CI`` is set, where a missing service is a failure. Each run works
in a database of its own (created from ``DATABASE_URL``'s server, dropped at the end) and a Redis
prefix named after it, so that runs sharing a machine do not meet.

The other tests in this folder (``test_sequencer``, ``test_fanout``, ``test_tracker_js``) need none
of this and run everywhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from deploy.cluster import Cluster, check_services

from .clients import Api

TOKENS_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from ecabinet import devices
users = get_user_model().objects.filter(is_active=True)
print(json.dumps({u.username: devices.issue_device(user=u, name="test")[1] for u in users}))
"""
MEMBERS = [f"member{n:02d}" for n in range(1, 27)]
# These tests make events by posting comments as fast as the servers take them (40 a member in a few
# seconds, 10 KB each): load, not ministers. The comment limits (docs/limits.md) are lifted for them;
# every other limit keeps its default, and test_rate_limits shows one shared by the two workers.
LOAD_ENV = {"RATE_COMMENTS_PER_MINUTE": "0", "RATE_COMMENTS_PER_HOUR": "0", "RATE_COMMENT_CHARS_PER_HOUR": "0"}


def cluster_services() -> tuple[str, str]:
    """``DATABASE_URL`` and ``REDIS_URL``, or skip (fail under CI) saying what is missing."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        pytest.skip("scale-out tier: runs with DATABASE_URL=postgres://… and REDIS_URL=redis://… "
                    "(make test-cluster)")
    problems = check_services(database_url, redis_url)
    if problems:
        message = "scale-out tier: " + " ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return database_url, redis_url


@pytest.fixture(scope="session")
def cluster_database() -> str:
    """A fresh PostgreSQL database for this run, on ``DATABASE_URL``'s server."""
    import psycopg

    database_url, _ = cluster_services()
    parts = urlsplit(database_url)
    name = f"ecabinet_ct_{os.getpid()}_{secrets.token_hex(3)}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def cluster(cluster_database, tmp_path_factory) -> Cluster:
    """Two workers and nginx, with the demo loaded."""
    _, redis_url = cluster_services()
    with Cluster(workers=2, port=0, var_dir=tmp_path_factory.mktemp("cluster"), database_url=cluster_database,
                 redis_url=redis_url, seed=True, extra_env=LOAD_ENV) as running:
        yield running


@pytest.fixture(scope="session")
def tokens(cluster) -> dict[str, str]:
    return json.loads(cluster.manage("shell", "-c", TOKENS_SCRIPT).strip().splitlines()[-1])


@pytest.fixture
def scenario(cluster, tokens) -> Callable[[Callable[[Api], Awaitable[None]]], None]:
    """Run ``async def body(api)`` against the cluster (``api.base`` is nginx)."""

    def run(body: Callable[[Api], Awaitable[None]], base: str | None = None) -> None:
        async def main():
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
                try:
                    await body(Api(http, base or cluster.url, tokens))
                finally:  # tablets left running by a failed check
                    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run(main())

    return run


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")
