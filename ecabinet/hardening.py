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

The vote intake (``voting.intake``) answers without Django's middleware and puts the same headers on
its answers through :func:`static_headers`.
"""

from __future__ import annotations

from functools import wraps

from csp.constants import SELF
from django.conf import settings
from django.views.decorators.clickjacking import xframe_options_sameorigin

__all__ = ["NO_STORE", "HardeningMiddleware", "framed_by_self", "static_headers"]

NO_STORE = "no-store, private"


def static_headers() -> list[tuple[str, str]]:
    """The headers of this middleware, the same on every answer."""
    headers = [("Cache-Control", NO_STORE), ("Pragma", "no-cache")]
    if settings.PERMISSIONS_POLICY:
        headers.append(("Permissions-Policy", settings.PERMISSIONS_POLICY))
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
