"""Second-factor enrolment over the API: ``POST /api/v1/auth/mfa/totp/`` and ``.../totp/confirm/``."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import mfa


class CodeIn(serializers.Serializer):
    code = serializers.CharField(max_length=mfa.MAX_CODE_LENGTH)


class ProofIn(serializers.Serializer):
    password = serializers.CharField(max_length=256, required=False, allow_blank=True, trim_whitespace=False)
    otp = serializers.CharField(max_length=mfa.MAX_CODE_LENGTH, required=False, allow_blank=True)


class TotpStartView(APIView):
    @extend_schema(request=ProofIn, summary="Start setting up an authenticator app (TOTP)",
                   description="Creates an unconfirmed TOTP device (a repeat replaces the unconfirmed one) and "
                               "returns its secret once. 409 totp_already_enrolled when one is already on. "
                               "A token or session older than MFA_REAUTH_SECONDS (10 minutes) must send "
                               "`password` or a current `otp` (else 403 reauthentication_required; wrong "
                               "passwords count toward the account's sign-in lock).",
                   responses=inline_serializer("TotpOut", {"secret": serializers.CharField(),
                                                           "otpauth_uri": serializers.CharField()}))
    def post(self, request):
        proof = ProofIn(data=request.data if isinstance(request.data, dict) else {})
        proof.is_valid(raise_exception=True)
        device = mfa.start_totp(actor=request.user, request=request, password=proof.validated_data.get("password"),
                                code=proof.validated_data.get("otp"))
        return Response({"secret": mfa.secret_b32(device), "otpauth_uri": mfa.otpauth_uri(device)})


class TotpConfirmView(APIView):
    @extend_schema(request=CodeIn, summary="Turn the authenticator app on with a current code",
                   description="400 invalid_code when the code is wrong. Returns the recovery codes once "
                               "(an empty list when the account already had some).",
                   responses=inline_serializer("TotpConfirmOut", {
                       "enabled": serializers.BooleanField(),
                       "recovery_codes": serializers.ListField(child=serializers.CharField())}))
    def post(self, request):
        serializer = CodeIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        codes = mfa.confirm_totp(actor=request.user, code=serializer.validated_data["code"])
        return Response({"enabled": True, "recovery_codes": codes})
