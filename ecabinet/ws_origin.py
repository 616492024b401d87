"""Exact Origin matching for the room's WebSockets (issue 15 point 6; docs/security.md "Web hardening").

Cross-site WebSocket hijacking rides on the victim's cookie: any page the browser opens may open a
socket to this site, and the browser attaches the session cookie. The browser also says which page
asked (``Origin``: scheme, host and port). Channels' ``AllowedHostsOriginValidator`` compares only the
host with ``ALLOWED_HOSTS``, so a page from ``http://127.0.0.1:<another port>`` (any other program on
the same machine or host name) or from plain HTTP next to the HTTPS site passed.

Here a socket is let through only when its ``Origin`` is exactly

* this site as the request reached it: the scheme it came in on (``wss`` → ``https``; behind the TLS
  proxy, ``SECURE_PROXY_SSL_HEADER`` as Django reads it) and its own ``Host`` (host and port), the
  host being one of ``ALLOWED_HOSTS``; or
* one of ``CSRF_TRUSTED_ORIGINS`` (scheme, host and port; default ports written or not).

A missing ``Origin`` is refused too, unless the socket authenticates with ``Authorization: Token``:
tablet apps that are not browsers send no Origin, and no browser page can set that header (so it
cannot be hijacked). Refused sockets are closed before they are accepted (Daphne answers 403).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

__all__ = ["ExactOriginValidator", "origin_allowed"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalized(origin: str) -> str | None:
    """``scheme://host:port`` with the port always written, lower case; None if not an origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS[scheme]}"


def _site_origin(scope, headers: dict[bytes, bytes]) -> str | None:
    host = headers.get(b"host", b"").decode("latin1").strip()
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") in ("wss", "https")
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        # Django's rule (HttpRequest.is_secure): the header the proxy sets decides, when configured.
        name, value = proxy
        forwarded = headers.get(name.removeprefix("HTTP_").lower().replace("_", "-").encode())
        if forwarded is not None:
            secure = forwarded.decode("latin1").split(",")[0].strip() == value
    return _normalized(f"{'https' if secure else 'http'}://{host}")


def origin_allowed(scope) -> bool:
    headers = dict(scope.get("headers", []))
    origin = headers.get(b"origin")
    if origin is None:
        scheme, _, key = headers.get(b"authorization", b"").decode("latin1").partition(" ")
        return scheme.lower() == "token" and bool(key.strip())
    given = _normalized(origin.decode("latin1"))
    if given is None:
        return False  # "null" (sandboxed frames, file: pages), "" or anything that is not an origin
    if given == _site_origin(scope, headers):
        return True
    return given in {_normalized(o) for o in settings.CSRF_TRUSTED_ORIGINS}


class ExactOriginValidator:
    """ASGI middleware in front of the socket routes: refuses a socket whose Origin is not this site's."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
