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
from pathlib import Path

import pytest

from tests import daphne

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path("/tmp/browser-shots")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        message = f"Debian's Chromium is not installed at {CHROMIUM}: apt-get install -y chromium (or make sysdeps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def server_url(chromium_path, tmp_path_factory) -> str:
    """Base URL of a Daphne process serving a freshly seeded demo (no trailing slash)."""
    var_dir = tmp_path_factory.mktemp("browser-server")
    env = daphne.server_env(var_dir)
    daphne.manage(env, "migrate", "--noinput", "-v0")
    daphne.manage(env, "seed_demo")
    with daphne.serving(env, var_dir) as (base, _process):
        yield base


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
