"""What a suite gets from the runner: the options, the databases (made once per run, lazily), the
servers, the client processes, and the machine description."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

from . import servers
from .pool import ClientPool


@dataclass
class Context:
    quick: bool = False
    cluster: bool = False
    client_procs: int = max(2, os.cpu_count() or 2)
    workers: int = 2
    pg_admin_url: str = servers.PG_ADMIN_URL
    redis_url: str | None = None
    keep: bool = False
    no_postgres: bool = False
    ping_interval: float = 20
    info: dict = field(default_factory=dict)
    sizes: list[int] | None = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _databases: dict = field(default_factory=dict)
    _redis: str | None = None

    def database(self, kind: str = "sqlite") -> servers.Database:
        """The run's seeded database of that kind (made on first use, dropped at the end of the run)."""
        if kind not in self._databases:
            print(f"bench: preparing a {kind} database (migrate, seed_demo)…", flush=True)
            db = servers.Database(kind, pg_admin_url=self.pg_admin_url, keep=self.keep)
            self._databases[kind] = self.stack.enter_context(db)
        return self._databases[kind]

    def postgres_available(self) -> bool:
        return servers.postgres_reachable(self.pg_admin_url)

    def redis(self) -> str:
        if self._redis is None:
            workdir = self.database("postgres").dir
            self._redis = self.stack.enter_context(servers.redis(workdir, self.redis_url))
        return self._redis

    @contextlib.contextmanager
    def server(self, db: servers.Database, env: dict | None = None):
        """The server under test: one Daphne process, or with ``--cluster`` the scaled-out topology
        (``workers`` Daphne processes behind nginx on PostgreSQL and Redis); ``env``: settings of
        this suite's server only (the default limits hold unless a suite says otherwise)."""
        if self.cluster:
            with servers.cluster(db, self.redis(), workers=self.workers, env=env) as target:
                yield target
        else:
            with servers.daphne(db, env=env) as target:
                yield target

    def pool(self) -> ClientPool:
        return ClientPool(self.client_procs, self.ping_interval)

    def sizes_for(self, full: list[int], quick: list[int]) -> list[int]:
        """The sizes a suite measures: ``--sizes`` when given, else its quick or full list."""
        return self.sizes or (quick if self.quick else full)

    @property
    def suffix(self) -> str:
        return "-cluster" if self.cluster else ""
