"""Response headers that every answer of the site carries (issue 15, docs/security.md "Web hardening").

Django's ``SecurityMiddleware`` gives HSTS, the SSL redirect, ``nosniff``, ``Referrer-Policy`` and
the opener policy; django-csp the Content-Security-Policy. This middleware adds what neither does:

* ``Cache-Control: no-store`` (and ``Pragma: no-cache`` for HTTP/1.0 caches) on every answer Django
  gives. Everything Django serves here is confidential or personal (screens, the API, papers, PDF and
  archive downloads, error pages naming the person); the static files (CSS, JS, images, fonts) are
  served by WhiteNoise before this middleware and keep their long cache. One rule, no list to forget:
  a new screen is covered the day it is written (``tests/test_hardening.py`` walks every URL pattern).
* ``Permissions-Policy`` (``settings.PERMISSIONS_POLICY``): camera, microphone, location and the other
  powerful features off for the site and anything it frames; passkeys and fullscreen for the site only.

The vote intake (``hotpath.intake``) answers without Django's middleware and puts the same headers on
its answers through :func:`static_headers`.
"""

from __future__ import annotations

from functools import wraps

import csp.constants
import csp.utils
from csp.constants import SELF
from django.conf import settings
from django.views.decorators.clickjacking import xframe_options_sameorigin

__all__ = ["NO_STORE", "HardeningMiddleware", "framed_by_self", "raw_headers", "static_headers"]

NO_STORE = "no-store, private"


def static_headers() -> list[tuple[str, str]]:
    """The headers of this middleware, the same on every answer."""
    headers = [("Cache-Control", NO_STORE), ("Pragma", "no-cache")]
    if settings.PERMISSIONS_POLICY:
        headers.append(("Permissions-Policy", settings.PERMISSIONS_POLICY))
    return headers


def raw_headers(*, secure: bool) -> list[tuple[bytes, bytes]]:
    """Every security header Django's middleware would add (framing, HSTS on HTTPS, nosniff, referrer,
    COOP, this module's, the CSP without a nonce), for the answers made outside Django: the vote
    intake's (``hotpath.intake_answers``) and the body cap's 413 (``ecabinet.http_limits``)."""
    headers: list[tuple[bytes, bytes]] = []
    if settings.X_FRAME_OPTIONS:
        headers.append((b"X-Frame-Options", settings.X_FRAME_OPTIONS.upper().encode()))
    if settings.SECURE_HSTS_SECONDS and secure:
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
    headers.extend((name.encode(), value.encode()) for name, value in static_headers())
    for name, report_only in ((csp.constants.HEADER, False), (csp.constants.HEADER_REPORT_ONLY, True)):
        policy = csp.utils.build_policy(report_only=report_only)  # django-csp's, without a nonce (no page)
        if policy:
            headers.append((name.encode(), policy.encode()))
    return headers


class HardeningMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        for name, value in static_headers():
            response.headers[name] = value
        return response


def framed_by_self(view):
    """For the file views that the reading screens show in an ``<iframe>`` of this site: framing by the
    site itself is allowed (``X-Frame-Options: SAMEORIGIN`` and CSP ``frame-ancestors 'self'``), by
    nobody else. Every other answer keeps ``DENY`` / ``frame-ancestors 'none'``."""
    view = xframe_options_sameorigin(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        # Both the enforced and the report-only policy (CSP_REPORT_ONLY); the one not configured is not sent.
        response._csp_replace = response._csp_replace_ro = {"frame-ancestors": [SELF]}
        return response

    return wrapped
