"""``hotpath.daphne_guard``: Daphne's own request refuses a body over its cap as it arrives.

The protocol is the one a real ``daphne.server.Server`` builds for a connection, fed raw bytes over
Twisted's in-memory transport; no application may be started for a refused request. The same guard
in a real Daphne process, with memory measured: ``test_daphne_body_cap``."""

from __future__ import annotations

import pytest
from daphne import http_protocol
from daphne.server import Server
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from ecabinet import asgi  # importing ecabinet.asgi installs the guard
from hotpath import daphne_guard

TOKEN = b"/api/v1/auth/token"
UNUSED = "tcp:port=0:interface=127.0.0.1"  # a Server needs an endpoint; it is never run here


class HalfClosableTransport(StringTransport):
    """Twisted's in-memory transport, which also records a half-close and an abort."""

    write_closed = aborted = False

    def loseWriteConnection(self):
        self.write_closed = True

    def abortConnection(self):
        self.aborted = True


@pytest.fixture
def connection():
    """A connection to Daphne's HTTP factory: (the protocol, its transport, the server)."""
    server = Server(application=asgi.application, endpoints=[UNUSED])
    server.connections = {}
    protocol = http_protocol.HTTPFactory(server).buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
    transport = HalfClosableTransport()
    protocol.makeConnection(transport)
    yield protocol, transport, server
    protocol.connectionLost(None)


def request(path: bytes, headers: dict[bytes, bytes]) -> bytes:
    lines = [b"POST " + path + b" HTTP/1.1", b"Host: 127.0.0.1", *(k + b": " + v for k, v in headers.items())]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def started_applications(server) -> int:
    return sum("application_instance" in details for details in server.connections.values())


def test_daphne_builds_the_guarded_request():
    assert http_protocol.WebRequest is daphne_guard.LimitedWebRequest
    protocol = http_protocol.HTTPFactory(Server(application=None, endpoints=[UNUSED])).buildProtocol(None)
    assert protocol.requestFactory is daphne_guard.LimitedWebRequest


def test_a_content_length_over_the_cap_is_answered_413_from_the_headers(connection, settings):
    protocol, transport, server = connection
    protocol.dataReceived(request(TOKEN, {b"Content-Type": b"application/json", b"Expect": b"100-continue",
                                          b"Content-Length": str(settings.HTTP_MAX_BODY_BYTES + 1).encode(),
                                          b"Cookie": b"django_language=en"}))
    written = transport.value()
    assert written.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in written  # the client is not invited to send the body
    assert b'"code": "request_too_large"' in written and b"at most 1048576 bytes" in written
    assert transport.write_closed
    protocol.dataReceived(b"x" * 1_000_000)  # what the client sends anyway is thrown away
    assert transport.value() == written and started_applications(server) == 0


def test_a_chunked_body_is_cut_at_the_cap(connection, settings):
    protocol, transport, server = connection
    protocol.dataReceived(request(TOKEN, {b"Content-Type": b"application/json", b"Transfer-Encoding": b"chunked"}))
    piece = b"x" * 65536
    chunks = 0
    while not transport.value():
        protocol.dataReceived(b"%x\r\n%s\r\n" % (len(piece), piece))
        chunks += 1
        assert chunks <= 100
    assert chunks == settings.HTTP_MAX_BODY_BYTES // len(piece) + 1  # the first chunk past the cap
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    request_object = protocol._channel.requests[-1]
    assert request_object.content.tell() <= settings.HTTP_MAX_BODY_BYTES  # nothing past the cap was kept
    protocol.dataReceived(b"0\r\n\r\n")
    assert started_applications(server) == 0


def test_an_upload_may_be_as_large_as_a_document(connection, settings):
    protocol, transport, _server = connection
    settings.HTTP_MAX_UPLOAD_BODY_BYTES = 3 * settings.HTTP_MAX_BODY_BYTES
    multipart = {b"Content-Type": b"multipart/form-data; boundary=b", b"Authorization": b"Token " + b"0" * 40}
    protocol.dataReceived(request(b"/api/v1/agenda-items/1/documents/",
                                  {**multipart, b"Content-Length": str(2 * settings.HTTP_MAX_BODY_BYTES).encode()}))
    assert transport.value() == b""  # accepted: the body is awaited
    protocol.dataReceived(b"x" * settings.HTTP_MAX_BODY_BYTES)
    assert transport.value() == b""


@pytest.mark.parametrize("credentials", [{}, {b"Authorization": b"Basic eDp5"}, {b"Cookie": b"sessionid="},
                                         {b"Cookie": b"csrftoken=a; django_language=en"}],
                         ids=["none", "basic", "empty session", "other cookies"])
def test_a_stranger_s_upload_has_the_small_cap(connection, settings, credentials):
    """Only a token or a session cookie opens the upload cap (issue 14: eight 50 MB uploads at once
    from a stranger grew the server by 160 MB)."""
    protocol, transport, _server = connection
    settings.HTTP_MAX_UPLOAD_BODY_BYTES = 3 * settings.HTTP_MAX_BODY_BYTES
    protocol.dataReceived(request(b"/api/v1/agenda-items/1/documents/",
                                  {b"Content-Type": b"multipart/form-data; boundary=b", **credentials,
                                   b"Content-Length": str(2 * settings.HTTP_MAX_BODY_BYTES).encode()}))
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    assert str(settings.HTTP_MAX_BODY_BYTES).encode() in transport.value()


def test_an_upload_over_its_own_cap_is_refused(connection, settings):
    protocol, transport, _server = connection
    settings.HTTP_MAX_UPLOAD_BODY_BYTES = 3 * settings.HTTP_MAX_BODY_BYTES
    protocol.dataReceived(request(b"/api/v1/agenda-items/1/documents/",
                                  {b"Content-Type": b"multipart/form-data; boundary=b",
                                   b"Cookie": b"sessionid=abc",
                                   b"Content-Length": str(3 * settings.HTTP_MAX_BODY_BYTES + 1).encode()}))
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    assert str(3 * settings.HTTP_MAX_BODY_BYTES).encode() in transport.value()


def test_the_refused_connection_is_closed_after_the_linger(connection, settings):
    protocol, transport, _server = connection
    delays = []
    protocol._channel.callLater = lambda delay, function: delays.append((delay, function)) or _Call()
    protocol.dataReceived(request(TOKEN, {b"Content-Length": str(10**12).encode()}))
    assert [d for d, _f in delays] == [settings.HTTP_REFUSED_BODY_LINGER_SECONDS]
    delays[0][1]()
    assert transport.aborted


class _Call:
    def active(self) -> bool:
        return False
