"""The body cap of every HTTP request, enforced while the body streams in, before authentication
and before Django.

The cap of a request
--------------------
``HTTP_MAX_BODY_BYTES`` (1 MiB) for every request, except:

* a ``multipart/form-data`` request to a view marked ``body_limit = "upload"`` (the document,
  version and ballot-document uploads of the API and of the screens): ``HTTP_MAX_UPLOAD_BODY_BYTES``,
  a PDF of ``DOCUMENT_MAX_BYTES`` and the form around it;
* a request to a view marked ``body_limit = "text"`` (saving the minutes' text):
  ``HTTP_MAX_TEXT_BODY_BYTES``.

The larger caps go only to a request that carries credentials: an ``Authorization: Token …``
header or the session cookie (``has_credentials``: the headers are looked at, the database is not;
Django checks them afterwards as for any request). A stranger's request gets the small cap, 413 at
once: issue 14's attacker sent eight 50 MB uploads at once without logging in, and the server's
memory went from 91 to 254 MB and stayed there. A forged token still gets the larger cap, but it is
read once and answered 401, as a member's upload would be read.

The view is looked up (``resolve``) only for a body that is larger than the small cap, so an
ordinary request costs nothing here. A view is marked with the ``body_limit`` decorator (function
views) or a ``body_limit`` class attribute (DRF and class-based views).

Where it is enforced
--------------------
Twice, on purpose:

1. In the server (``hotpath.daphne_guard``): Daphne's request, a Twisted one, writes the whole
   body to memory or a temporary file and only then calls the application, which then gets all of
   it at once in its queue. The guard answers 413 from the headers (Content-Length over the cap) or
   when the streamed (chunked) body passes the cap, before a byte more is kept.
2. In front of the ASGI application (``BodyLimit`` here), for any other server and for tests: a
   Content-Length over the cap is answered 413 without reading the body; a body that grows past
   the cap is cut there: the application behind is told the client went away
   (``http.disconnect``, Django then drops what it read), and the caller gets the 413.

Either way the answer is ``413 {"code": "request_too_large", "detail": …}``, in the caller's
language (the ``django_language`` cookie, as ``ecabinet.middleware``).
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext as _

from ecabinet import hardening
from ecabinet.middleware import chosen_language

__all__ = ["BodyLimit", "body_cap", "body_limit", "has_credentials", "too_large"]

CODE = "request_too_large"
_LIMITS = {"upload": "HTTP_MAX_UPLOAD_BODY_BYTES", "text": "HTTP_MAX_TEXT_BODY_BYTES"}


def body_limit(kind: str):
    """Mark a function view as taking a larger body: ``"upload"`` (multipart uploads) or ``"text"``."""
    if kind not in _LIMITS:
        raise ValueError(f"body_limit: {kind!r} is not one of {sorted(_LIMITS)}")

    def mark(view):
        view.body_limit = kind
        return view

    return mark


def has_credentials(authorization: bytes | str | None, cookie: bytes | str | None) -> bool:
    """Whether a request carries credentials: a ``Token`` authorization or a session cookie (not
    checked here: their presence only, so that a stranger never gets the larger caps)."""
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin1")
    if authorization and authorization.split(None, 1)[0].lower() == "token" and len(authorization.split()) == 2:
        return True
    if isinstance(cookie, bytes):
        cookie = cookie.decode("latin1")
    return bool(cookie) and bool(parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME))


def body_cap(path: str, content_type: bytes | str = b"", length: int | None = None, *,
             credentials: bool = False) -> int:
    """The most bytes a request to ``path`` with this Content-Type may carry. With ``length`` (what
    was declared or read so far) the view is looked up only if ``length`` is over the small cap.
    Without ``credentials`` (``has_credentials``) it is always the small cap."""
    small = settings.HTTP_MAX_BODY_BYTES
    if (length is not None and length <= small) or not credentials:
        return small
    kind = _kind_of(path)
    if kind == "upload":
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin1")
        if content_type.split(";")[0].strip().lower() == "multipart/form-data":
            return max(small, settings.HTTP_MAX_UPLOAD_BODY_BYTES)
    elif kind == "text":
        return max(small, settings.HTTP_MAX_TEXT_BODY_BYTES)
    return small


def _kind_of(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view = match.func
    owner = getattr(view, "cls", None) or getattr(view, "view_class", None)
    return getattr(view, "body_limit", None) or getattr(owner, "body_limit", None)


def target_path(target: bytes, root_path: str = "") -> str:
    """The path Django resolves for a raw request target (``/a%20b?q``, or an absolute URL)."""
    path = unquote(urlsplit(target.decode("latin1")).path)
    return path.removeprefix(root_path) if root_path else path


def too_large_detail(limit: int, language: str) -> str:
    with translation.override(language):
        return _("The request is too large: at most %(limit)s bytes are accepted here.") % {"limit": limit}


def too_large(cookie_header: bytes | str, limit: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The 413's headers and body, in the language of the caller's cookies."""
    if isinstance(cookie_header, bytes):
        cookie_header = cookie_header.decode("latin1")
    language = chosen_language(parse_cookie(cookie_header))
    detail = too_large_detail(limit, language)
    body = json.dumps({"code": CODE, "detail": detail}, ensure_ascii=False).encode()
    headers = [(b"Content-Type", b"application/json"), (b"Content-Length", str(len(body)).encode()),
               (b"Content-Language", language.encode()), (b"Connection", b"close"),
               *hardening.raw_headers(secure=False)]  # HSTS: nginx's, on the TLS side
    return headers, body


class BodyLimit:
    """ASGI middleware: the body cap of every HTTP request (see the module docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        path = scope["path"].removeprefix(scope.get("root_path") or "")
        content_type = headers.get(b"content-type", b"")
        declared = _declared_length(headers.get(b"content-length"))
        credentials = has_credentials(headers.get(b"authorization"), headers.get(b"cookie"))
        cap = body_cap(path, content_type, declared if declared is not None else 0, credentials=credentials)
        if declared is not None and declared > cap:
            await _refuse(send, headers, cap)
            return
        state = {"read": 0, "cap": cap, "cut": False, "started": False}

        async def limited_receive():
            if state["cut"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > state["cap"]:
                    state["cap"] = body_cap(path, content_type, state["read"], credentials=credentials)
                if state["read"] > state["cap"]:
                    state["cut"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["cut"]:
                return  # the caller gets the 413, whatever the application does after the cut
            state["started"] = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if state["cut"] and not state["started"]:
            await _refuse(send, headers, state["cap"])


def _declared_length(value: bytes | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


async def _refuse(send, headers: dict, cap: int) -> None:
    response_headers, body = too_large(headers.get(b"cookie", b""), cap)
    await send({"type": "http.response.start", "status": 413, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})
