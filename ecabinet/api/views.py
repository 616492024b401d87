"""Authentication for API clients: ``POST /api/v1/auth/token``."""

import math

from django.contrib.auth import authenticate
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from ecabinet import devices, limits
from ecabinet.errors import DomainError

from .errors import error_response


class LoginThrottle(AnonRateThrottle):
    """20 attempts a minute per client address. The address is REMOTE_ADDR, or behind the cluster's
    nginx (``API_NUM_PROXIES=1``, REST_FRAMEWORK's ``NUM_PROXIES``) the last X-Forwarded-For entry,
    the one nginx wrote: before, the whole header was the key, so a caller changing it got a fresh
    budget each time. Per-account lockout and the screens' login are issue 15."""

    rate = "20/min"


class LoginRateLimited(DomainError):
    """Too many sign-in attempts from one address: 429 ``rate_limited`` with ``Retry-After``, as
    ``ecabinet.limits.RateLimited`` (the same code and header; the sentence names sign-in)."""

    status = 429
    code = limits.CODE

    def __init__(self, wait: float | None) -> None:
        self.retry_after = max(1, math.ceil(wait or 1))
        super().__init__(gettext("Too many sign-in attempts from your address in a short time. "
                                 "Please try again in %(wait)s.") % {"wait": limits.wait_phrase(self.retry_after)})


class Credentials(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    device = serializers.CharField(max_length=devices.DEVICE_NAME_MAX, required=False, allow_blank=True)


TokenOut = inline_serializer("TokenOut", {"token": serializers.CharField(), "device_id": serializers.IntegerField(),
                                          "expires_at": serializers.DateTimeField()})


class TokenView(APIView):
    """Credentials → authenticate → (second factor) → a new device and its token. Each step is a
    method of its own, so that a second factor or a lockout slots in between."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginThrottle]

    def throttled(self, request, wait):
        raise LoginRateLimited(wait)

    @extend_schema(request=Credentials, responses=TokenOut,
                   summary="Exchange a username and password for the token of a new device")
    def post(self, request):
        serializer = Credentials(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = self.authenticate(request, data)
        if user is None:
            return error_response("invalid_credentials", gettext("The username or password is wrong."), 401)
        return self.issue(request, user, data)

    @staticmethod
    def authenticate(request, data):
        user = authenticate(request._request, username=data["username"], password=data["password"])
        return user if user is not None and user.is_active else None

    @staticmethod
    def issue(request, user, data) -> Response:
        name = (data.get("device") or "").strip() or request.META.get("HTTP_USER_AGENT", "").strip()
        device, token = devices.issue_device(user=user, name=name[:devices.DEVICE_NAME_MAX])
        return Response({"token": token, "device_id": device.pk, "expires_at": device.expires_at})


class UnknownPathView(APIView):
    """Any other path under /api/v1/: the error format, not an HTML page."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return error_response("not_found", "There is no such API path.", 404)

    post = put = patch = delete = get
