"""DRF's throttle hook for the per-account limits of ``ecabinet.limits`` (the numbers live there).

DRF runs throttles in ``APIView.initial``, after authentication and before the handler: before the
body is parsed, the ``Idempotency-Key`` looked up, the upload inspected or a transaction opened.
Only writes (POST) are counted; reads of the same view are not. A refusal raises
``ecabinet.limits.RateLimited``, answered by ``ecabinet.api.errors`` as 429 ``rate_limited`` with
``Retry-After``.
"""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle

from ecabinet import limits

__all__ = ["AccountRate", "AccountWriteRate", "UploadRate"]


class AccountRate(BaseThrottle):
    """Count one write against ``scope`` (set by ``for_scope``)."""

    scope = ""

    @classmethod
    def for_scope(cls, scope: str) -> type[AccountRate]:
        if scope not in limits.SCOPES:
            raise ValueError(f"unknown rate scope {scope!r}")
        return type(f"{cls.__name__}_{scope}", (cls,), {"scope": scope})

    def allow_request(self, request, view) -> bool:
        if request.method == "POST":
            limits.check(self.scope, request.user)
        return True


class AccountWriteRate(AccountRate):
    """``AccountRate`` for every write, not only POST: views whose changes and deletions are ``PATCH``
    and ``DELETE`` (annotations, issue 17). Reads are not counted."""

    WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def allow_request(self, request, view) -> bool:
        if request.method in self.WRITES:
            limits.check(self.scope, request.user)
        return True


class UploadRate(BaseThrottle):
    """An upload counts once against ``uploads`` and its size (the request's ``Content-Length``,
    known before a byte of it is parsed) against ``upload_bytes``."""

    def allow_request(self, request, view) -> bool:
        if request.method == "POST":
            limits.check_upload(request.user, request.META)
        return True
