"""Redis restarted under a running cluster: the doorbells in flight are lost and the group
memberships with them (this Redis keeps nothing on disk), but every write still succeeds and every
tablet converges from the event log, each event once. The cluster here has a Redis of its own, a
private ``redis-server`` on a free port, since the machine's Redis is not ours to restart."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
import time

import pytest
import redis

from deploy.cluster import Cluster, free_port

from .clients import Tablet, assert_exactly_once, open_session, settle
from .conftest import LOAD_ENV, MEMBERS, cluster_services


def start_redis(port: int, log) -> subprocess.Popen:
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("redis-server did not start")


@pytest.fixture
def redis_port(tmp_path):
    cluster_services()
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed to restart a private Redis (apt-get install -y redis-server)")
    port = free_port()
    with (tmp_path / "redis.log").open("ab") as log:
        process = start_redis(port, log)
        state = {"process": process, "log": log}
        yield port, state
        state["process"].kill()
        state["process"].wait()


def test_tablets_converge_from_the_log_when_redis_restarts(cluster_database, tokens, scenario, redis_port, tmp_path):
    port, state = redis_port
    with Cluster(workers=2, port=0, var_dir=tmp_path / "cluster", database_url=cluster_database,
                 redis_url=f"redis://127.0.0.1:{port}/0", extra_env=LOAD_ENV) as private:

        async def body(api):
            session = await open_session(api, members=MEMBERS[:6])
            users = itertools.cycle(["secretary", "pm", "guest", *MEMBERS[:6]])
            # Tablets ping every second (live.js: every 20 s), so that the test need not wait long.
            tablets = [Tablet(api, session.meeting_id, next(users), base=url, ping_every=1.0).start()
                       for url in private.worker_urls * 3 + [api.base] * 2]
            await asyncio.gather(*(t.ready.wait() for t in tablets))
            item = f"/agenda-items/{session.item_id}"

            async def comments(label: str, count: int = 5) -> None:
                for n in range(count):
                    await api.post(f"{item}/comments/", {"text": f"{label} {n}"}, user=MEMBERS[n % 3], deadline=5)

            await comments("trước")
            await settle(api, tablets)
            state["process"].kill()
            state["process"].wait()
            await comments("khi Redis dừng")  # the writes succeed; their doorbells are lost
            state["process"] = start_redis(port, state["log"])
            await comments("sau")
            expected = await settle(api, tablets)
            for tablet in tablets:
                assert_exactly_once(tablet, expected[tablet.user])
            for tablet in tablets:
                await tablet.stop()

        scenario(body, base=private.url)
