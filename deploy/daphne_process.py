"""Starting Daphne and waiting until it serves: the one helper of the tests (``tests/daphne.py``),
the benchmarks (``bench/servers.py``) and the cluster (``deploy/cluster.py``), so that each starts
the server with the production command (``make run``, ``deploy/systemd/ecabinet-daphne@.service``)
and waits for it the same way. Only the standard library: it runs before Django is set up, and
``deploy/cluster.py`` runs as a script."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["NotServing", "command", "free_port", "start", "stop", "tail", "wait_until_serving"]

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = "ecabinet.asgi:application"


class NotServing(RuntimeError):
    """The process exited, or did not answer in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The reconnect storm (issue 19; docs/limits.md, "Connections"): 1,000 tablets opening their
# sockets within a second after a Wi-Fi blip.
#
# * The listen backlog: connections the kernel has accepted and Daphne not yet taken. Daphne's
#   ``-b/-p`` gives Twisted's default, 50: a burst beyond it overflowed the queue, the kernel dropped
#   the handshakes' packets and the tablets retried after one, three, seven seconds. 4,096 holds a
#   hall of tablets and their retries; the kernel caps it at ``net.core.somaxconn`` (4,096 by default
#   since Linux 5.4; docs/deploy.md says what to set).
# * The handshake timeout: a socket's handshake waits in the process's admission queue
#   (``hotpath.admission``, ``WS_ADMISSION_CONCURRENCY`` at a time) before it is answered. Daphne's
#   default of 5 s dropped tablets that were queued, not refused. A handshake costs the process
#   15-35 ms of CPU (bench/storm.py, 2 shared cores, a session of 1,050 members), so the last of
#   1,000 waits 15-35 s: 60 s answers a storm of 1,000 on one process without a drop, and still ends
#   a connection that never completes its handshake.
LISTEN_BACKLOG = 4096
HANDSHAKE_TIMEOUT_SECONDS = 60
# Daphne's own WebSocket pings. The tablets ping every 20 s (docs/protocol.md), and a socket that
# sends nothing for 90 s is closed by the application (``hotpath.heartbeats.IdleClose``): with
# Daphne's default of 20 s, Daphne pinged too whenever a tablet's ping came a little late, a second
# heartbeat per socket that found nothing the first did not (with 1,000 tablets, a quarter of the
# server's CPU between events went to heartbeats). Any message resets Daphne's clock, so at 60 s it
# pings only a socket that has been silent for a minute (a tab whose timers the browser slowed),
# and drops it if no pong comes within 30 s.
PING_INTERVAL_SECONDS = 60
PING_TIMEOUT_SECONDS = 30


def server_options() -> list[str]:
    """Daphne's options of the production command besides where it listens (also in
    ``deploy/systemd/ecabinet-daphne@.service`` and the Makefile's ``run``)."""
    return ["--websocket_connect_timeout", str(HANDSHAKE_TIMEOUT_SECONDS),
            "--ping-interval", str(PING_INTERVAL_SECONDS), "--ping-timeout", str(PING_TIMEOUT_SECONDS)]


def command(port: int, *, python: str = sys.executable, proxy_headers: bool = False,
            application: str = APPLICATION) -> list[str]:
    """``python -m daphne -e tcp:port=PORT:interface=127.0.0.1:backlog=4096 --websocket_connect_timeout 60
    --ping-interval 60 --ping-timeout 30 [--proxy-headers] ecabinet.asgi:application`` (another
    ``application`` for the benchmark's raw baseline, served by the same command)."""
    return [python, "-m", "daphne", "-e", f"tcp:port={port}:interface=127.0.0.1:backlog={LISTEN_BACKLOG}",
            *server_options(), *(["--proxy-headers"] if proxy_headers else []), application]


def start(port: int, *, env: dict, log: Path, python: str = sys.executable, proxy_headers: bool = False,
          append: bool = False, **popen) -> subprocess.Popen:
    """Daphne on ``port`` with ``env``, its output in ``log``; returns at once (``wait_until_serving``)."""
    with log.open("ab" if append else "wb") as out:
        return subprocess.Popen(command(port, python=python, proxy_headers=proxy_headers),  # noqa: S603 (our own)
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, **popen)


def tail(path: Path, lines: int | None = None) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return text if lines is None else "\n".join(text.splitlines()[-lines:])


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, *, timeout: float = 60,
                       log_lines: int | None = None) -> None:
    """Return once ``url`` answers 200; raise ``NotServing`` if ``process`` exits first or ``timeout``
    seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NotServing(f"{process.args[0]} exited with {process.returncode}:\n{tail(log, log_lines)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise NotServing(f"{url} did not answer within {timeout:.0f} s:\n{tail(log, log_lines)}")


def stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
