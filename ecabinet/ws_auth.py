"""WebSocket authentication by ``Authorization: Token <key>`` for tablet apps that are not
browsers; browsers use the session cookie (``AuthMiddlewareStack``, which runs first; a Token header
overrides it).

A socket is known by the credential it was opened with (``credential_of``): ``d<device id>`` for a
token (``scope["device_id"]``), ``s<sid>`` for a browser session (``ecabinet.devices``). When that
credential's access ends, ``ecabinet.realtime`` closes the socket (4401); ``still_valid`` is checked
once the socket listens for that, so an access ended meanwhile is not missed, and again at most once a
minute on a heartbeat (a browser session going idle or past its maximum age)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from ecabinet import devices, idle


@database_sync_to_async
def _user_for_token(key: str):
    try:
        user, device = devices.authenticate_token(key)
    except devices.TokenRefused:
        return AnonymousUser(), None
    return user, device.pk


class TokenAuthMiddleware(BaseMiddleware):
    """A socket that sends ``Authorization: Token`` is authenticated by that token alone, whatever
    cookie it also sends: browsers cannot set that header on a WebSocket, so it is a tablet app, and
    such a socket may omit its Origin (``ecabinet.ws_origin``) — the session cookie must then open
    nothing. An unknown, revoked or expired token is anonymous (refused by the room)."""

    async def __call__(self, scope, receive, send):
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin1")
        scheme, _, key = header.partition(" ")
        if scheme.lower() == "token" and key.strip():
            user, device_id = await _user_for_token(key.strip())
            # "auth": the socket's session cookie plays no part (ecabinet.idle, meetings.consumers).
            scope = dict(scope, user=user, device_id=device_id, auth="token")
        return await super().__call__(scope, receive, send)


def credential_of(scope) -> str:
    if scope.get("device_id"):
        return devices.device_credential(scope["device_id"])
    session = scope.get("session")
    return devices.session_credential(session.get(devices.SID_KEY) if session is not None else None)


def still_valid(scope, *, activity: bool = False) -> bool:
    """Whether the device or browser session the socket was opened with still opens the account
    (sync: through ``database_sync_to_async``). A device: not revoked, not expired. A session: signed
    in, not expired, not idle, same user and password (``idle.session_alive``; with ``activity``, a
    heartbeat of the open room, it renews the session's last-seen mark)."""
    if scope.get("device_id"):
        return devices.device_live(scope["device_id"])
    session, user = scope.get("session"), scope.get("user")
    return idle.session_alive(getattr(session, "session_key", None), getattr(user, "pk", None), activity=activity)
