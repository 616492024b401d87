"""At most ``HTTP_MAX_CONCURRENCY`` HTTP requests run in Django at once in one server process.

Under ASGI, Django runs every request's synchronous code in a thread of its own, and Daphne starts
every request it receives at once: a storm of 500 votes was 500 threads, each with a database
connection, on 2 cores. PostgreSQL then refused clients ("too many clients already") and on SQLite
the 500 writers polled the single writer lock until some gave up ("database is locked"): errors for
requests that would have succeeded had they waited their turn.

So the requests wait their turn *before* Django, in the server's event loop, first come first
served (``asyncio.Semaphore`` is fair), holding nothing but their socket. The limit is sized to the
database: a handful of threads keeps both cores busy (the GIL lets one run Python at a time; the
others wait on the database), and the PostgreSQL pool (``DB_POOL_MAX``) must be larger than it.
WebSocket connections are not limited here: they hold no thread while they wait for events.
"""

from __future__ import annotations

import asyncio
import weakref

__all__ = ["ConcurrencyLimit"]


class ConcurrencyLimit:
    """ASGI middleware: at most ``limit`` HTTP requests inside ``app`` at once; the others queue."""

    def __init__(self, app, limit: int) -> None:
        if limit < 1:
            raise ValueError("HTTP_MAX_CONCURRENCY must be at least 1")
        self.app = app
        self.limit = limit
        # A semaphore belongs to the event loop that first waits on it (tests run several loops).
        self._semaphores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        return semaphore

    @property
    def waiting(self) -> int:
        """Requests queued in the current event loop (for tests and diagnostics)."""
        semaphore = self._semaphores.get(asyncio.get_running_loop())
        return len(semaphore._waiters or ()) if semaphore is not None else 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self._semaphore():
            await self.app(scope, receive, send)
