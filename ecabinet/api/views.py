"""Authentication for API clients: ``POST /api/v1/auth/token``."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import devices, lockout, mfa

from .errors import error_response


class Credentials(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    device = serializers.CharField(max_length=devices.DEVICE_NAME_MAX, required=False, allow_blank=True)
    otp = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                help_text="A current TOTP code or a recovery code; required when the account has a "
                                          "second factor (else 401 mfa_required).")


TokenOut = inline_serializer("TokenOut", {"token": serializers.CharField(), "device_id": serializers.IntegerField(),
                                          "expires_at": serializers.DateTimeField()})


class TokenView(APIView):
    """Credentials → authenticate → (second factor) → a new device and its token. Each step is a
    method of its own, so that a second factor or a lockout slots in between."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    # No throttle: failures (not successes) are counted per account and per address by
    # ecabinet.lockout, inside authenticate(); a lock answers 429 account_locked / rate_limited.
    throttle_classes: list = []

    @extend_schema(request=Credentials, responses=TokenOut,
                   summary="Exchange a username and password (and a second-factor code) for the token of a new device",
                   description="401 invalid_credentials: wrong username or password. 401 mfa_required: the account "
                               "has a second factor and `otp` is missing or wrong. 401 mfa_enrolment_required: "
                               "MFA_ENFORCE is on and the account must first set up a second factor. 429 "
                               "account_locked / rate_limited: too many failures for the account or the address.")
    def post(self, request):
        serializer = Credentials(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = self.authenticate(request, data)
        if user is None:
            return error_response("invalid_credentials", gettext("The username or password is wrong."), 401)
        # The second factor, after the password and before any token (ecabinet.mfa).
        refusal = mfa.token_refusal(user, data.get("otp"))
        if refusal is not None:
            return error_response(*refusal)
        return self.issue(request, user, data)

    @staticmethod
    def authenticate(request, data):
        user = authenticate(request._request, username=data["username"], password=data["password"])
        return user if user is not None and user.is_active else None

    @staticmethod
    def issue(request, user, data) -> Response:
        name = (data.get("device") or "").strip() or request.META.get("HTTP_USER_AGENT", "").strip()
        device, token = devices.issue_device(user=user, name=name[:devices.DEVICE_NAME_MAX])
        lockout.signed_in(user)
        return Response({"token": token, "device_id": device.pk, "expires_at": device.expires_at})


class UnknownPathView(APIView):
    """Any other path under /api/v1/: the error format, not an HTML page."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return error_response("not_found", "There is no such API path.", 404)

    post = put = patch = delete = get
