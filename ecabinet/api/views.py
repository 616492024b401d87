"""Authentication for API clients: ``POST /api/v1/auth/token``."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import audit

from .errors import error_response


class Credentials(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    # No throttle: failures (not successes) are counted per account and per address by
    # ecabinet.lockout, inside authenticate(); a lock answers 429 account_locked / rate_limited.
    throttle_classes: list = []

    @extend_schema(request=Credentials, responses=inline_serializer("TokenOut", {"token": serializers.CharField()}),
                   summary="Exchange a username and password for an API token")
    def post(self, request):
        serializer = Credentials(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request._request, **serializer.validated_data)
        if user is None or not user.is_active:
            return error_response("invalid_credentials", "The username or password is wrong.", 401)
        token, _ = Token.objects.get_or_create(user=user)
        audit.record(user, "auth.token_issued", user)
        return Response({"token": token.key})


class UnknownPathView(APIView):
    """Any other path under /api/v1/: the error format, not an HTML page."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return error_response("not_found", "There is no such API path.", 404)

    post = put = patch = delete = get
