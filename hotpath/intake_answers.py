"""The intake's answers (``hotpath.intake``): the bytes of the response Django's view would give.

``tests/voting/test_intake.py`` holds the two together: the same status, body and headers —
what Django's middleware (security headers, ``Vary: Cookie`` after reading the session,
``Content-Language``, ``ecabinet.hardening``'s and django-csp's headers) and DRF (``Allow``) put on the
view's answer.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.renderers import JSONRenderer

from ecabinet import hardening

__all__ = ["send"]

_render = JSONRenderer().render


async def send(asgi_send, submission, answer) -> None:
    """Send ``answer`` (a ``hotpath.intake.Answer``) to ``submission``'s caller: the receipt of a new
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
    headers.append((b"Content-Length", str(length).encode()))
    headers.append((b"Content-Language", (submission.language or settings.LANGUAGE_CODE).encode()))
    headers.extend(hardening.raw_headers(secure=submission.secure))
    return headers
