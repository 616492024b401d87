"""Serving a stored file by byte ranges (RFC 9110 §14), so PDF.js loads a long paper page by page.

One range per request (what PDF.js asks for): ``Range: bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` → 206
with ``Content-Range``; a range that cannot be satisfied (starts at or past the end, ends before it
starts, malformed, or a Range header longer than ``READER_RANGE_HEADER_MAX``) → 416 with
``Content-Range: bytes */<size>``; several ranges (``bytes=0-1,5-6``) or another unit → the whole file
(200: the server may ignore a Range header). ``If-Range`` with another ETag → the whole file (200).
``If-None-Match`` with our ETag → 304. The body is streamed from storage in chunks, never read whole.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse

CHUNK = 64 * 1024
_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class Unsatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive, or None for "send the whole file"; raises Unsatisfiable (416)."""
    if not header:
        return None
    if len(header) > settings.READER_RANGE_HEADER_MAX:
        raise Unsatisfiable
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in specs:
        return None
    match = _SPEC.match(specs)
    if not match or (not match.group(1) and not match.group(2)):
        raise Unsatisfiable
    first, last = match.group(1), match.group(2)
    if not first:  # suffix: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise Unsatisfiable
    return start, min(end, size - 1)


def _stream(handle, start: int, length: int):
    try:
        handle.seek(start)
        left = length
        while left > 0:
            block = handle.read(min(CHUNK, left))
            if not block:
                break
            left -= len(block)
            yield block
    finally:
        handle.close()


def ranged_file_response(request, field_file, *, size: int, etag: str, content_type: str,
                         headers: dict[str, str]) -> HttpResponse:
    """The file (or the asked byte range of it) with ``headers`` added to every answer."""
    quoted = f'"{etag}"'
    base = {"Accept-Ranges": "bytes", "ETag": quoted, **headers}
    if quoted in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return _with(HttpResponse(status=304), base)
    header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if header and if_range is not None and if_range.strip() != quoted:
        header = ""  # the client's earlier bytes are of another copy: the whole file
    try:
        span = parse_range(header, size)
    except Unsatisfiable:
        return _with(HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}"}), base)
    start, end = span if span is not None else (0, size - 1)
    length = max(0, end - start + 1)
    handle = field_file.storage.open(field_file.name, "rb")
    if request.method == "HEAD":
        handle.close()
        response = HttpResponse(status=206 if span else 200, content_type=content_type)
    else:
        response = StreamingHttpResponse(_stream(handle, start, length), status=206 if span else 200,
                                         content_type=content_type)
    response["Content-Length"] = str(length)
    if span is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return _with(response, base)


def _with(response: HttpResponse, headers: dict[str, str]) -> HttpResponse:
    for key, value in headers.items():
        response[key] = value
    return response
