"""Screens of the core app: the user's notifications, devices and password."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordChangeView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from . import devices, permissions, services
from .forms import PasswordForm
from .models import Device, Notification

PAGE_SIZE = 100


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The newest notices first. Opening the page marks them read; those unread until now stay
    highlighted on this rendering."""
    notices = list(Notification.objects.filter(user=request.user).order_by("-created_at", "-id")[:PAGE_SIZE])
    if notices:
        services.notifications_mark_read(user=request.user, up_to_id=max(n.pk for n in notices))
    return render(request, "ecabinet/notifications.html", {"notices": notices})


# --- Devices and password (issue 15, area "devices") -----------------------------------------------

def _owner_or_404(request: HttpRequest):
    from ecabinet.api.account import owner_for
    from ecabinet.errors import NotFound

    try:
        return owner_for(request.user, (request.GET.get("user") or request.POST.get("user") or "").strip()[:150])
    except NotFound as exc:
        raise Http404 from exc


@login_required
@require_http_methods(["GET"])
def account_devices(request: HttpRequest) -> HttpResponse:
    """The signed-in devices (API tokens) of the caller, with a revoke button each; the secretariat
    looks up another account's with ``?user=<username>`` (a member's lost tablet)."""
    owner = _owner_or_404(request)
    return render(request, "ecabinet/devices.html", {
        "owner": owner, "devices": list(devices.live_devices(owner)),
        "may_look_up": permissions.may_look_up_devices(request.user)})


@login_required
@require_POST
def account_device_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    from ecabinet.errors import NotFound

    device = Device.objects.select_related("user").filter(pk=pk).first()
    if device is None:
        raise Http404
    try:
        devices.revoke_device(actor=request.user, device=device)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, gettext("The device “%(name)s” is signed out.") % {"name": device.name})
    target = reverse("account_devices")
    if device.user_id != request.user.pk:
        target += "?" + urlencode({"user": device.user.username})
    return redirect(target)


class AccountPasswordView(PasswordChangeView):
    """Changing one's own password (Django's form: the old password and the project's validators).
    Every other session and device of the account ends; this session stays."""

    template_name = "ecabinet/password.html"
    success_url = reverse_lazy("account_password")
    form_class = PasswordForm

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.request = self.request
        return form

    def form_valid(self, form):
        devices.change_password(user=form.user, actor=self.request.user,
                                new_password=form.cleaned_data["new_password1"],
                                keep_session_key=self.request.session.session_key)
        update_session_auth_hash(self.request, form.user)
        devices.remember_session(user=form.user, session=self.request.session)
        messages.success(self.request, gettext("Your password is changed. Your other sessions and devices are "
                                               "signed out."))
        return redirect(self.get_success_url())
