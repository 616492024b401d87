from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from ecabinet import converters  # noqa: F401  (registers <id:...>)
from ecabinet import views as ecabinet_views
from ecabinet.forms import AdminLoginForm, LoginForm

admin.site.login_form = AdminLoginForm  # a lock's message on the admin login (ecabinet.lockout)

urlpatterns = [
    path("api/v1/", include("ecabinet.api.urls")),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/devices/", ecabinet_views.account_devices, name="account_devices"),
    path("account/devices/<id:pk>/revoke/", ecabinet_views.account_device_revoke, name="account_device_revoke"),
    path("account/password/", ecabinet_views.AccountPasswordView.as_view(), name="account_password"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("ballots/", include("voting.urls")),
    path("", include("meetings.urls")),
]
