"""Calling the server's ASGI applications in tests as Daphne calls them: one request's messages in,
the answer's messages out."""

from __future__ import annotations

import asyncio
import json


def scope(path: str, *, method: str = "GET", query: str = "", headers: list | None = None,
          scheme: str = "http") -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": scheme, "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}


async def call(app, path: str, *, query: str = "", body: bytes = b"", method: str = "GET",
               headers: list | None = None) -> dict:
    """One request; the status, the headers (lower-case names; repeated ones joined with ", "), the
    body, its JSON when it is JSON, and how many body messages came."""
    sent = [{"type": "http.request", "body": body, "more_body": False}]
    messages = []

    async def receive():
        if sent:
            return sent.pop()
        await asyncio.sleep(3600)

    async def send(message):
        messages.append(message)

    if body and not any(name == b"content-length" for name, _v in headers or ()):
        headers = [*(headers or []), (b"content-length", str(len(body)).encode())]  # as Daphne gives it
    await app(scope(path, method=method, query=query, headers=headers), receive, send)
    start = messages[0]
    names: dict[str, str] = {}
    for name, value in start["headers"]:
        key = name.decode().lower()
        names[key] = f"{names[key]}, {value.decode()}" if key in names else value.decode()
    content = b"".join(m.get("body", b"") for m in messages[1:])
    try:
        data = json.loads(content) if content else None
    except ValueError:
        data = None
    return {"status": start["status"], "headers": names, "body": content, "json": data, "parts": len(messages) - 1}


def post_json(app, path: str, data, *, headers: list | None = None) -> dict:
    """A JSON POST, run to its answer."""
    return asyncio.run(call(app, path, method="POST", body=json.dumps(data).encode(),
                            headers=[(b"content-type", b"application/json"), *(headers or [])]))
