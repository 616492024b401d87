"""e-Cabinet scaled out on one machine: several Daphne processes behind nginx, on PostgreSQL and Redis.

Command line (``make cluster`` runs it)::

    .venv/bin/python deploy/cluster.py up --workers 2 --port 8080 [--var-dir DIR] [--seed]
    .venv/bin/python deploy/cluster.py check      # are PostgreSQL, Redis and nginx there?

``up`` checks that PostgreSQL (``DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/ecabinet_cluster``; the database is created if missing) and
Redis (``REDIS_URL``, default ``redis://127.0.0.1:6379/1``) answer and that nginx is installed,
and says which is missing and how to start it (exit status 1); then it migrates, loads the demo if
asked (``seed_demo --if-empty``), collects the static files, starts the Daphne workers on
127.0.0.1 ports and nginx in front, prints ``ready http://127.0.0.1:PORT``, and stays in the
foreground (restarting a worker that dies, as systemd would) until SIGINT or SIGTERM, when it stops
every child.

Library (the fault tests and the benchmarks)::

    from deploy.cluster import Cluster
    with Cluster(workers=2, port=0, var_dir=tmp, database_url=..., redis_url=..., seed=True) as c:
        c.url            # http://127.0.0.1:PORT, through nginx
        c.worker_urls    # each Daphne directly, bypassing nginx
        c.kill_worker(0) # SIGKILL, like a crash
        c.start_worker(0)

This is the production topology of docs/deploy.md in miniature: the same Daphne command, the same
nginx proxying, minus systemd and TLS. nginx runs as a child with a generated configuration in
``VAR_DIR/nginx``; nothing is installed as a system service. Only the standard library, psycopg and
redis are imported here: Django runs in the children.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import getpass
import grp
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

try:
    from deploy import daphne_process
except ImportError:  # run as a script (make cluster): deploy/ itself is on the path
    import daphne_process  # type: ignore[no-redef]

__all__ = ["DEFAULT_DATABASE_URL", "DEFAULT_REDIS_URL", "Cluster", "ServiceMissing", "check_services"]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ecabinet_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
# Settings of the caller's environment that would point the children elsewhere (a ``*_FILE`` wins
# over the plain variable in ecabinet/settings/environment.py).
OVERRIDDEN = ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "VAR_DIR", "STATIC_ROOT", "MEDIA_ROOT", "SQLITE_PATH",
              "ALLOWED_HOSTS", "DEBUG", "PKI_DIR", "DB_CONN_MAX_AGE")
READY_TIMEOUT = 90.0


class ServiceMissing(RuntimeError):
    """PostgreSQL, Redis or nginx is not there; the message says how to start it."""


# --- services ------------------------------------------------------------------------------------

def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or ''}".rstrip(":")


def check_postgres(url: str, *, create: bool = True) -> None:
    """Connect to the database of ``url``; create it (from the ``postgres`` database) if missing."""
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
        return
    except psycopg.OperationalError as exc:
        missing_database = "does not exist" in str(exc)
        if not (missing_database and create):
            reason = " ".join(str(exc).split())
            down = any(sign in reason for sign in ("refused", "No such file", "timeout"))
            hint = ("Start it, e.g. `pg_ctlcluster 15 main start` or `systemctl start postgresql`, or set "
                    "DATABASE_URL=postgres://USER@HOST:PORT/DBNAME." if down else
                    "It is running but refused us: see its log (max_connections, pg_hba.conf, the user).")
            raise ServiceMissing(f"PostgreSQL did not accept a connection at {_where(url)} ({reason}).\n  {hint}") \
                from exc
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, connect_timeout=5, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise ServiceMissing(
            f"Redis is not reachable at {_where(url)} ({exc}).\n"
            "  Start it, e.g. `systemctl start redis-server` or `redis-server --daemonize yes`, or set "
            "REDIS_URL=redis://HOST:PORT/DB.") from exc


def find_nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if path is None:
        raise ServiceMissing("nginx is not installed: apt-get install -y nginx (or make sysdeps, as root).")
    return path


def check_services(database_url: str, redis_url: str) -> list[str]:
    """Every problem found, as sentences saying what to start (empty when all is well)."""
    problems = []
    for check in (lambda: check_postgres(database_url), lambda: check_redis(redis_url), find_nginx):
        try:
            check()
        except ServiceMissing as exc:
            problems.append(str(exc))
    return problems


free_port = daphne_process.free_port


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (Linux), so that a launcher or
    a test run killed outright leaves no server behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


# --- the cluster ---------------------------------------------------------------------------------

class Cluster:
    """N Daphne workers on 127.0.0.1 ports and nginx in front; see the module docstring."""

    def __init__(self, workers: int = 2, port: int = 8080, var_dir: str | Path | None = None,
                 database_url: str | None = None, redis_url: str | None = None, seed: bool = False, *,
                 redis_prefix: str | None = None, extra_env: dict[str, str] | None = None, quiet: bool = True,
                 die_with_parent: bool = True) -> None:
        if workers < 1:
            raise ValueError("at least one worker")
        self.workers = workers
        self.port = port
        self.var_dir = Path(var_dir or ROOT / "var" / "cluster").resolve()
        self.database_url = database_url or DEFAULT_DATABASE_URL
        self.redis_url = redis_url or DEFAULT_REDIS_URL
        self.seed = seed
        # Installations sharing one Redis must not share groups (meeting 1 of one is not meeting 1
        # of the other): by default the prefix names the database.
        self.redis_prefix = redis_prefix or f"ecabinet:{urlsplit(self.database_url).path.lstrip('/')}"
        self.extra_env = dict(extra_env or {})
        self.quiet = quiet
        self.die_with_parent = die_with_parent
        self.worker_ports: list[int] = []
        self._workers: list[subprocess.Popen | None] = []
        self._nginx: subprocess.Popen | None = None
        self._nginx_path = ""
        self._started = False

    # -- the public interface ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def worker_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.worker_ports]

    @property
    def worker_pids(self) -> list[int | None]:
        return [p.pid if p is not None and p.poll() is None else None for p in self._workers]

    @property
    def nginx_pid(self) -> int | None:
        return self._nginx.pid if self._nginx is not None and self._nginx.poll() is None else None

    @property
    def env(self) -> dict[str, str]:
        """The environment of the children (also right for ``manage.py`` commands on this cluster)."""
        env = {k: v for k, v in os.environ.items() if k not in OVERRIDDEN and k.removesuffix("_FILE") not in OVERRIDDEN}
        env.update(
            DATABASE_URL=self.database_url, REDIS_URL=self.redis_url, REDIS_PREFIX=self.redis_prefix,
            VAR_DIR=str(self.var_dir), STATIC_ROOT=str(self.var_dir / "staticfiles"),
            MEDIA_ROOT=str(self.var_dir / "media"), PKI_DIR=str(self.var_dir / "pki"),
            ALLOWED_HOSTS="127.0.0.1,localhost", DEBUG="0", DJANGO_SETTINGS_MODULE="ecabinet.settings",
            PYTHONUNBUFFERED="1",
            # Behind the cluster's nginx: the sign-in lockout's address is the X-Forwarded-For entry it wrote.
            API_NUM_PROXIES="1",
            # Each worker pools its connections (DB_POOL_MAX, docs/deploy.md); none is kept outside it.
            DB_CONN_MAX_AGE="0",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> Cluster:
        """Check the services, prepare the database and static files, start the workers and nginx."""
        problems = check_services(self.database_url, self.redis_url)
        if problems:
            raise ServiceMissing("\n".join(problems))
        self._nginx_path = find_nginx()
        for sub in ("logs", "nginx/tmp"):
            (self.var_dir / sub).mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput", "-v0")
        if self.seed:
            self.manage("seed_demo", "--if-empty")
        self.manage("collectstatic", "--noinput", "-v0")
        self.port = self.port or free_port()
        self.worker_ports = [free_port() for _ in range(self.workers)]
        self._workers = [None] * self.workers
        self._started = True
        try:
            for index in range(self.workers):
                self._spawn_worker(index)
            for index in range(self.workers):
                self._wait_ready(self.worker_urls[index], self._workers[index], self._log(f"worker-{index}"))
            self._start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def kill_worker(self, index: int) -> None:
        """SIGKILL worker ``index`` (a crash: no goodbye to its clients) and reap it."""
        process = self._workers[index]
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def start_worker(self, index: int) -> None:
        """(Re)start worker ``index`` on its port and wait until it serves."""
        process = self._workers[index]
        if process is not None and process.poll() is None:
            return
        self._spawn_worker(index)
        self._wait_ready(self.worker_urls[index], self._workers[index], self._log(f"worker-{index}"))

    def stop(self) -> None:
        """Stop nginx and every worker (politely, then by force)."""
        children = [p for p in [self._nginx, *self._workers] if p is not None and p.poll() is None]
        for process in children:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGQUIT if process is self._nginx else signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._nginx = None
        self._workers = [None] * len(self._workers)
        self._started = False

    def manage(self, *args: str, timeout: float = 600) -> str:
        """Run ``manage.py args`` against this cluster's database; its output (raises on failure)."""
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,  # noqa: S603
                                capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout}\n{result.stderr}")
        return result.stdout

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- children ---------------------------------------------------------------------------------

    def _log(self, name: str) -> Path:
        return self.var_dir / "logs" / f"{name}.log"

    def _popen(self, command: list[str], log: Path) -> subprocess.Popen:
        with log.open("ab") as out:
            return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out,  # noqa: S603 (our own commands)
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=_die_with_parent if self.die_with_parent else None)

    def _spawn_worker(self, index: int) -> None:
        # The production command (deploy/systemd/ecabinet-daphne@.service), on a port instead of a
        # unix socket so that tests can reach each worker directly.
        command = daphne_process.command(self.worker_ports[index], proxy_headers=True)
        self._workers[index] = self._popen(command, self._log(f"worker-{index}"))

    def _start_nginx(self) -> None:
        prefix = self.var_dir / "nginx"
        user = getpass.getuser()
        group = grp.getgrgid(os.getgid()).gr_name
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;"
                            for port in self.worker_ports)
        config = TEMPLATE.read_text(encoding="utf-8")
        for name, value in {"prefix": str(prefix), "port": str(self.port), "servers": servers,
                            "static_root": str(self.var_dir / "staticfiles"), "user": f"{user} {group}"}.items():
            config = config.replace("{{" + name + "}}", value)
        conf = prefix / "nginx.conf"
        conf.write_text(config, encoding="utf-8")
        command = [self._nginx_path, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf),
                   "-g", "daemon off;"]
        self._nginx = self._popen(command, self._log("nginx"))
        self._wait_ready(self.url, self._nginx, prefix / "error.log")

    def _wait_ready(self, url: str, process: subprocess.Popen, log: Path) -> None:
        try:
            daphne_process.wait_until_serving(f"{url}/login/", process, log, timeout=READY_TIMEOUT, log_lines=30)
        except daphne_process.NotServing as exc:
            raise RuntimeError(str(exc)) from None

    def _watch(self) -> None:
        """Restart a worker that died (as systemd's Restart=always does), until stopped."""
        while self._started:
            for index, process in enumerate(self._workers):
                if process is not None and process.poll() is not None and self._started:
                    print(f"worker {index} exited with {process.returncode}; restarting it", flush=True)
                    with contextlib.suppress(RuntimeError):
                        self.start_worker(index)
            if self._nginx is not None and self._nginx.poll() is not None and self._started:
                raise RuntimeError(f"nginx exited with {self._nginx.returncode}:\n"
                                   f"{_tail(self.var_dir / 'nginx' / 'error.log')}")
            time.sleep(1)


def _tail(path: Path, lines: int = 30) -> str:
    return daphne_process.tail(path, lines)


# --- command line --------------------------------------------------------------------------------

def _stop_on_signals(cluster: Cluster) -> None:
    def handler(signum, _frame):
        cluster._started = False
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/cluster.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the cluster in the foreground")
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--port", type=int, default=8080)
    up.add_argument("--var-dir", default=str(ROOT / "var" / "cluster"))
    up.add_argument("--seed", action="store_true", help="load the demo if the database is empty")
    commands.add_parser("check", help="check that PostgreSQL, Redis and nginx are there")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if not database_url.startswith(("postgres://", "postgresql://")):
        print(f"cluster: DATABASE_URL must name PostgreSQL, not {database_url}", file=sys.stderr)
        return 1

    if args.command == "check":
        problems = check_services(database_url, redis_url)
        for problem in problems:
            print(f"cluster: {problem}", file=sys.stderr)
        return 1 if problems else 0

    cluster = Cluster(workers=args.workers, port=args.port, var_dir=args.var_dir, database_url=database_url,
                      redis_url=redis_url, seed=args.seed)
    _stop_on_signals(cluster)
    try:
        print(f"cluster: {args.workers} Daphne workers and nginx; PostgreSQL {_where(database_url)}, "
              f"Redis {_where(redis_url)}; logs in {cluster.var_dir / 'logs'}", flush=True)
        cluster.start()
        for index, url in enumerate(cluster.worker_urls):
            print(f"cluster: worker {index} at {url} (pid {cluster.worker_pids[index]})", flush=True)
        print(f"ready {cluster.url}", flush=True)
        cluster._watch()
    except ServiceMissing as exc:
        for line in str(exc).splitlines():
            print(f"cluster: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cluster: stopping", flush=True)
    except RuntimeError as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
