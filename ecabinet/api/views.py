"""Authentication for API clients: ``POST /api/v1/auth/token``."""

import math

from django.contrib.auth import authenticate
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from ecabinet import audit, limits, mfa
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
    otp = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                help_text="A current TOTP code or a recovery code; required when the account has a "
                                          "second factor (else 401 mfa_required).")


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginThrottle]

    def throttled(self, request, wait):
        raise LoginRateLimited(wait)

    @extend_schema(request=Credentials, responses=inline_serializer("TokenOut", {"token": serializers.CharField()}),
                   summary="Exchange a username and password (and a second-factor code) for an API token",
                   description="401 invalid_credentials: wrong username or password. 401 mfa_required: the account "
                               "has a second factor and `otp` is missing or wrong. 401 mfa_enrolment_required: "
                               "MFA_ENFORCE is on and the account must first set up a second factor.")
    def post(self, request):
        serializer = Credentials(data=request.data)
        serializer.is_valid(raise_exception=True)
        otp = serializer.validated_data.pop("otp", None)
        user = authenticate(request._request, **serializer.validated_data)
        if user is None or not user.is_active:
            return error_response("invalid_credentials", "The username or password is wrong.", 401)
        # Issue 15: the second factor, after the password and before any token.
        refusal = mfa.token_refusal(user, otp)
        if refusal is not None:
            return error_response(*refusal)
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
