"""``Idempotency-Key`` for every POST of the API.

Contract: a repeat of a POST with the same key by the same caller returns the first response and
changes nothing. The record of the key is written in the same transaction as the change, so
"recorded" and "applied" cannot diverge. Concurrent repeats are serialised by the unique
(user, key) constraint: on PostgreSQL the second insert waits for the first transaction and then
fails, on SQLite the IMMEDIATE transaction waits for the writer lock; either way the loser then
reads and returns the stored response. A key reused for a different request is refused (422).
Only successful (2xx) responses are stored: a refused request may be corrected and retried.
A key is remembered for ``IDEMPOTENCY_KEY_TTL_HOURS``.

When the copies race, the view's own constraint may fire before the key's (a second vote is refused
as ``already_voted`` while the first, with the same key, commits): a refusal is therefore answered
with the first copy's response when that copy has committed meanwhile, as the contract says.

A view may define ``prepare(request, *args, **kwargs)`` for slow work that needs no lock (rendering a
PDF, a signature on a token): it runs after the replay check and before the transaction, and its
result is ``request.prepared`` for the view. On SQLite, whose IMMEDIATE transactions take the
writer lock at BEGIN, this keeps seconds of rendering from holding every other writer.

A view may define ``idempotency_fingerprint(request)`` returning its own fingerprint (or None for
the default), to keep something out of the stored record: the choice of a secret vote must not be
stored next to its voter, not even hashed (three choices are quickly tried).
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from rest_framework.response import Response

from ecabinet import bulk, clock
from ecabinet.errors import DomainError
from ecabinet.models import IdempotencyRecord

from .errors import error_response

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 200


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The default fingerprint of a request that is not multipart: its method, path and body."""
    digest = hashlib.sha256(f"{method} {path}".encode())
    digest.update(body)
    return digest.hexdigest()


def _fingerprint(request) -> str:
    raw = request._request
    content_type = raw.META.get("CONTENT_TYPE", "")
    if not content_type.startswith("multipart/"):
        return fingerprint(raw.method, raw.path, raw.body)
    digest = hashlib.sha256(f"{raw.method} {raw.path}".encode())
    # A multipart body carries a random boundary that differs on every retry, so the parsed fields
    # and the uploaded bytes are hashed instead. (Hashing nothing, as this once did, replayed the
    # first upload's answer for a different file sent with the same key.)
    for name in sorted(request.data.keys()):
        for value in request.data.getlist(name):
            digest.update(b"\0" + name.encode() + b"=")
            if hasattr(value, "chunks"):
                digest.update(f"file:{value.name}:{value.size}:".encode())
                for chunk in value.chunks():
                    digest.update(chunk)
                value.seek(0)
            else:
                digest.update(str(value).encode())
    return digest.hexdigest()


def _stored(user, key: str) -> IdempotencyRecord | None:
    """The record of ``key``, unless it is older than ``IDEMPOTENCY_KEY_TTL_HOURS``: an expired key
    is forgotten (deleted), so it may be used afresh."""
    return stored_many([(user.pk, key)]).get((user.pk, key))


def stored_many(keys: list[tuple[int, str]]) -> dict[tuple[int, str], IdempotencyRecord]:
    """``_stored`` for many ``(user id, key)`` pairs in one query (the vote intake's batches)."""
    if not keys:
        return {}
    wanted = set(keys)
    rows = IdempotencyRecord.objects.filter(key__in={k for _u, k in wanted})
    found = {(r.user_id, r.key): r for r in rows if (r.user_id, r.key) in wanted}
    expired_before = clock.moment() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    expired = [pair for pair, record in found.items() if record.created_at < expired_before]
    if expired:
        IdempotencyRecord.objects.filter(pk__in=[found[pair].pk for pair in expired]).delete()
        for pair in expired:
            del found[pair]
    return found


def store_many(records: list[tuple[int, str, str, int, dict]]) -> int:
    """Record the answers of many requests at once — ``(user id, key, fingerprint, status, body)``
    each — in the caller's transaction, as the decorator records one (the vote intake's group
    commits: one statement, ``ecabinet.bulk``). Returns the number of records."""
    now = clock.moment()
    return bulk.insert(IdempotencyRecord, ("user", "key", "fingerprint", "status_code", "response", "created_at"),
                       [(user_id, key, fingerprint, status, _json_safe(body), now)
                        for user_id, key, fingerprint, status, body in records])


def replay_of(record: IdempotencyRecord, fingerprint: str) -> tuple[int, dict, bool]:
    """What a repeat of a stored request answers: ``(status, body, replayed)``; a key reused for a
    different request is refused (422, not a replay)."""
    if record.fingerprint != fingerprint:
        return 422, {"code": "idempotency_key_reused",
                     "detail": "This Idempotency-Key was already used for a different request."}, False
    return record.status_code, record.response, True


def _json_safe(data):
    """The response body as the JSON column can store it (datetimes, decimals, UUIDs as strings):
    what a replay returns is exactly what the first client read."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    status, body, replayed = replay_of(record, fingerprint)
    if not replayed:
        return error_response(body["code"], body["detail"], status)
    response = Response(None if status == 204 else body, status=status)  # a 204 has no body (stored as {})
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view_method):
    """Decorate an APIView ``post``; the body runs in one transaction with the key record."""

    def prepare(self, request, args, kwargs) -> None:
        hook = getattr(self, "prepare", None)
        request.prepared = hook(request, *args, **kwargs) if hook else None

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.META.get(HEADER, "").strip()
        if not key:
            prepare(self, request, args, kwargs)
            with transaction.atomic():
                return view_method(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            return error_response("invalid_idempotency_key", "The Idempotency-Key is too long.", 400)
        custom = getattr(self, "idempotency_fingerprint", None)
        fingerprint = (custom(request) if custom else None) or _fingerprint(request)
        user = request.user
        existing = _stored(user, key)
        if existing is not None:
            return _replay(existing, fingerprint)
        try:
            prepare(self, request, args, kwargs)
            with transaction.atomic():
                response = view_method(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    IdempotencyRecord.objects.create(user=user, key=key, fingerprint=fingerprint,
                                                     status_code=response.status_code,
                                                     response=_json_safe({} if response.data is None
                                                                         else response.data))
                return response
        except IntegrityError:
            # A concurrent request with the same key committed first; its effect stands.
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if existing is None:
                raise
            return _replay(existing, fingerprint)
        except DomainError:
            # Refused — perhaps because a concurrent copy with this key has just done the work.
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if existing is None:
                raise
            return _replay(existing, fingerprint)

    return wrapper
