from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)

from .account import DeviceRevokeView, DevicesView, LogoutView, PasswordView
from .mfa import TotpConfirmView, TotpStartView
from .views import TokenView, UnknownPathView

urlpatterns = [
    path("auth/token", TokenView.as_view(), name="api_token"),
    path("auth/devices/", DevicesView.as_view(), name="api_devices"),
    path("auth/devices/<id:pk>/revoke/", DeviceRevokeView.as_view(), name="api_device_revoke"),
    path("auth/logout/", LogoutView.as_view(), name="api_logout"),
    path("auth/password/", PasswordView.as_view(), name="api_password"),
    path("auth/mfa/totp/", TotpStartView.as_view(), name="api_mfa_totp"),
    path("auth/mfa/totp/confirm/", TotpConfirmView.as_view(), name="api_mfa_totp_confirm"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("", include("meetings.api_urls")),
    path("", include("records.api_urls")),
    path("", include("voting.api_urls")),
    path("", include("followup.api_urls")),
    re_path(r"^.*$", UnknownPathView.as_view(), name="api_unknown_path"),
]
