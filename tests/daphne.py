"""A real Daphne process for the tests that need the production entry point (browser tests, the
room's socket limits, the body cap): ``python -m daphne ecabinet.asgi:application``, DEBUG off,
over a fresh database in a temporary directory — one helper, so every such test starts the server
the same way ``make run`` does."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import daphne_process

ROOT = Path(__file__).resolve().parents[1]
# Settings that would point the server at another database, channel layer or file tree.
INHERITED_SETTINGS = ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "SQLITE_PATH", "MEDIA_ROOT", "STATIC_ROOT",
                      "SECRET_KEY_FILE", "ALLOWED_HOSTS_FILE", "DEBUG_FILE", "CSRF_TRUSTED_ORIGINS")


def server_env(var_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment less what points elsewhere, for a server over ``var_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}
    env.update(VAR_DIR=str(var_dir), SECRET_KEY=secrets.token_urlsafe(40), ALLOWED_HOSTS="127.0.0.1,localhost",
               DEBUG="0", DJANGO_SETTINGS_MODULE="ecabinet.settings", PYTHONUNBUFFERED="1")
    env.update(settings)
    return env


def manage(env: dict, *args: str, stdin: str | None = None, timeout: float = 600) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False, input=stdin)
    if result.returncode:
        pytest.fail(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def serving(env: dict, var_dir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """Daphne on a free port with ``env`` (database already migrated): ``(base URL, process)``
    once it answers ``/login/``; stopped on exit."""
    port = daphne_process.free_port()
    log = var_dir / "daphne.log"
    process = daphne_process.start(port, env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            daphne_process.wait_until_serving(f"{base}/login/", process, log)
        except daphne_process.NotServing as exc:
            pytest.fail(f"Daphne: {exc}")
        yield base, process
    finally:
        daphne_process.stop(process, timeout=10)
