"""Bounded decoding of PDF streams, for the inspection child (``meetings/pdf_worker.py``): how
many bytes a stream decodes to, measured from its raw bytes without ever producing more than a
cap (``zlib.decompressobj`` with ``max_length``), and ``Refusal`` — the child's one way to say no,
with a machine code. No Django; pikepdf objects in, sizes out.

A Flate stream stops decoding the moment it passes the cap, so a 1 MB → 1 GiB bomb costs the cap's
worth of work. ASCIIHex and ASCII85 are decoded directly; LZW and RunLength only when even their
worst-case expansion fits under the cap; unknown filters are refused; image codecs are never
decoded (only their general layers are measured).
"""

from __future__ import annotations

import zlib

CHUNK = 1 << 20
FLATE = {"/FlateDecode", "/Fl"}
ASCII_HEX = {"/ASCIIHexDecode", "/AHx"}
ASCII_85 = {"/ASCII85Decode", "/A85"}
# Worst-case expansion of the filters we let qpdf decode whole: RunLength repeats one byte at most
# 128 times per two input bytes; an LZW table (4096 codes, restarted at each clear code) emits at
# most ~1,400 bytes per input byte when it is filled with ever longer strings.
EXPANSION = {"/RunLengthDecode": 64, "/RL": 64, "/LZWDecode": 1400, "/LZW": 1400}
IMAGE_CODECS = {"/DCTDecode", "/DCT", "/JPXDecode", "/CCITTFaxDecode", "/CCF", "/JBIG2Decode"}


class Refusal(Exception):
    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def _inflate(data: bytes, cap: int, keep: bool) -> tuple[bytes, int]:
    """Inflate ``data`` without ever producing more than ``cap`` bytes; return what was produced
    (only when ``keep``) and its length."""
    decoder = zlib.decompressobj()
    pending, total, parts = data, 0, []
    while True:
        try:
            chunk = decoder.decompress(pending, CHUNK)
        except zlib.error as exc:
            raise Refusal("pdf_damaged") from exc
        pending = decoder.unconsumed_tail
        total += len(chunk)
        if total > cap:
            raise Refusal("pdf_stream_too_large", limit=cap)
        if keep:
            parts.append(chunk)
        if decoder.eof or not chunk:
            break
    return b"".join(parts), total


def _ascii_hex(data: bytes) -> bytes:
    text = bytes(b for b in data.split(b">", 1)[0] if b not in b" \t\r\n\f\0")
    if len(text) % 2:
        text += b"0"
    try:
        return bytes.fromhex(text.decode("ascii"))
    except ValueError as exc:
        raise Refusal("pdf_damaged") from exc


def _ascii_85(data: bytes) -> bytes:
    import base64

    body = bytes(b for b in data if b not in b" \t\r\n\f\0")
    body = body.removeprefix(b"<~").split(b"~>", 1)[0]
    try:
        return base64.a85decode(body)
    except ValueError as exc:
        raise Refusal("pdf_damaged") from exc


def _filters(stream) -> list[str]:
    import pikepdf

    value = stream.get("/Filter")
    if value is None:
        return []
    items = list(value) if isinstance(value, pikepdf.Array) else [value]
    names = []
    for item in items:
        if not isinstance(item, pikepdf.Name):
            raise Refusal("pdf_damaged")
        names.append(str(item))
    return names


def decoded_size(stream, cap: int) -> int:
    """How many bytes ``stream`` decodes to (up to its image codec, if any), never decoding more
    than ``cap``; ``Refusal`` when it would be more or cannot be bounded."""
    filters = _filters(stream)
    data = stream.read_raw_bytes()
    size = len(data)
    for index, name in enumerate(filters):
        more = index + 1 < len(filters) and filters[index + 1] not in IMAGE_CODECS
        if name in FLATE:
            data, size = _inflate(data, cap, keep=more)
        elif name in ASCII_HEX:
            data = _ascii_hex(data)
            size = len(data)
        elif name in ASCII_85:
            data = _ascii_85(data)
            size = len(data)
        elif name in EXPANSION:
            worst = size
            for later in filters[index:]:
                worst *= EXPANSION.get(later, 1032 if later in FLATE else 1)
            if worst > cap:
                raise Refusal("pdf_unsupported_filter", filter=name.lstrip("/"))
            # Small enough that even the worst expansion of every remaining filter fits: let qpdf
            # decode the whole chain.
            return len(stream.read_bytes())
        elif name in IMAGE_CODECS:
            break
        elif name == "/Crypt":
            raise Refusal("pdf_encrypted")
        else:
            raise Refusal("pdf_unsupported_filter", filter=name.lstrip("/")[:40])
        if size > cap:
            raise Refusal("pdf_stream_too_large", limit=cap)
    return size
