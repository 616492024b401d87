"""The raw baseline of a page view: a plain ASGI application served by the same Daphne command as
e-Cabinet (``python -m daphne -b 127.0.0.1 -p PORT bench.baseline_http:application``).

``GET /?bytes=N&type=html|json`` answers 200 with N bytes of that content type, made once per size
and kept: no Django, no routing, no session, no database, no template. What a page view of
e-Cabinet costs above this (same server, same HTTP/1.1 keep-alive clients, same answer size) is
the framework and the application: middleware, authentication, permissions, queries, rendering.
"""

from __future__ import annotations

from urllib.parse import parse_qs

MAX_BYTES = 4 * 2**20
TYPES = {"html": b"text/html; charset=utf-8", "json": b"application/json"}
_BODIES: dict[int, bytes] = {}


def _body(size: int) -> bytes:
    body = _BODIES.get(size)
    if body is None:
        unit = "<p>Phiên họp</p>\n".encode()
        body = _BODIES[size] = (unit * (size // len(unit) + 1))[:size]
    return body


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    try:
        size = min(max(int(query.get("bytes", ["0"])[0]), 0), MAX_BYTES)
    except ValueError:
        size = 0
    kind = TYPES.get(query.get("type", ["html"])[0], TYPES["html"])
    body = _body(size)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
