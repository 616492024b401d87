"""Django's HTTP handling under Daphne, with each request's synchronous work done in one trip to a
fixed pool of threads (``HTTP_MAX_CONCURRENCY`` of them per server process).

Why not Django's own ``ASGIHandler``
------------------------------------
Django's ASGI handler runs the middleware in async mode. Every ``MiddlewareMixin`` then hands its
``process_request`` and ``process_response`` to a thread and back (``sync_to_async``), the sync view
is one more trip, and each request gets a new thread of its own (``ThreadSensitiveContext``), so a
new database connection too: for this project's nine middleware, some twenty thread hand-overs per
request. Measured on 2 cores (2026-12, a one-off measurement, not a bench suite): 500 concurrent API requests answering
a plain 404 took 10–12 s, 25 ms of server CPU each, most of it in thread hand-overs waiting for the
GIL, thread starts, and opening and closing SQLite connections.

Here the middleware is loaded in sync mode, as under WSGI, and the whole synchronous part of a
request (``request_started``, the middleware, the view, rendering, ``request_finished``) runs in
one call on a pool thread. Reading the body and writing the response stay in the event loop. The
pool is the concurrency limit as well: requests beyond it wait their turn in arrival order
(``ThreadPoolExecutor``'s queue is first in, first out), holding nothing but their socket and body
— the reason ``HTTP_MAX_CONCURRENCY`` exists (docs/deploy.md). Each pool thread keeps its database
connection between requests (``CONN_MAX_AGE``), and Django's ``close_old_connections`` runs in the
thread that owns the connection, at the start and the end of every request.

Streaming responses with a synchronous iterator (file downloads, the archive zip, static files)
are read in the pool, a few chunks per trip, so a large file is never held in memory whole
(Django's handler reads such an iterator into one list).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor

from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse
from django.urls import set_script_prefix

log = logging.getLogger(__name__)

__all__ = ["PooledASGIHandler"]

# A streaming response is read this many bytes at a time per trip to the pool.
STREAM_BATCH_BYTES = 1024 * 1024


class PooledASGIHandler(ASGIHandler):
    """An ASGI application for HTTP: Django in sync mode, on a pool of ``threads`` threads."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError("HTTP_MAX_CONCURRENCY must be at least 1")
        BaseHandler.__init__(self)  # not ASGIHandler.__init__, which loads the middleware in async mode
        self.load_middleware(is_async=False)
        self.threads = threads
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    @property
    def waiting(self) -> int:
        """Requests waiting for a pool thread (diagnostics and tests)."""
        return self.executor._work_queue.qsize()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response, parts = await self._in_pool(self._respond, scope, body_file)
            try:
                await self._send(response, parts, send)
            finally:
                if response.streaming:
                    await self._in_pool(response.close)
        finally:
            body_file.close()

    async def _in_pool(self, function, *args):
        """Run ``function(*args)`` on a pool thread, in a copy of the caller's context (as
        ``sync_to_async`` does), so that context variables set there stay with this request."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self.executor, context.run, function, *args)

    def _respond(self, scope, body_file):
        """On a pool thread: the whole synchronous part of the request. Returns the response and,
        for a non-streaming one, its body; a non-streaming response is closed here (which sends
        ``request_finished``) so that the database connection is tidied by its own thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if response.streaming:
            return response, None
        try:
            return response, response.content
        finally:
            response.close()

    async def _send(self, response, body: bytes | None, send) -> None:
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": self._headers(response)})
        if body is not None:
            for chunk, last in self.chunk_bytes(body):
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
            return
        if response.is_async:
            async for part in response.streaming_content:
                for chunk, _last in self.chunk_bytes(part):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            iterator = iter(response.streaming_content)
            while parts := await self._in_pool(_next_parts, iterator):
                for part in parts:
                    for chunk, _last in self.chunk_bytes(part):
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body"})

    @staticmethod
    def _headers(response) -> list[tuple[bytes, bytes]]:
        """The response's headers and cookies, as Django's ``ASGIHandler.send_response`` encodes them."""
        headers = []
        for header, value in response.items():
            if isinstance(header, str):
                header = header.encode("ascii")
            if isinstance(value, str):
                value = value.encode("latin1")
            headers.append((bytes(header), bytes(value)))
        for cookie in response.cookies.values():
            headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
        return headers


def _next_parts(iterator) -> list[bytes]:
    """Up to ``STREAM_BATCH_BYTES`` of a streaming response (at least one part unless it ended)."""
    parts, size = [], 0
    for part in iterator:
        if isinstance(part, str):
            part = part.encode()
        parts.append(part)
        size += len(part)
        if size >= STREAM_BATCH_BYTES:
            break
    return parts
