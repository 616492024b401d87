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
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Settings that would point the server at another database, channel layer or file tree.
INHERITED_SETTINGS = ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "SQLITE_PATH", "MEDIA_ROOT", "STATIC_ROOT",
                      "SECRET_KEY_FILE", "ALLOWED_HOSTS_FILE", "DEBUG_FILE", "CSRF_TRUSTED_ORIGINS")
TOKENS_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
users = get_user_model().objects.filter(is_active=True)
print(json.dumps({u.username: Token.objects.get_or_create(user=u)[0].key for u in users}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=timeout, check=False, input=stdin)
        if result.returncode:
            pytest.fail(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def shell(self, script: str) -> str:
        """Run ``script`` with ``manage.py shell`` in the server's environment; its last output line."""
        return self.manage("shell", stdin=script).strip().splitlines()[-1]


def _wait_until_serving(process: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Daphne exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"Daphne did not answer {url} within {timeout} s:\n{log.read_text(errors='replace')}")


def start(var_dir: Path, **settings: str):
    """Migrate, seed and serve; a generator for a fixture (yields a ``RealServer``)."""
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}
    env.update(VAR_DIR=str(var_dir), SECRET_KEY=secrets.token_urlsafe(40), ALLOWED_HOSTS="127.0.0.1,localhost",
               DEBUG="0", DJANGO_SETTINGS_MODULE="ecabinet.settings", PYTHONUNBUFFERED="1", **settings)
    server = RealServer(base="", env=env, tokens={})
    server.manage("migrate", "--noinput", "-v0")
    server.manage("seed_demo")
    server.tokens = json.loads(server.shell(TOKENS_SCRIPT))
    port = _free_port()
    log = var_dir / "daphne.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "ecabinet.asgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server.base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, f"{server.base}/login/", log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
