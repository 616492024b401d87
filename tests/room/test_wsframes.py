"""``hotpath.wsframes``: the frames built once per text are the bytes autobahn would send, and the
direct write keeps order with what Twisted already holds for the socket."""

from __future__ import annotations

import socket

import pytest
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import tcp
from twisted.internet.testing import StringTransport

from hotpath import wsframes


def autobahn_protocol(transport):
    factory = WebSocketServerFactory()
    factory.protocol = WebSocketServerProtocol
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(transport)
    protocol.state, protocol.websocket_version = protocol.STATE_OPEN, 13
    return protocol


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 4000, 65535, 65536, 200_000])
def test_a_frame_is_what_autobahn_sends_for_the_same_text(size):
    transport = StringTransport()
    protocol = autobahn_protocol(transport)
    payload = ("Nghị quyết " * (size // 10 + 1)).encode()[:size]
    protocol.sendMessage(payload, False)
    assert wsframes.frame(payload) == transport.value()


class FakeDaphne:
    """What write_text needs of Daphne's protocol, over a real Twisted TCP connection."""

    STATE_OPEN, STATE_CLOSED = 1, 3

    def __init__(self, transport) -> None:
        self.transport = transport
        self.state = self.STATE_OPEN
        self._perMessageCompress = None
        self.send_queue: list = []
        self.maxMessagePayloadSize = 0
        self.autoFragmentSize = 0
        self.sent_by_autobahn: list[str] = []

    def serverSend(self, text, binary):
        self.sent_by_autobahn.append(text)


def connection_pair():
    server, client = socket.socketpair()
    server.setblocking(False)
    connection = tcp.Connection(server, protocol=None)
    connection.connected = True
    return connection, client


def read_all(client, size: int) -> bytes:
    client.settimeout(5)
    data = b""
    while len(data) < size:
        data += client.recv(size - len(data))
    return data


def test_it_sends_at_once_when_twisted_holds_nothing_and_queues_behind_what_it_holds(monkeypatch):
    connection, client = connection_pair()
    monkeypatch.setattr(connection, "startWriting", lambda: None)  # no reactor here
    protocol = FakeDaphne(connection)
    wsframes.write_text(protocol, "một")
    assert not connection._tempDataBuffer  # went straight to the socket
    connection.write(b"held by twisted")
    wsframes.write_text(protocol, "hai")  # must not overtake what Twisted holds
    assert connection._tempDataBuffer == [b"held by twisted", wsframes.frame(b"hai")]
    first = wsframes.frame("một".encode())
    assert read_all(client, len(first)) == first
    client.close()


def test_it_leaves_unusual_sockets_to_autobahn():
    connection, client = connection_pair()
    protocol = FakeDaphne(connection)
    protocol._perMessageCompress = object()  # compression negotiated: autobahn frames it
    wsframes.write_text(protocol, "ba")
    protocol._perMessageCompress, protocol.send_queue = None, [(b"x", True)]  # autobahn has a queue
    wsframes.write_text(protocol, "bốn")
    protocol.send_queue, protocol.autoFragmentSize = [], 3  # would be fragmented
    wsframes.write_text(protocol, "năm")
    assert protocol.sent_by_autobahn == ["ba", "bốn", "năm"]
    client.close()
