"""The vote intake: ``POST /api/v1/motions/<id>/votes/`` answered in group commits.

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
   ``Host`` header as Django does, authenticates the callers in bulk (``ecabinet.api.bulk_auth``:
   tokens, sessions with their CSRF check — a request it cannot authenticate goes to Django's
   view, which answers the 401 or 403), answers the repeats of stored requests from their
   ``Idempotency-Key`` records, then casts all the votes with ``votes_cast`` and records the new
   keys, in one transaction (``_batch``).
3. After the commit every request gets its answer (``voting.intake_answers``): the same status,
   body and headers Django's view gives (``tests/voting/test_intake.py`` holds the two
   together). Nothing is answered before the commit, so an acknowledged vote is stored; a batch
   that fails is rolled back whole and its requests handed to Django's view one by one.

Two requests with the same credentials and the same ``Idempotency-Key`` never share a batch: the
later one waits for the next, where it finds the first one's record and gets its answer replayed.
The intake serves requests only where Django's middleware would do nothing else with them (no
``SECURE_SSL_REDIRECT`` on plain HTTP, no ``PREPEND_WWW``, no ``DISALLOWED_USER_AGENTS``, no
``SESSION_SAVE_EVERY_REQUEST`` for session logins); otherwise Django's view answers.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, close_old_connections, transaction
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import timezone, translation

from ecabinet import bulk, http_limits, jsonguard, limits, mfa
from ecabinet.api import bulk_auth, idempotency
from ecabinet.errors import DomainError
from ecabinet.middleware import chosen_language
from ecabinet.models import IdempotencyRecord

from . import intake_answers
from .models import Motion
from .motions_api import vote_answer, vote_fingerprint
from .services import votes

log = logging.getLogger(__name__)

__all__ = ["VoteIntake"]

PATH = re.compile(r"/api/v1/motions/(?P<pk>[0-9]{1,18})/votes/")
BATCH_MAX = 500
# See _Writer._gather: a single vote waits GATHER_QUIET more; a storm is taken in one or two batches.
GATHER_QUIET = 0.01
GATHER_MAX = 0.5
CHOICES = frozenset(Motion.Choice.values)


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
    """One vote request on its way through the intake."""

    scope: dict
    body: bytes
    motion_id: int
    choice: str
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


class VoteIntake:
    """ASGI application: the vote path in group commits, everything else to ``django_app``."""

    def __init__(self, django_app) -> None:
        self.django = django_app
        self._writers: dict[asyncio.AbstractEventLoop, _Writer] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        match = PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST" or scope.get("root_path") or not _served_here():
            await self.django(scope, receive, send)
            return
        limit = settings.HTTP_MAX_VOTE_BODY_BYTES
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
        submission = _parsed(scope, body, int(match["pk"]))
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
                writer = self._writers.get(loop) or _Writer(loop)
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
    refused = Submission(scope=scope, body=b"", motion_id=0, choice="", key="", language=_language(scope),
                         secure=scope.get("scheme") == "https")
    await intake_answers.send(send, refused, Answer(status, {"code": code, "detail": detail}, early=True))


def _parsed(scope, body: bytes, motion_id: int) -> Submission | jsonguard.JSONRefused | None:
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
    choice = data.get("choice") if isinstance(data, dict) else None
    if not isinstance(choice, str) or choice not in CHOICES or len(key) > idempotency.MAX_KEY_LENGTH:
        return None  # Django's view answers (400 invalid, with the field)
    return Submission(scope=scope, body=body, motion_id=motion_id, choice=choice, key=key)


# --- the writer thread ----------------------------------------------------------------------------

class _Writer:
    """One thread per event loop (a server process has one) that handles the waiting submissions
    in batches and hands the answers back to the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="vote-intake", daemon=True).start()

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
                handle(now)
            except Exception:
                log.exception("vote intake: a batch of %s failed; Django's view answers them", len(now))
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
        deadline = time.monotonic() + GATHER_MAX
        while len(batch) < BATCH_MAX:
            wait = min(GATHER_QUIET, deadline - time.monotonic())
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


def handle(batch: list[Submission]) -> None:
    """Give every submission of ``batch`` its ``answer`` (None: Django's view answers it). Runs on
    the writer thread (or a test's), with a database connection of its own."""
    _prepare(batch)
    _limit(batch)
    live = [s for s in batch if s.user is not None and s.answer is None]
    try:
        _batch(live)
    except DatabaseError:
        # Something got in the way of the whole batch (a record or a vote committed meanwhile by
        # another process, a lock timeout): each alone, and what still fails goes to Django.
        log.info("vote intake: a batch of %s is retried one by one", len(live), exc_info=True)
        for submission in live:
            submission.answer = None
            try:
                _batch([submission])
            except DatabaseError:
                submission.answer = None
                submission.user = None
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
        if user is not None and _by_session(submission) and settings.SESSION_SAVE_EVERY_REQUEST:
            user = None
        if user is not None and settings.MFA_ENFORCE and mfa.needs_enrolment(user):
            user = None  # issue 15: Django's view refuses it (403 mfa_enrolment_required)
        submission.user = user


def _limit(batch: list[Submission]) -> None:
    """The votes limit of ``ecabinet.limits``, per caller, as ``VotesView``'s throttle applies it:
    each request counts, and one over the limit is answered 429 without touching the database."""
    for submission in batch:
        if submission.user is None or submission.answer is not None:
            continue
        refusal = limits.hit("votes", submission.user.pk)
        if refusal is not None:
            with translation.override(submission.language):
                body = limits.refusal_body(refusal)
            submission.answer = Answer(429, body, session=_by_session(submission), retry_after=refusal.retry_after)


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


def _by_session(submission: Submission) -> bool:
    return "HTTP_AUTHORIZATION" not in submission.http.META


def _batch(live: list[Submission]) -> None:
    """Replays, votes and new records, in one transaction; answers are set only once it commits."""
    if not live:
        return
    answers: dict[Submission, Answer] = {}
    with transaction.atomic():
        methods = dict(Motion.objects.filter(pk__in={s.motion_id for s in live}).values_list("pk", "method"))
        prints = {s: vote_fingerprint(methods.get(s.motion_id), "POST", s.http.path)
                  or idempotency.fingerprint("POST", s.http.path, s.body) for s in live}
        keyed = [s for s in live if s.key]
        stored = idempotency.stored_many([(s.user.pk, s.key) for s in keyed])
        fresh = []
        for s in live:
            record = stored.get((s.user.pk, s.key)) if s.key else None
            if record is not None:
                status, body, replayed = idempotency.replay_of(record, prints[s])
                answers[s] = Answer(status, body, replayed, _by_session(s))
            else:
                fresh.append(s)
        records, now = [], timezone.now()
        by_language: dict[str, list[Submission]] = {}
        for s in fresh:
            by_language.setdefault(s.language, []).append(s)
        refused = []
        for language, group in by_language.items():
            with translation.override(language):
                outcomes = votes.votes_cast([votes.Ballot(s.user, s.motion_id, s.choice) for s in group])
                for s, outcome in zip(group, outcomes, strict=True):
                    if isinstance(outcome, DomainError):
                        answers[s] = Answer(outcome.status, {"code": outcome.code, "detail": str(outcome.message)},
                                            session=_by_session(s))
                        refused.append(s)
                        continue
                    body = vote_answer(outcome.vote, methods[s.motion_id], outcome.on_behalf_of)
                    answers[s] = Answer(201, body, session=_by_session(s))
                    s.receipt = outcome.token
                    if s.key:
                        records.append((s.user.pk, s.key, prints[s], 201, idempotency.json_safe(body), now))
        bulk.insert(IdempotencyRecord, ("user", "key", "fingerprint", "status_code", "response", "created_at"),
                    records)
        # A refusal may be because a copy with the same key, in another process, has just done the
        # work: then its answer is the answer (as ``ecabinet.api.idempotency`` does for the view).
        done_elsewhere = idempotency.stored_many([(s.user.pk, s.key) for s in refused if s.key])
        for s in refused:
            record = done_elsewhere.get((s.user.pk, s.key)) if s.key else None
            if record is not None:
                status, body, replayed = idempotency.replay_of(record, prints[s])
                answers[s] = Answer(status, body, replayed, _by_session(s))
    for s, answer in answers.items():
        s.answer = answer
