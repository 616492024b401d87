"""The intake's answers (``voting.intake``): the bytes of the response Django's view would give.

``tests/voting/test_intake_agrees.py`` holds the two together: the same status, body and headers —
what Django's middleware (security headers, ``Vary: Cookie`` after reading the session,
``Content-Language``, ``ecabinet.hardening``'s and django-csp's headers) and DRF (``Allow``) put on the
view's answer.
"""

from __future__ import annotations

import csp.constants
import csp.utils
from django.conf import settings
from rest_framework.renderers import JSONRenderer

from ecabinet import hardening

__all__ = ["send"]

_render = JSONRenderer().render


async def send(asgi_send, submission, answer) -> None:
    """Send ``answer`` (a ``voting.intake.Answer``) to ``submission``'s caller: the receipt of a new
    vote goes in the body once, never into the stored answer."""
    body = answer.body
    if answer.status == 201 and not answer.replayed and submission.receipt:
        body = {**body, "receipt": submission.receipt}  # shown once: never stored (voting.receipts)
    content = _render(body)
    await asgi_send({"type": "http.response.start", "status": answer.status,
                "headers": _headers(answer, submission, len(content))})
    await asgi_send({"type": "http.response.body", "body": content})


def _headers(answer, submission, length: int) -> list[tuple[bytes, bytes]]:
    """What Django's middleware and DRF put on the view's answer."""
    headers = [(b"Content-Type", b"application/json")]
    if not answer.early:  # DRF's view says what it allows; a refusal before the view does not
        headers.append((b"Allow", b"POST, OPTIONS"))
    if answer.session:
        headers.append((b"Vary", b"Cookie"))  # SessionMiddleware: the session was read
    if answer.replayed:
        headers.append((b"Idempotent-Replayed", b"true"))
    if answer.retry_after:
        headers.append((b"Retry-After", str(answer.retry_after).encode()))
    if settings.X_FRAME_OPTIONS:
        headers.append((b"X-Frame-Options", settings.X_FRAME_OPTIONS.upper().encode()))
    headers.append((b"Content-Length", str(length).encode()))
    headers.append((b"Content-Language", (submission.language or settings.LANGUAGE_CODE).encode()))
    if settings.SECURE_HSTS_SECONDS and submission.secure:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append((b"Strict-Transport-Security", value.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"X-Content-Type-Options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        policy = policy if isinstance(policy, str) else ",".join(policy)
        headers.append((b"Referrer-Policy", policy.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    headers.extend((name.encode(), value.encode()) for name, value in hardening.static_headers())
    for name, report_only in ((csp.constants.HEADER, False), (csp.constants.HEADER_REPORT_ONLY, True)):
        policy = csp.utils.build_policy(report_only=report_only)  # django-csp's, without a nonce (no page)
        if policy:
            headers.append((name.encode(), policy.encode()))
    return headers
