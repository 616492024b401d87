"""Writing one event to hundreds of Daphne WebSockets: the frame is built once per text.

Daphne's ``serverSend`` goes through autobahn's ``sendMessage``, ``sendFrame`` and ``sendData``: type
checks, statistics, a header built and the payload copied into a new frame, and a debug log call
whose arguments are formatted whether or not anything is logged — about 60 µs per socket on the
benchmark machine, for bytes that are the same for every tablet that receives the same text. Here
the frame (RFC 6455 §5.2: FIN, text opcode, no mask from a server, the length in 7, 16 or 64 bits)
is made once per text and written straight to each socket's transport.

The shortcut is taken only where it writes exactly what autobahn would write: the connection is
open, no per-message compression was negotiated, autobahn has nothing queued of its own (so order
is kept), and the message is within its size and fragmentation settings. Otherwise the message goes
through ``serverSend`` as usual. ``tests/room/test_wsframes.py`` compares the bytes with autobahn's.

Twisted, for its part, never writes at once: ``transport.write`` buffers the bytes and registers the
socket for writability (an ``epoll_ctl``), the next loop iteration sends them and unregisters it
(another). For 1,000 tablets that bookkeeping cost more than everything else in the fan-out. When
Twisted holds nothing for a plain TCP connection, the frame is sent right away with the
connection's own ``writeSomeData`` (Twisted's send, its error handling), and only what the kernel
did not take is left to Twisted's buffer — as asyncio's transports do. Order holds: bytes go
straight out only when nothing is waiting before them.

``daphne_protocol`` finds Daphne's protocol under a consumer's ``send``; ``buffered_bytes`` says how
much Twisted holds for a socket (the slow-reader guard of ``meetings.consumers``).

``close_with`` closes with a code reserved to the protocol itself (1009 "message too big"). Daphne's
``serverClose`` goes through autobahn's ``sendClose``, which accepts only 1000 and 3000–4999 from an
application: asked for 1009, it raised, Daphne took that for an application error and the client
saw 1011 (issue 14). The close frame is sent with autobahn's ``sendCloseFrame`` instead — the call
autobahn itself makes when a message exceeds its own limit — and the closing handshake (with its
timeout) goes on as usual.
"""

from __future__ import annotations

import functools
import logging
import struct

log = logging.getLogger(__name__)

__all__ = ["buffered_bytes", "close_with", "daphne_protocol", "frame", "write_text"]

_CACHE_LIMIT = 256
_frames: dict[str, bytes] = {}


def frame(payload: bytes) -> bytes:
    """A final, unmasked text frame carrying ``payload``."""
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, length) + payload
    return struct.pack("!BBQ", 0x81, 127, length) + payload


def write_text(protocol, text: str) -> None:
    """Send ``text`` on Daphne's WebSocket ``protocol`` (a ``daphne.ws_protocol.WebSocketProtocol``)."""
    data = _frames.get(text)
    if data is None:
        data = frame(text.encode())
        if len(_frames) >= _CACHE_LIMIT:
            _frames.clear()
        _frames[text] = data
    size = len(data)
    if (protocol.state != protocol.STATE_OPEN or protocol._perMessageCompress is not None or protocol.send_queue
            or 0 < protocol.maxMessagePayloadSize < size or 0 < protocol.autoFragmentSize < size):
        protocol.serverSend(text, False)
        return
    _write(protocol.transport, data)


def _write(transport, data: bytes) -> None:
    try:
        busy = (transport.TLS or not transport.connected or transport.disconnecting or transport._writeDisconnected
                or transport._tempDataBuffer or len(transport.dataBuffer) != transport.offset)
    except AttributeError:  # not one of Twisted's TCP connections (hotpath.privates lists what is read)
        _lost_private("direct writes", transport)
        busy = True
    if busy:
        transport.write(data)
        return
    sent = transport.writeSomeData(data)
    if not isinstance(sent, int):  # the connection is lost: Twisted's own write path finds out
        transport.write(data)
    elif sent < len(data):
        transport.write(data[sent:])


def daphne_protocol(send):
    """Daphne's WebSocket protocol under the ``send`` callable, found through the session
    middleware's wrapper; None under any other server (or the test communicator), which turns the
    direct writes and the slow-reader guard off."""
    for _ in range(8):
        if isinstance(send, functools.partial):
            protocol = send.args[0] if send.args else None
            if hasattr(protocol, "serverSend") and hasattr(protocol, "STATE_OPEN"):
                return protocol
            _lost_private("Daphne's protocol under send", protocol)
            return None
        send = getattr(getattr(send, "__self__", None), "real_send", None)
        if send is None:
            return None
    return None


def buffered_bytes(transport) -> int | None:
    """Bytes Twisted holds for the socket, not yet taken by the kernel (None if unknown: no
    transport, as under the test communicator; a transport without Twisted's buffers is logged as
    an error, since the slow-reader guard is then off — ``hotpath.privates`` checks them at start)."""
    if transport is None:
        return None
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        _lost_private("slow-reader guard", transport)
        return None


_reported: set[tuple[str, type]] = set()


def _lost_private(what: str, found) -> None:
    """Say once per kind of object that a guard of this module is off (see ``hotpath.privates``)."""
    if (what, type(found)) not in _reported:
        _reported.add((what, type(found)))
        log.error("hotpath: the %s is off: %r lacks the private attributes it reads (hotpath.privates)",
                  what, type(found))


def close_with(protocol, code: int) -> bool:
    """Start the closing handshake with ``code`` on Daphne's ``protocol``; False (nothing done) when
    there is no Daphne protocol or the socket is no longer open (the caller closes the ASGI way)."""
    if protocol is None or protocol.state != protocol.STATE_OPEN:
        return False
    protocol.sendCloseFrame(code=code, isReply=False)
    return True
