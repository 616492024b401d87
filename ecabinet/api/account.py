"""The caller's sign-ins: ``/api/v1/auth/devices/``, ``…/devices/{id}/revoke/``, ``auth/logout/``
and ``auth/password/``. Every rule is in ``ecabinet.devices`` (what ending access does) and
``ecabinet.permissions`` (whose devices one may see)."""

from __future__ import annotations

from django.contrib.auth import get_user_model, logout, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import devices, lockout
from ecabinet.errors import DomainError, NotFound
from ecabinet.models import Device
from ecabinet.permissions import check_may_manage_devices_of

from .idempotency import idempotent


def current_device_id(request) -> int | None:
    return request.auth.pk if isinstance(request.auth, Device) else None


def device_json(device: Device, current_id: int | None) -> dict:
    return {"id": device.pk, "name": device.name, "created_at": device.created_at,
            "last_used_at": device.last_used_at, "expires_at": device.expires_at, "current": device.pk == current_id}


DeviceOut = inline_serializer("DeviceOut", {
    "id": serializers.IntegerField(), "name": serializers.CharField(), "created_at": serializers.DateTimeField(),
    "last_used_at": serializers.DateTimeField(), "expires_at": serializers.DateTimeField(),
    "current": serializers.BooleanField()}, many=True)


def owner_for(actor, username: str | None):
    """The account whose devices ``actor`` asks for: their own, or (the secretariat) another's."""
    if not username:
        return actor
    owner = get_user_model()._default_manager.filter(username=username[:150]).first()
    if owner is None:
        raise NotFound()
    check_may_manage_devices_of(actor, owner)
    return owner


class DevicesView(APIView):
    @extend_schema(responses={200: DeviceOut}, summary="The live devices (API tokens) of the caller, or of "
                   "another account for the secretariat", parameters=[OpenApiParameter("user", str)])
    def get(self, request):
        owner = owner_for(request.user, request.query_params.get("user"))
        current = current_device_id(request)
        return Response([device_json(d, current) for d in devices.live_devices(owner)])


class DeviceRevokeView(APIView):
    @extend_schema(request=None, responses=inline_serializer("Revoked", {"revoked": serializers.IntegerField()}),
                   summary="Sign a device out: its token stops working and its sockets close")
    @idempotent
    def post(self, request, pk: int):
        device = Device.objects.select_related("user").filter(pk=pk).first()
        if device is None:
            raise NotFound()
        devices.revoke_device(actor=request.user, device=device)
        return Response({"revoked": pk})


class LogoutView(APIView):
    @extend_schema(request=None, responses=inline_serializer("LoggedOut", {"logged_out": serializers.BooleanField()}),
                   summary="Sign out the calling device (token) or session")
    @idempotent
    def post(self, request):
        device_id = current_device_id(request)
        if device_id is not None:
            devices.revoke_device(actor=request.user, device=request.auth)
        else:
            logout(request._request)  # ends the session (ecabinet.signals: devices.end_session)
        return Response({"logged_out": True})


class PasswordIn(serializers.Serializer):
    old_password = serializers.CharField(max_length=256, trim_whitespace=False)
    new_password = serializers.CharField(max_length=256, trim_whitespace=False)


class PasswordView(APIView):
    @extend_schema(request=PasswordIn, responses=inline_serializer("PasswordChanged", {
        "changed": serializers.BooleanField(), "devices_signed_out": serializers.IntegerField(),
        "sessions_ended": serializers.IntegerField()}),
        summary="Change one's password; every other session and device of the account ends")
    @idempotent
    def post(self, request):
        data, user = request.prepared, request.user
        try:
            validate_password(data["new_password"], user)
        except DjangoValidationError as refused:
            raise DomainError(" ".join(refused.messages), code="weak_password") from None
        session = request._request.session
        session_key = session.session_key if current_device_id(request) is None else None
        ended = devices.change_password(user=user, actor=user, new_password=data["new_password"],
                                        keep_session_key=session_key, keep_device_id=current_device_id(request))
        if session_key:
            update_session_auth_hash(request._request, user)
            devices.remember_session(user=user, session=session)
        return Response({"changed": True, "devices_signed_out": ended["devices"], "sessions_ended": ended["sessions"]})

    @staticmethod
    def prepare(request) -> dict:
        """Outside the write's transaction (``idempotent``): the current password is checked as a
        sign-in is, and a failure — or the lock it starts, with its audit entry — must stay counted
        when the refusal rolls the write back."""
        serializer = PasswordIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not lockout.check_password(request._request, request.user, serializer.validated_data["old_password"]):
            raise DomainError(gettext("The current password is wrong."), code="wrong_password")
        return serializer.validated_data

    @staticmethod
    def idempotency_fingerprint(request) -> str:
        """Keyed by the site's secret: the stored fingerprint must not let anyone try passwords."""
        raw = request._request
        return salted_hmac("ecabinet.api.password", f"{raw.method} {raw.path}".encode() + raw.body).hexdigest()
