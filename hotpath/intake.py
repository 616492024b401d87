"""The batch intake: the requests of one path answered in group commits. The votes
(``POST /api/v1/motions/<id>/votes/``) are its one use: what a vote is, how it is cast and answered,
is ``voting.intake_handler``'s, given to ``BatchIntake`` by the composition root (``ecabinet.asgi``).

Why
---
Every member votes within the same second. Through Django's request machinery a vote costs this
project's nine middleware, DRF's authentication and parsing, the idempotency record and the vote's
own transaction: on the 2-core machine of the benchmarks about 20 ms of CPU, and on SQLite each
vote is one more turn of the single writer lock. A storm of 500 votes took 20–40 s to acknowledge
(bench/results, 2026-11). Daphne itself needs about 0.7 ms per request; the rest had to go.

How a vote goes
---------------
1. In the server's event loop (``VoteIntake``, an ASGI application in front of Django), a request
   for the vote path is read and checked for the common shape: a JSON object whose ``choice`` is
   yes, no or abstain, and an ``Idempotency-Key`` of at most 200 characters if any. Anything else
   goes to Django's own view (``voting.motions_api.VotesView``) unchanged, so every answer to a
   malformed request still comes from one place — except two refusals that come before any
   authentication and are the intake's own: a body over ``HTTP_MAX_VOTE_BODY_BYTES`` (413
   ``request_too_large``, from the Content-Length at once, else when the body passes it; nothing
   over it is handed to Django), and JSON too deep, with too many values or brackets that do not
   pair up (400, ``ecabinet.jsonguard``, as ``ecabinet.middleware.JSONLimitsMiddleware`` answers
   in front of Django's view).
2. One writer thread per server process takes every request waiting as one batch. It checks the
   ``Host`` header as Django does, authenticates the callers in bulk (``hotpath.bulk_auth``:
   tokens, sessions with their CSRF check — a request it cannot authenticate goes to Django's
   view, which answers the 401 or 403), answers the repeats of stored requests from their
   ``Idempotency-Key`` records, then casts all the votes with ``votes_cast`` and records the new
   keys, in one transaction (``voting.intake_handler.commit``).
3. After the commit every request gets its answer (``hotpath.intake_answers``): the same status,
   body and headers Django's view gives (``tests/voting/test_intake.py`` holds the two
   together). Nothing is answered before the commit, so an acknowledged vote is stored; a batch
   that fails is rolled back whole and its requests handed to Django's view one by one.

Two requests with the same credentials and the same ``Idempotency-Key`` never share a batch: the
later one waits for the next, where it finds the first one's record and gets its answer replayed.
The intake serves requests only where Django's middleware would do nothing else with them (no
``SECURE_SSL_REDIRECT`` on plain HTTP, no ``PREPEND_WWW``, no ``DISALLOWED_USER_AGENTS``, no
``SESSION_SAVE_EVERY_REQUEST`` for session logins); otherwise Django's view answers.

Slightly over 400 lines: reading, checking, authenticating and batching a request are one chain
whose every step must agree with Django's view; the answers' bytes are in ``intake_answers``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import queue
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, close_old_connections
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import translation

from ecabinet import clock, http_limits, jsonguard, limits, mfa
from ecabinet.middleware import chosen_language

from . import bulk_auth, intake_answers

log = logging.getLogger(__name__)

__all__ = ["Answer", "BatchIntake", "Submission", "handle"]

BATCH_MAX = 500
# An ``Idempotency-Key`` longer than this goes to Django's view (``ecabinet.api.idempotency``
# answers 400); the same number as there, checked by ``tests/hotpath``.
MAX_KEY_LENGTH = 200
# See _Writer._gather: a single vote waits GATHER_QUIET more; a storm is taken in one or two batches.
GATHER_QUIET = 0.01
GATHER_MAX = 0.5


@dataclass
class Answer:
    status: int
    body: dict
    replayed: bool = False
    session: bool = False  # authenticated by the session cookie (Vary: Cookie)
    early: bool = False  # a refusal before any view (body cap, JSON bounds), as Django's middleware gives it
    retry_after: int | None = None  # a 429 (ecabinet.limits): seconds until the caller may vote again


@dataclass(eq=False)
class Submission:
    """One request on its way through the intake: ``target_id`` is the path's number (the motion),
    ``value`` what the handler took from the body (the choice)."""

    scope: dict
    body: bytes
    target_id: int
    value: str
    key: str
    future: asyncio.Future | None = None
    answer: Answer | None = None  # None when it is done: Django's view answers it
    http: object = None
    user: object = None
    receipt: str | None = None
    language: str = field(default="")
    secure: bool = False

    @property
    def credentials(self) -> bytes:
        headers = dict(self.scope["headers"])
        return headers.get(b"authorization") or headers.get(b"cookie") or b""


class BatchIntake:
    """ASGI application: ``handler``'s path in group commits, everything else to ``django_app``.

    ``handler`` (a module or object; ``voting.intake_handler`` for votes) gives ``PATH`` (a regex
    with a ``pk`` group), ``MAX_BODY_SETTING`` (the name of the setting capping the body),
    ``LIMIT`` (the ``ecabinet.limits`` scope each request counts against), ``value_of(data)``
    (the value of a JSON body of the common shape, else None: Django's view answers) and
    ``commit(live)`` (in one transaction, give each authenticated submission its ``answer``)."""

    def __init__(self, django_app, handler) -> None:
        self.django = django_app
        self.handler = handler
        self._writers: dict[asyncio.AbstractEventLoop, _Writer] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        match = self.handler.PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST" or scope.get("root_path") or not _served_here():
            await self.django(scope, receive, send)
            return
        limit = getattr(settings, self.handler.MAX_BODY_SETTING)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, scope, 413, http_limits.CODE, _too_large(scope, limit))
            return
        body, outcome = await _read(receive, limit)
        if outcome == "gone":
            return  # the client went away (or the body cap cut it): nobody to answer
        if outcome == "too_large":
            await _refuse(send, scope, 413, http_limits.CODE, _too_large(scope, limit))
            return
        submission = _parsed(scope, body, int(match["pk"]), self.handler)
        if isinstance(submission, jsonguard.JSONRefused):
            await _refuse(send, scope, submission.status, submission.code, str(submission.message))
            return
        if submission is not None:
            answer = await self._writer().submit(submission)
            if answer is not None:
                await intake_answers.send(send, submission, answer)
                return
        await self.django(scope, _replaying(body, receive), send)

    def _writer(self) -> _Writer:
        loop = asyncio.get_running_loop()
        writer = self._writers.get(loop)
        if writer is None:
            with self._lock:
                writer = self._writers.get(loop) or _Writer(loop, self.handler)
                self._writers[loop] = writer
        return writer


def _served_here() -> bool:
    return not (settings.PREPEND_WWW or settings.DISALLOWED_USER_AGENTS)


async def _read(receive, limit: int) -> tuple[bytes, str]:
    """The whole body and "complete"; or what was read and "too_large" once it passes ``limit``
    (the rest is not read), or "gone" if the client went away first."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), "gone"
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return b"", "too_large"
        if not message.get("more_body"):
            return b"".join(chunks), "complete"


def _replaying(body: bytes, receive):
    """``receive`` for Django: the body, read whole already, then what the client sends next
    (``http.disconnect``)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def again():
        return pending.pop() if pending else await receive()

    return again


def _language(scope) -> str:
    return chosen_language(parse_cookie(dict(scope["headers"]).get(b"cookie", b"").decode("latin1")))


def _too_large(scope, limit: int) -> str:
    return http_limits.too_large_detail(limit, _language(scope))


async def _refuse(send, scope, status: int, code: str, detail: str) -> None:
    """A refusal of the request before any vote is looked at (its body is too large, or not JSON
    the intake may parse), with the headers of the intake's other answers."""
    refused = Submission(scope=scope, body=b"", target_id=0, value="", key="", language=_language(scope),
                         secure=scope.get("scheme") == "https")
    await intake_answers.send(send, refused, Answer(status, {"code": code, "detail": detail}, early=True))


def _parsed(scope, body: bytes, target_id: int, handler) -> Submission | jsonguard.JSONRefused | None:
    """The submission, if the request has the common shape (see the module docstring); the
    refusal if its JSON is too deep or has too many values (whoever sends it, as Django's
    ``JSONLimitsMiddleware`` answers before authentication); None for Django's view."""
    headers = dict(scope["headers"])
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    # DRF reads as much of the body as Content-Length says (none without it): so does the intake.
    if content_type != b"application/json" or headers.get(b"content-length") != str(len(body)).encode():
        return None
    try:
        with translation.override(_language(scope)):
            jsonguard.check(body)
    except jsonguard.JSONRefused as refused:
        return refused
    try:
        data = json.loads(body)
        key = headers.get(b"idempotency-key", b"").decode("latin1").strip()
    except ValueError:
        return None
    value = handler.value_of(data)
    if value is None or len(key) > MAX_KEY_LENGTH:
        return None  # Django's view answers (400 invalid, with the field)
    return Submission(scope=scope, body=body, target_id=target_id, value=value, key=key)


# --- the writer thread ----------------------------------------------------------------------------

class _Writer:
    """One thread per event loop (a server process has one) that handles the waiting submissions
    in batches and hands the answers back to the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, handler) -> None:
        self.loop = loop
        self.handler = handler
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="intake", daemon=True).start()

    async def submit(self, submission: Submission) -> Answer | None:
        submission.future = self.loop.create_future()
        self.waiting.put(submission)
        return await submission.future

    def _run(self) -> None:
        later: list[Submission] = []
        while True:
            batch = later or [self.waiting.get()]
            self._gather(batch)
            now, later = _distinct_keys(batch)
            # The thread keeps its database connection between batches, tidied as Django tidies a
            # request's (CONN_MAX_AGE, a broken connection).
            close_old_connections()
            try:
                handle(now, self.handler)
            except Exception:
                log.exception("intake: a batch of %s failed; Django's view answers them", len(now))
                for submission in now:
                    submission.answer = None
            finally:
                close_old_connections()
            self.loop.call_soon_threadsafe(_resolve, now)


    def _gather(self, batch: list[Submission]) -> None:
        """Add what arrives until the requests pause for ``GATHER_QUIET`` seconds (at most
        ``GATHER_MAX`` in all): a storm of votes is read off the network by the event loop one
        request at a time, and a batch that started with the first few would take its database
        trips while the loop is busiest, each of them then waiting for the GIL behind it."""
        deadline = clock.monotonic() + GATHER_MAX
        while len(batch) < BATCH_MAX:
            wait = min(GATHER_QUIET, deadline - clock.monotonic())
            try:
                batch.append(self.waiting.get(timeout=wait) if wait > 0 else self.waiting.get_nowait())
            except queue.Empty:
                return


def _distinct_keys(batch: list[Submission]) -> tuple[list[Submission], list[Submission]]:
    """At most one submission per credentials and Idempotency-Key in a batch; the others wait."""
    now, later, seen = [], [], set()
    for submission in batch:
        mark = (submission.credentials, submission.key)
        if submission.key and mark in seen:
            later.append(submission)
        else:
            seen.add(mark)
            now.append(submission)
    return now, later


def _resolve(batch: list[Submission]) -> None:
    for submission in batch:
        if not submission.future.done():
            submission.future.set_result(submission.answer)


def handle(batch: list[Submission], handler) -> None:
    """Give every submission of ``batch`` its ``answer`` (None: Django's view answers it) with
    ``handler.commit``. Runs on the writer thread (or a test's), with a database connection of its own."""
    _prepare(batch)
    _limit(batch, handler.LIMIT)
    live = [s for s in batch if s.user is not None and s.answer is None]
    if not live:
        return _hand_over_unauthenticated(batch)
    try:
        handler.commit(live)
    except DatabaseError:
        # Something got in the way of the whole batch (a record or a vote committed meanwhile by
        # another process, a lock timeout): each alone, and what still fails goes to Django.
        log.info("intake: a batch of %s is retried one by one", len(live), exc_info=True)
        for submission in live:
            submission.answer = None
            try:
                handler.commit([submission])
            except DatabaseError:
                submission.answer = None
                submission.user = None
    return _hand_over_unauthenticated(batch)


def _hand_over_unauthenticated(batch: list[Submission]) -> None:
    for submission in batch:
        if submission.user is None:
            submission.answer = None


def _prepare(batch: list[Submission]) -> None:
    """Host, authentication and language of each submission."""
    live = []
    for submission in batch:
        headers = dict(submission.scope["headers"])
        allowed, secure = _host_and_scheme(submission)
        if not allowed or (settings.SECURE_SSL_REDIRECT and not secure):
            continue  # Django answers: 400 for the host, a redirect to HTTPS
        submission.secure = secure
        if b"authorization" in headers:
            # A token: nothing but the header and the cookies matter (no CSRF check).
            request = HttpRequest()
            request.META = {"HTTP_AUTHORIZATION": headers[b"authorization"].decode("latin1"),
                            "HTTP_COOKIE": headers.get(b"cookie", b"").decode("latin1")}
            request.COOKIES = parse_cookie(request.META["HTTP_COOKIE"])
        else:  # a session: Django's CSRF check reads the whole request
            request = ASGIRequest(submission.scope, io.BytesIO(submission.body))
        submission.http = request
        submission.language = chosen_language(request.COOKIES)
        live.append(submission)
    for submission, user in zip(live, bulk_auth.authenticate_many([s.http for s in live]), strict=True):
        if user is not None and by_session(submission) and settings.SESSION_SAVE_EVERY_REQUEST:
            user = None
        if user is not None and settings.MFA_ENFORCE and mfa.needs_enrolment(user):
            user = None  # issue 15: Django's view refuses it (403 mfa_enrolment_required)
        submission.user = user


def _limit(batch: list[Submission], scope: str) -> None:
    """The votes limit of ``ecabinet.limits``, per caller, as ``VotesView``'s throttle applies it:
    each request counts, and one over the limit is answered 429 without touching the database."""
    for submission in batch:
        if submission.user is None or submission.answer is not None:
            continue
        refusal = limits.hit(scope, submission.user.pk)
        if refusal is not None:
            with translation.override(submission.language):
                body = limits.refusal_body(refusal)
            submission.answer = Answer(429, body, session=by_session(submission), retry_after=refusal.retry_after)


_verdicts: dict[tuple, tuple[bool, bool]] = {}


def _host_and_scheme(submission: Submission) -> tuple[bool, bool]:
    """Whether Django accepts the request's host (``HttpRequest.get_host``) and sees it as HTTPS
    (``is_secure``). Both depend only on a few headers and the settings, so Django's verdict on the
    first request with those headers is kept (a few dozen kinds at most are kept)."""
    headers = dict(submission.scope["headers"])
    proxy = settings.SECURE_PROXY_SSL_HEADER
    key = (headers.get(b"host"), headers.get(b"x-forwarded-host"), submission.scope.get("scheme"),
           tuple(submission.scope.get("server") or ()),
           headers.get(proxy[0][5:].lower().replace("_", "-").encode()) if proxy else None)
    verdict = _verdicts.get(key)
    if verdict is None:
        request = ASGIRequest(submission.scope, io.BytesIO(b""))
        try:
            request.get_host()
            allowed = True
        except DisallowedHost:
            allowed = False
        if len(_verdicts) > 64:
            _verdicts.clear()
        verdict = _verdicts[key] = (allowed, request.is_secure())
    return verdict


def by_session(submission: Submission) -> bool:
    """Authenticated by the session cookie (its answer says ``Vary: Cookie``)."""
    return "HTTP_AUTHORIZATION" not in submission.http.META
