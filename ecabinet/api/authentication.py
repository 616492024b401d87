"""``Authorization: Token <key>`` for the API, resolved against the hashed device tokens
(``ecabinet.devices``). DRF's ``TokenAuthentication`` parses the header (the scheme clients use);
the lookup is by the token's digest, and a refused token answers 401 ``invalid_token`` or
``token_expired`` with a sentence saying so."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from ecabinet import devices


class TokenRefused(exceptions.AuthenticationFailed):
    """DRF's 401 (with ``WWW-Authenticate: Token``), carrying our machine code."""

    def __init__(self, code: str) -> None:
        super().__init__(devices.token_message(code), code)
        self.error_code = code


class DeviceTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        try:
            user, device = devices.authenticate_token(key)
        except devices.TokenRefused as refused:
            raise TokenRefused(refused.code) from None
        return user, device
