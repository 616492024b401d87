"""WebSocket authentication by ``Authorization: Token <key>`` for tablet apps that are not
browsers; browsers use the session cookie (``AuthMiddlewareStack``), which runs first."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin1")
            scheme, _, key = header.partition(" ")
            if scheme.lower() == "token" and key.strip():
                # "auth": the socket's session cookie plays no part (ecabinet.idle, meetings.consumers).
                scope = dict(scope, user=await _user_for_token(key.strip()), auth="token")
        return await super().__call__(scope, receive, send)
