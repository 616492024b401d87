"""Browser tests: Debian's Chromium, driven by Playwright, against a real Daphne process.

The server is the production entry point (``daphne ecabinet.asgi:application``, DEBUG off) over a
fresh SQLite database in a temporary directory, migrated and loaded with ``seed_demo`` in
subprocesses, so the tests see exactly what ``make run`` serves — WebSockets included.

Chromium comes from Debian (``apt-get install -y chromium``, done by ``make sysdeps``), because
Playwright's own browser download is not available everywhere. Without it the tests are skipped,
except under CI, where they fail: a CI run that silently skips the browser tests proves nothing.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path("/tmp/browser-shots")
# Settings that would point the server at another database, channel layer or file tree.
INHERITED_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "MEDIA_ROOT", "STATIC_ROOT", "SECRET_KEY_FILE",
                      "ALLOWED_HOSTS_FILE", "DEBUG_FILE", "CSRF_TRUSTED_ORIGINS")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        message = f"Debian's Chromium is not installed at {CHROMIUM}: apt-get install -y chromium (or make sysdeps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict, *args: str) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    if result.returncode:
        pytest.fail(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


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


@pytest.fixture(scope="session")
def server_url(chromium_path, tmp_path_factory) -> str:
    """Base URL of a Daphne process serving a freshly seeded demo (no trailing slash)."""
    var_dir = tmp_path_factory.mktemp("browser-server")
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}
    env.update(VAR_DIR=str(var_dir), SECRET_KEY=secrets.token_urlsafe(40), ALLOWED_HOSTS="127.0.0.1,localhost",
               DEBUG="0", DJANGO_SETTINGS_MODULE="ecabinet.settings", PYTHONUNBUFFERED="1")
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "seed_demo")
    port = _free_port()
    log = var_dir / "daphne.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "ecabinet.asgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, f"{base}/login/", log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(chromium_path):
    """One Chromium per test module (Playwright's sync API must not outlive the module: it would still
    own an event loop while later asyncio tests run)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
