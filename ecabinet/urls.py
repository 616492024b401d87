from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from ecabinet import (
    converters,  # noqa: F401  (registers <id:...>)
    mfa_views,
    pwa,
)
from ecabinet import views as ecabinet_views
from ecabinet.forms import LoginForm

urlpatterns = [
    path("api/v1/", include("ecabinet.api.urls")),
    path("admin/", admin.site.urls),
    path("login/", mfa_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("login/verify/", mfa_views.login_verify, name="login_verify"),
    path("login/verify/passkey/options/", mfa_views.login_passkey_options, name="login_passkey_options"),
    path("login/verify/passkey/", mfa_views.login_passkey, name="login_passkey"),
    path("logout/", pwa.LogoutView.as_view(), name="logout"),
    # The tablet app (issue 17, docs/offline.md): manifest, service worker (scope "/"), offline page.
    path("manifest.webmanifest", pwa.manifest, name="web_manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("offline/", pwa.offline_page, name="offline_page"),
    path("account/security/", mfa_views.security, name="account_security"),
    path("account/security/confirm/", mfa_views.security_confirm, name="account_security_confirm"),
    path("account/security/totp/", mfa_views.security_totp, name="account_security_totp"),
    path("account/security/totp/confirm/", mfa_views.security_totp_confirm, name="account_security_totp_confirm"),
    path("account/security/codes/", mfa_views.security_codes, name="account_security_codes"),
    path("account/security/recovery/", mfa_views.security_recovery, name="account_security_recovery"),
    path("account/security/remove/", mfa_views.security_remove, name="account_security_remove"),
    path("account/security/passkey/options/", mfa_views.security_passkey_options,
         name="account_security_passkey_options"),
    path("account/security/passkey/", mfa_views.security_passkey, name="account_security_passkey"),
    path("account/security/passkey/assert/options/", mfa_views.passkey_assert_options,
         name="account_passkey_assert_options"),
    path("account/devices/", ecabinet_views.account_devices, name="account_devices"),
    path("account/devices/<id:pk>/revoke/", ecabinet_views.account_device_revoke, name="account_device_revoke"),
    path("account/password/", ecabinet_views.AccountPasswordView.as_view(), name="account_password"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("ballots/", include("voting.urls")),
    path("", include("followup.urls")),
    path("", include("followup.dashboard_urls")),
    path("", include("records.urls")),
    path("", include("meetings.urls")),
]
