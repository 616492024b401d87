"""Every private or undocumented attribute of Django, Twisted, autobahn, Daphne and Channels that
the hot path relies on, in one list, and ``missing()``: those the installed versions no longer have.

When one of them goes, a guard of this package would turn itself off or misbehave without a word
(the slow-reader guard reads Twisted's buffers, the direct writes check autobahn's state, the body
cap replaces Daphne's request class). ``missing()`` runs as a system check (``hotpath.E001``, tagged
``security``, so ``ecabinet.asgi`` refuses to start the server) and in ``tests/hotpath``. An
upgrade that fails it: read the new code of the named class, adapt the module in ``used_by``, then
this list.

An attribute counts as present when the class (or module) has it, or when the source of the class
or one of its bases assigns it on ``self`` (instance attributes, set in ``__init__``); ``check``
entries test something more particular (a code object's names, a signature's parameter).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PRIVATES", "Private", "missing"]


@dataclass(frozen=True)
class Private:
    owner: str  # "package.module:Class" or "package.module"
    name: str
    used_by: str
    check: Callable[[object], bool] | None = None  # given the owner; default: the attribute exists

    def __str__(self) -> str:
        return f"{self.owner}.{self.name} (used by {self.used_by})"


def _names_in(method: str, name: str) -> Callable[[object], bool]:
    """The owner's ``method`` still reads the global ``name``."""
    return lambda owner: name in getattr(owner, method).__code__.co_names


def _parameter(name: str) -> Callable[[object], bool]:
    return lambda owner: name in inspect.signature(owner.__init__).parameters


def _source_has(text: str) -> Callable[[object], bool]:
    return lambda owner: text in _source(owner)


_TCP = "twisted.internet.tcp:Connection"
_WS = "autobahn.websocket.protocol:WebSocketProtocol"
_GUARD = "hotpath.daphne_guard"
_FRAMES = "hotpath.wsframes"

PRIVATES: tuple[Private, ...] = (
    # The direct writes and the slow-reader guard (hotpath.wsframes): Twisted's TCP buffers.
    *(Private(_TCP, name, _FRAMES) for name in (
        "TLS", "connected", "disconnecting", "_writeDisconnected", "_tempDataBuffer", "_tempDataLen", "dataBuffer",
        "offset", "writeSomeData")),
    # ... autobahn's state of the socket, and its close frame (hotpath.wsframes).
    *(Private(_WS, name, _FRAMES) for name in (
        "state", "STATE_OPEN", "_perMessageCompress", "send_queue", "sendCloseFrame")),
    *(Private(_WS, name, _FRAMES, _source_has(f'"{name}"'))
      for name in ("maxMessagePayloadSize", "autoFragmentSize")),
    Private("daphne.ws_protocol:WebSocketProtocol", "serverSend", _FRAMES),
    # ... Daphne's protocol, found under a consumer's send: partial(handle_reply, protocol), wrapped
    # by Channels' session middleware (real_send).
    Private("daphne.server:Server", "create_application", _FRAMES,
            _source_has("partial(self.handle_reply, protocol)")),
    Private("channels.sessions:InstanceSessionWrapper", "real_send", _FRAMES),
    # ... a handshake dropped while it waited for admission (hotpath.admission): the same attributes.
    *(Private(_WS, name, "hotpath.admission") for name in ("state", "STATE_CLOSED")),
    *(Private(_TCP, name, "hotpath.admission") for name in ("connected", "disconnecting")),
    # The body cap inside Daphne (hotpath.daphne_guard): Daphne's request class, by module name.
    Private("daphne.http_protocol", "WebRequest", _GUARD),
    Private("daphne.http_protocol:HTTPFactory", "buildProtocol", _GUARD, _names_in("buildProtocol", "WebRequest")),
    Private("daphne.server:Server", "root_path", _GUARD),
    Private("twisted.web.http:Request", "__init__", _GUARD, _parameter("parsePOSTFormSubmission")),
    *(Private("twisted.web.http:Request", name, _GUARD) for name in ("gotLength", "handleContentChunk", "process")),
    *(Private("twisted.web.http:HTTPChannel", name, _GUARD) for name in ("_path", "callLater", "setTimeout")),
    *(Private(_TCP, name, _GUARD) for name in ("loseWriteConnection", "abortConnection")),
    # Accepting and reading a storm's connections a few per turn of the loop (hotpath.fairness).
    # ... the accept loop's size, raised by 20 after a full batch (how a full batch is told).
    Private("twisted.internet.tcp:Port", "numberAccepts", "hotpath.fairness",
            _source_has("self.numberAccepts += 20")),
    *(Private("twisted.internet.tcp:Port", name, "hotpath.fairness")
      for name in ("doRead", "startReading", "stopReading", "reactor")),
    *(Private(_TCP, name, "hotpath.fairness")
      for name in ("doRead", "startReading", "stopReading", "connected", "disconnecting")),
    # Django's HTTP handling on a pool (hotpath.http_handler): ASGIHandler's undocumented helpers.
    *(Private("django.core.handlers.asgi:ASGIHandler", name, "hotpath.http_handler")
      for name in ("read_body", "create_request", "chunk_bytes", "chunk_size")),
    Private("concurrent.futures:ThreadPoolExecutor", "_work_queue", "hotpath.http_handler"),
    # The room socket's own __call__ (meetings.consumers), in place of Channels' AsyncConsumer.__call__.
    Private("channels.utils", "await_many_dispatch", "meetings.consumers"),
    *(Private("channels.consumer:AsyncConsumer", name, "meetings.consumers")
      for name in ("channel_layer_alias", "base_send", "dispatch")),
)


def _source(owner) -> str:
    parts = []
    for klass in getattr(owner, "__mro__", (owner,)):
        if klass is object:
            continue
        try:
            parts.append(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
    return "\n".join(parts)


@functools.cache
def _resolve(owner: str):
    module, _, name = owner.partition(":")
    found = importlib.import_module(module)
    return getattr(found, name) if name else found


def _present(private: Private) -> bool:
    try:
        owner = _resolve(private.owner)
    except (ImportError, AttributeError):
        return False
    try:
        if private.check is not None:
            return bool(private.check(owner))
        return hasattr(owner, private.name) or f"self.{private.name} =" in _source(owner) \
            or f"self.{private.name}:" in _source(owner)
    except Exception:  # an owner changed beyond recognition counts as missing
        return False


def missing() -> list[Private]:
    """The relied-on attributes the installed packages no longer have (empty when all is well)."""
    _resolve.cache_clear()
    return [private for private in PRIVATES if not _present(private)]
