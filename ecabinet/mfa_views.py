"""Screens of multi-factor sign-in (issue 15): the two-step login, the admin login, the security page.

Sign-in: the password step (``/login/``, Django's LoginView, the same field names) does not log in a
user who has a second factor: it keeps a *pending* login in the session (the user id, at most
``MFA_PENDING_SECONDS``, at most ``MFA_PENDING_MAX_ATTEMPTS`` wrong codes) and sends them to
``/login/verify/``; only a correct TOTP code, recovery code or passkey there logs the session in.
The admin's login page redirects to the same screens, so the administrator cannot bypass it.
"""

from __future__ import annotations

import json

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecabinet import clock

from . import mfa, passkeys, reauth
from .errors import DomainError

PENDING = "mfa_pending"
NEW_CODES = "mfa_new_codes"
NEW_TOTP = "mfa_new_totp"


# --- the two-step login ---------------------------------------------------------------------------

class LoginView(auth_views.LoginView):
    """The password step. With a second factor: a pending login and the verify step, not a login."""

    def form_valid(self, form):
        user = form.get_user()
        if not mfa.has_second_factor(user):
            return super().form_valid(form)
        self.request.session[PENDING] = {"uid": user.pk, "backend": user.backend, "attempts": 0,
                                         "until": clock.now() + settings.MFA_PENDING_SECONDS,
                                         "next": self.get_success_url()}
        return redirect("login_verify")


def _pending_user(request):
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < clock.now():
        request.session.pop(PENDING, None)
        return None, None
    user = get_user_model().objects.filter(pk=pending["uid"], is_active=True).first()
    return user, pending


def _expired(request) -> HttpResponse:
    messages.error(request, _("The sign-in has expired. Enter your password again."), extra_tags="mfa_expired")
    return redirect("login")


def _complete(request, user, pending) -> str:
    request.session.pop(PENDING, None)
    auth_login(request, user, backend=pending["backend"])
    return pending.get("next") or reverse(settings.LOGIN_REDIRECT_URL)


def _count_failure(request, pending) -> bool:
    """One more wrong second factor; False when the bound is reached (the pending login is dropped)."""
    pending["attempts"] = pending.get("attempts", 0) + 1
    if pending["attempts"] >= settings.MFA_PENDING_MAX_ATTEMPTS:
        request.session.pop(PENDING, None)
        return False
    request.session[PENDING] = pending
    return True


def login_verify(request: HttpRequest) -> HttpResponse:
    user, pending = _pending_user(request)
    if user is None:
        return _expired(request)
    error = None
    if request.method == "POST":
        if mfa.verify_second_factor(user, request.POST.get("otp", "")):
            return redirect(_complete(request, user, pending))
        if not _count_failure(request, pending):
            messages.error(request, _("Too many wrong codes. Enter your password again."), extra_tags="mfa_too_many")
            return redirect("login")
        error = _("The code is not correct or has already been used. Enter a new code.")
    return render(request, "registration/login_verify.html", {
        "error": error, "has_passkey": mfa.has_passkey(user), "has_totp": mfa.factors(user).totp},
        status=400 if error else 200)


@require_POST
def login_passkey_options(request: HttpRequest) -> HttpResponse:
    user, _pending = _pending_user(request)
    if user is None:
        return JsonResponse({"code": "mfa_expired", "detail": _("The sign-in has expired.")}, status=401)
    return HttpResponse(passkeys.authentication_options(request, user), content_type="application/json")


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


@require_POST
def login_passkey(request: HttpRequest) -> HttpResponse:
    user, pending = _pending_user(request)
    if user is None:
        return JsonResponse({"code": "mfa_expired", "detail": _("The sign-in has expired.")}, status=401)
    if passkeys.verify_passkey(request, user, _json_body(request).get("credential")):
        return JsonResponse({"redirect": _complete(request, user, pending)})
    if not _count_failure(request, pending):
        return JsonResponse({"code": "mfa_too_many", "redirect": reverse("login"),
                             "detail": _("Too many failed attempts. Enter your password again.")}, status=401)
    return JsonResponse({"code": "mfa_failed", "detail": _("The passkey was not accepted. Try again.")}, status=401)


def admin_login(request: HttpRequest, extra_context=None) -> HttpResponse:
    """``admin.site.login``: the same two-step sign-in as every screen."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


def signing_factor(request: HttpRequest):
    """The second factor a signing screen sent: a passkey answer (verified now) or a code."""
    passkey = request.POST.get("passkey")
    if passkey:
        return passkeys.passkey_proof(request, request.user, passkey)
    return request.POST.get("otp") or None


@login_required
@require_POST
def passkey_assert_options(request: HttpRequest) -> HttpResponse:
    """Options for a passkey assertion by the signed-in user (signing screens)."""
    return HttpResponse(passkeys.authentication_options(request, request.user), content_type="application/json")


# --- enforcement ----------------------------------------------------------------------------------

ENROLMENT_OPEN = ("/account/security/", "/login/", "/logout/", "/static/", "/i18n/", "/jsi18n/", "/api/v1/auth/")


class MFAEnrolmentMiddleware:
    """With ``MFA_ENFORCE``: a signed-in user who must have a second factor and has none reaches only
    the security page (screens) or gets 403 ``mfa_enrolment_required`` (API on the session)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (settings.MFA_ENFORCE and request.user.is_authenticated and not request.path.startswith(ENROLMENT_OPEN)
                and mfa.needs_enrolment(request.user)):
            detail = _("Your account must use a second factor: set one up under Security first.")
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "mfa_enrolment_required", "detail": detail}, status=403)
            messages.warning(request, detail, extra_tags="mfa_enrolment_required")
            return redirect("account_security")
        return self.get_response(request)


class MFAEnrolmentSocketMiddleware:
    """The same gate for the room's WebSocket (session cookie or token): a user who must enrol first
    connects as nobody, so the consumer refuses them like any stranger."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if settings.MFA_ENFORCE and user is not None and user.is_authenticated:
            from channels.db import database_sync_to_async
            from django.contrib.auth.models import AnonymousUser

            if await database_sync_to_async(mfa.needs_enrolment)(user):
                scope = dict(scope, user=AnonymousUser())
        return await self.inner(scope, receive, send)


# --- the security page ----------------------------------------------------------------------------

def _errors_to_messages(view):
    from functools import wraps

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            messages.error(request, str(exc.message), extra_tags=exc.code)
            return redirect("account_security")

    return wrapper


@login_required
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "account/security.html", {"factors": mfa.factors(request.user),
                                                     "must_enrol": mfa.needs_enrolment(request.user),
                                                     "proven": reauth.recent(request)})


@login_required
@require_POST
@_errors_to_messages
def security_confirm(request: HttpRequest) -> HttpResponse:
    """"Confirm it is you" (password or a current code) before adding a factor: ``reauth.confirm``."""
    reauth.confirm(request, password=request.POST.get("password") or None, code=request.POST.get("otp") or None)
    return redirect("account_security")


def _totp_page(request, device, error=None) -> HttpResponse:
    uri = mfa.otpauth_uri(device)
    return render(request, "account/totp.html", {
        "secret": mfa.secret_b32(device), "qr_svg": segno.make(uri, error="m").svg_inline(scale=5, border=2),
        "error": error}, status=400 if error else 200)


@login_required
@require_POST
@_errors_to_messages
def security_totp(request: HttpRequest) -> HttpResponse:
    """Start: a new unconfirmed device, its secret shown on this response."""
    return _totp_page(request, mfa.start_totp(actor=request.user, request=request))


@login_required
@require_POST
def security_totp_confirm(request: HttpRequest) -> HttpResponse:
    try:
        codes = mfa.confirm_totp(actor=request.user, code=request.POST.get("code", ""))
    except DomainError as exc:
        device = mfa._totp(request.user, confirmed=False)
        if exc.code == "invalid_code" and device is not None:
            return _totp_page(request, device, error=str(exc.message))
        messages.error(request, str(exc.message), extra_tags=exc.code)
        return redirect("account_security")
    messages.success(request, _("The authenticator app is on. It will be asked for at every sign-in."))
    return _show_codes(request, codes)


def _show_codes(request, codes) -> HttpResponse:
    if not codes:
        return redirect("account_security")
    request.session[NEW_CODES] = codes
    return redirect("account_security_codes")


@login_required
def security_codes(request: HttpRequest) -> HttpResponse:
    """The new recovery codes, once: they leave the session as this page renders."""
    codes = request.session.pop(NEW_CODES, None)
    if not codes:
        return redirect("account_security")
    response = render(request, "account/codes.html", {"codes": codes})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@_errors_to_messages
def security_recovery(request: HttpRequest) -> HttpResponse:
    codes = mfa.regenerate_recovery_codes(actor=request.user, request=request,
                                          password=request.POST.get("password") or None,
                                          code=request.POST.get("otp") or None)
    return _show_codes(request, codes)


@login_required
@require_POST
@_errors_to_messages
def security_remove(request: HttpRequest) -> HttpResponse:
    mfa.remove_factor(actor=request.user, request=request, factor=request.POST.get("factor", ""),
                      password=request.POST.get("password") or None, code=request.POST.get("otp") or None)
    messages.success(request, _("The factor was removed."))
    return redirect("account_security")


@login_required
@require_POST
def security_passkey_options(request: HttpRequest) -> HttpResponse:
    return HttpResponse(passkeys.registration_options(request, request.user), content_type="application/json")


@login_required
@require_POST
def security_passkey(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    try:
        _passkey, codes = passkeys.register_passkey(request, actor=request.user, name=str(body.get("name") or ""),
                                               credential=body.get("credential"))
    except DomainError as exc:
        return JsonResponse({"code": exc.code, "detail": str(exc.message)}, status=exc.status)
    messages.success(request, _("The passkey was registered."))
    if codes:
        request.session[NEW_CODES] = codes
        return JsonResponse({"redirect": reverse("account_security_codes")})
    return JsonResponse({"redirect": reverse("account_security")})
