"""Real server processes for the benchmarks: a seeded database of the benchmark's own, Daphne (the
production entry point, as ``make run`` starts it), the raw ``websockets`` baseline, Redis, and the
scaled-out cluster (``deploy.cluster``).

The database is made the way ``tests/browser/conftest.py`` makes it: a fresh directory, ``migrate``
and ``seed_demo`` in subprocesses; on PostgreSQL a fresh database that is dropped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy import daphne_process

from .common import PYTHON, ROOT

# Settings that would point the servers at another database, channel layer or file tree.
INHERITED_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "MEDIA_ROOT", "STATIC_ROOT", "SECRET_KEY_FILE",
                      "ALLOWED_HOSTS_FILE", "DEBUG_FILE", "CSRF_TRUSTED_ORIGINS", "PKI_DIR", "VAR_DIR")
PG_ADMIN_URL = os.environ.get("PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


class BenchError(RuntimeError):
    pass


free_port = daphne_process.free_port


def postgres_reachable(admin_url: str = PG_ADMIN_URL) -> bool:
    try:
        import psycopg

        psycopg.connect(admin_url, connect_timeout=3).close()
    except Exception:
        return False
    return True


def _with_dbname(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class Database:
    """A migrated, seeded database in a temporary directory (SQLite) or a fresh PostgreSQL
    database, with the environment for every process that uses it."""

    def __init__(self, kind: str = "sqlite", *, pg_admin_url: str = PG_ADMIN_URL, keep: bool = False) -> None:
        if kind not in ("sqlite", "postgres"):
            raise ValueError(kind)
        self.kind = kind
        self.pg_admin_url = pg_admin_url
        self.keep = keep
        self.dir = Path(tempfile.mkdtemp(prefix=f"ecabinet-bench-{kind}-"))
        self.pg_name = f"ecabinet_bench_{secrets.token_hex(4)}" if kind == "postgres" else None
        self.url = _with_dbname(pg_admin_url, self.pg_name) if self.pg_name else None
        self.env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}
        self.env.update(VAR_DIR=str(self.dir), SECRET_KEY=secrets.token_urlsafe(40), DEBUG="0",
                        ALLOWED_HOSTS="127.0.0.1,localhost", DJANGO_SETTINGS_MODULE="ecabinet.settings",
                        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend", LOG_LEVEL="WARNING",
                        PYTHONUNBUFFERED="1",
                        # Sessions of 500 and 1,000 members (fan-out, vote storm, memory): above the
                        # default cap of a session's participants (docs/limits.md, "Counts").
                        MEETING_MAX_PARTICIPANTS="2000")
        if self.url:
            self.env["DATABASE_URL"] = self.url
        self._fixture_calls = 0

    @property
    def label(self) -> str:
        return "PostgreSQL" if self.kind == "postgres" else "SQLite"

    def __enter__(self) -> Database:
        started = time.monotonic()
        if self.pg_name:
            import psycopg

            with psycopg.connect(self.pg_admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
        try:
            self.manage("migrate", "--noinput", "-v0")
            self.manage("seed_demo")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.setup_seconds = round(time.monotonic() - started, 1)
        return self

    def __exit__(self, *exc) -> None:
        if self.keep:
            print(f"bench: kept the {self.label} database in {self.dir} {self.pg_name or ''}")
            return
        if self.pg_name:
            import psycopg

            with contextlib.suppress(Exception), psycopg.connect(self.pg_admin_url, autocommit=True,
                                                                 connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)

    def manage(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if result.returncode:
            raise BenchError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n"
                             f"{result.stderr}")
        return result.stdout

    def fixtures(self, op: str, timeout: float = 900, **args):
        """Run ``bench.fixtures.<op>(**args)`` against this database; returns its JSON result."""
        self._fixture_calls += 1
        args_path = self.dir / f"fixture-{self._fixture_calls}-args.json"
        out_path = self.dir / f"fixture-{self._fixture_calls}-out.json"
        args_path.write_text(json.dumps(args), encoding="utf-8")
        result = subprocess.run([PYTHON, "-m", "bench.fixtures", op, str(args_path), str(out_path)], cwd=ROOT,
                                env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode:
            raise BenchError(f"bench.fixtures {op} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return json.loads(out_path.read_text(encoding="utf-8"))


def _wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    try:
        daphne_process.wait_until_serving(url, process, log, timeout=timeout)
    except daphne_process.NotServing as exc:
        raise BenchError(str(exc)) from None


def _wait_tcp(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{process.args[:3]} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise BenchError(f"nothing listens on port {port} after {timeout} s:\n{log.read_text(errors='replace')}")


_stop = daphne_process.stop


@dataclass
class Target:
    """A server the tablets talk to: where, and which processes serve it (for CPU and memory)."""

    name: str
    http_url: str  # http://127.0.0.1:PORT, no trailing slash
    pids: list[int] = field(default_factory=list)
    database: str = ""
    topology: str = ""

    @property
    def host_port(self) -> tuple[str, int]:
        from urllib.parse import urlsplit

        parts = urlsplit(self.http_url)
        return parts.hostname, parts.port or 80

    @property
    def ws_url(self) -> str:
        return "ws" + self.http_url[len("http"):]

    @property
    def origin(self) -> str:
        return self.http_url


@contextlib.contextmanager
def daphne(db: Database, name: str = "daphne", env: dict | None = None):
    """One Daphne process on a free port over ``db``, started with the production command
    (``deploy.daphne_process.command``), exactly as ``make run`` starts it."""
    port = free_port()
    log = db.dir / f"{name}-{port}.log"
    process = daphne_process.start(port, env={**db.env, **(env or {})}, log=log, python=PYTHON)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/login/", process, log)
        yield Target(name="e-Cabinet (1 Daphne)", http_url=url, pids=[process.pid], database=db.label,
                     topology="1 Daphne process, in-memory channel layer")
    finally:
        _stop(process)


@contextlib.contextmanager
def baseline(workdir: Path):
    """The raw baseline: ``bench/baseline_ws.py``, one process, the ``websockets`` library."""
    port = free_port()
    log = Path(workdir) / f"baseline-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([PYTHON, "-m", "bench.baseline_ws", "--port", str(port)], cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_tcp(port, process, log)
        yield Target(name="raw websockets baseline", http_url=f"http://127.0.0.1:{port}", pids=[process.pid],
                     topology="1 process, websockets.broadcast()")
    finally:
        _stop(process)


@contextlib.contextmanager
def baseline_http(workdir: Path):
    """The raw baseline of a page view: ``bench/baseline_http.py``, a plain ASGI application, served
    by the same command as e-Cabinet (``deploy.daphne_process.command``), one process."""
    port = free_port()
    log = Path(workdir) / f"baseline-http-{port}.log"
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}
    with log.open("wb") as out:
        process = subprocess.Popen(daphne_process.command(port, python=PYTHON,
                                                          application="bench.baseline_http:application"),
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/?bytes=1", process, log)
        yield Target(name="plain ASGI app on Daphne", http_url=url, pids=[process.pid],
                     topology="1 Daphne process, a plain ASGI application")
    finally:
        _stop(process)


@contextlib.contextmanager
def redis(workdir: Path, url: str | None = None):
    """A Redis for the channel layer: ``url`` when given, else a private ``redis-server`` on a free
    port, without persistence."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if not binary:
        raise BenchError("redis-server is not installed (apt-get install -y redis-server), and REDIS_URL is not set")
    port = free_port()
    log = Path(workdir) / f"redis-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no"], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_tcp(port, process, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


@contextlib.contextmanager
def cluster(db: Database, redis_url: str, workers: int = 2, env: dict | None = None):
    """The scaled-out topology from ``deploy.cluster``: ``workers`` Daphne processes behind nginx,
    on PostgreSQL and Redis, over the benchmark's database (already migrated and seeded, so
    ``seed=False``) and its files (the same VAR_DIR and SECRET_KEY as ``bench.fixtures``, so the
    tokens and login sessions made there are valid)."""
    try:
        from deploy.cluster import Cluster
    except ImportError as exc:
        raise BenchError("deploy/cluster.py is not there: the cluster benchmark needs deploy.cluster.Cluster") \
            from exc
    if db.kind != "postgres":
        raise BenchError("the cluster runs on PostgreSQL")
    extra = {**{k: db.env[k] for k in ("SECRET_KEY", "EMAIL_BACKEND", "LOG_LEVEL", "MEETING_MAX_PARTICIPANTS")},
             **(env or {})}
    with Cluster(workers=workers, port=0, var_dir=db.dir, database_url=db.url, redis_url=redis_url, seed=False,
                 extra_env=extra) as c:
        yield Target(name=f"e-Cabinet ({workers} Daphne + nginx + Redis)", http_url=c.url.rstrip("/"),
                     pids=_cluster_pids(c), database=db.label,
                     topology=f"{workers} Daphne processes behind nginx, channels-redis")


def _cluster_pids(c) -> list[int]:
    """The worker processes and nginx (for CPU and memory)."""
    pids = [p for p in getattr(c, "worker_pids", []) if p]
    nginx = getattr(c, "nginx_pid", None)
    return pids + ([nginx] if nginx else [])
