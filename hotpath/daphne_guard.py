"""The body cap (``ecabinet.http_limits``) inside Daphne, before the body is kept anywhere.

Why Daphne needs it
-------------------
Daphne's request (``daphne.http_protocol.WebRequest``) is a Twisted ``Request``: Twisted writes the
whole body to a ``BytesIO`` (Content-Length under 100,000) or a temporary file, and only when the
last byte has arrived does Daphne call the application — then reads the file back and puts all of
it, in 8 KiB messages, into the application's queue at once. An ASGI application cannot refuse a
body it has not been called for yet: a 1.5 GB POST to ``auth/token`` was read to the end, then held
in memory whole (249 MB → 1.7 GB, and the freed memory was not given back to the system).

What this does
--------------
``LimitedWebRequest`` is Daphne's request with two of Twisted's hooks watched:

* ``gotLength`` (the headers are in): a Content-Length over the request's cap is answered 413 at
  once, nothing of the body is read;
* ``handleContentChunk`` (each piece of a body, chunked or not): once the bytes received pass the
  cap, 413, and the rest is not kept.

It also turns off Twisted's parsing of form and multipart bodies into ``request.args``, which
Daphne never reads: it read every accepted upload whole into memory once more.

After a 413 the connection is half-closed: what the client goes on sending is read and thrown away
for ``HTTP_REFUSED_BODY_LINGER_SECONDS`` (so that it reads the answer rather than a reset), then the
connection is closed. No application is started for a refused request.

Daphne has no option for its request class (``HTTPFactory.buildProtocol`` names ``WebRequest``), so
``install()`` replaces that module attribute with the subclass; it checks that ``buildProtocol``
still reads the name and refuses to start otherwise, and ``tests/http/test_daphne_guard.py``
drives a real ``HTTPFactory`` protocol and a real Daphne process, so an upgrade of Daphne or Twisted
that bypasses the guard fails the tests. HTTP/2 (Daphne with TLS and the ``h2`` package, not used
here: the proxy speaks HTTP/1.1 to Daphne) has other channels: the guard leaves them to the ASGI
check (``ecabinet.http_limits.BodyLimit``).
"""

from __future__ import annotations

import logging
from io import BytesIO

from daphne import http_protocol
from django.conf import settings
from twisted.web.http import HTTPChannel

from ecabinet import http_limits

log = logging.getLogger(__name__)

__all__ = ["LimitedWebRequest", "install"]


class LimitedWebRequest(http_protocol.WebRequest):
    """Daphne's request, refusing a body over its cap as it arrives (see the module docstring)."""

    body_cap: int | None = None
    body_received = 0
    refused = False
    _linger = None

    def __init__(self, *args, **kwargs):
        # Twisted would read a whole form or multipart body into memory once more, to fill
        # ``request.args``, which Daphne never reads.
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    def gotLength(self, length):
        if not isinstance(self.channel, HTTPChannel):  # HTTP/2: see the module docstring
            super().gotLength(length)
            return
        self.body_cap = http_limits.body_cap(self._path(), self._content_type(), length or 0,
                                             credentials=self._credentials())
        if length is not None and length > self.body_cap:
            self.content = BytesIO()
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.refused:
            return
        if self.body_cap is not None:
            self.body_received += len(data)
            if self.body_received > self.body_cap:
                self.body_cap = http_limits.body_cap(self._path(), self._content_type(), self.body_received,
                                                     credentials=self._credentials())
                if self.body_received > self.body_cap:
                    self._refuse()
                    return
        super().handleContentChunk(data)

    def _path(self) -> str:
        # The request line is the channel's until the body has arrived (``requestReceived``).
        return http_limits.target_path(self.channel._path, self.channel.factory.server.root_path or "")

    def _credentials(self) -> bool:
        """A token or a session cookie in the headers: only then the larger caps (``http_limits``)."""
        return http_limits.has_credentials((self.requestHeaders.getRawHeaders(b"authorization") or [b""])[0],
                                           b"; ".join(self.requestHeaders.getRawHeaders(b"cookie") or []))

    def _content_type(self) -> bytes:
        return (self.requestHeaders.getRawHeaders(b"content-type") or [b""])[0]

    def _refuse(self) -> None:
        self.refused = True
        channel, transport = self.channel, self.channel.transport
        log.info("refused a request body over %s bytes from %s", self.body_cap, transport.getPeer())
        headers, body = http_limits.too_large(b"; ".join(self.requestHeaders.getRawHeaders(b"cookie") or []),
                                              self.body_cap)
        # Twisted sends "100 Continue" after gotLength when asked: not for a refused body.
        self.requestHeaders.removeHeader(b"expect")
        head = b"HTTP/1.1 413 Content Too Large\r\n" + b"".join(name + b": " + value + b"\r\n"
                                                               for name, value in headers)
        transport.write(head + b"\r\n" + body)
        # Whatever comes now is thrown away; the answer is followed by the end of our side.
        channel.dataReceived = _discard
        channel.setTimeout(None)
        if hasattr(transport, "loseWriteConnection"):
            transport.loseWriteConnection()
        self._linger = channel.callLater(settings.HTTP_REFUSED_BODY_LINGER_SECONDS, transport.abortConnection)

    def connectionLost(self, reason):
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)

    def process(self):
        if self.refused:  # never, as the channel no longer parses; kept as a second lock
            return None
        return super().process()


def _discard(data: bytes) -> None:
    return None


def install() -> None:
    """Make Daphne build ``LimitedWebRequest``s. Raises if Daphne no longer builds its requests
    from the module attribute (the guard would silently do nothing)."""
    build = http_protocol.HTTPFactory.buildProtocol
    if "WebRequest" not in build.__code__.co_names:
        raise RuntimeError("daphne.http_protocol.HTTPFactory.buildProtocol no longer uses WebRequest: "
                           "the request body cap (hotpath.daphne_guard) cannot be installed")
    http_protocol.WebRequest = LimitedWebRequest
