"""A real Daphne process for the room's socket tests, as ``make run`` starts it.

The in-process communicator does not go through Daphne and autobahn, whose own rules decided what
a client saw in issue 14 (close codes an application may not send, the 1 MiB message limit that
applies to what the server sends too). These tests run the production entry point
(``python -m daphne ecabinet.asgi:application``, DEBUG off) over a fresh SQLite database in a
temporary directory, migrated and seeded with ``seed_demo`` in subprocesses; data is prepared with
``manage.py shell`` in the server's environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests import daphne

TOKENS_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from ecabinet import devices
users = get_user_model().objects.filter(is_active=True)
print(json.dumps({u.username: devices.issue_device(user=u, name="test")[1] for u in users}))
"""


@dataclass
class RealServer:
    base: str
    env: dict
    tokens: dict[str, str]

    @property
    def ws_base(self) -> str:
        return self.base.replace("http", "ws", 1)

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Token {self.tokens[username]}", "Origin": self.base}

    def manage(self, *args: str, stdin: str | None = None, timeout: float = 600) -> str:
        return daphne.manage(self.env, *args, stdin=stdin, timeout=timeout)

    def shell(self, script: str) -> str:
        """Run ``script`` with ``manage.py shell`` in the server's environment; its last output line."""
        return self.manage("shell", stdin=script).strip().splitlines()[-1]


def start(var_dir: Path, **settings: str):
    """Migrate, seed and serve; a generator for a fixture (yields a ``RealServer``)."""
    env = daphne.server_env(var_dir, **settings)
    server = RealServer(base="", env=env, tokens={})
    server.manage("migrate", "--noinput", "-v0")
    server.manage("seed_demo")
    server.tokens = json.loads(server.shell(TOKENS_SCRIPT))
    with daphne.serving(env, var_dir) as (base, _process):
        server.base = base
        yield server
