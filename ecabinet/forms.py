"""The sign-in form of the login screen (the admin login redirects to it, ``ecabinet.mfa_views``):
a refused sign-in says why.

When a lock (``ecabinet.lockout``) refused the attempt, the form's error is the lock's message —
when to try again — instead of "wrong username or password"; it is the same whether the password
was right or not (it was never checked). ``AxesMiddleware`` then answers the page with 429 and
``Retry-After``.
"""

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm

from . import lockout


class _LockoutMessage:
    error_code = "invalid_login"

    def get_invalid_login_error(self) -> forms.ValidationError:
        lock = lockout.lock_of(self.request)
        if lock is None:
            return super().get_invalid_login_error()
        self.error_code = lock.code
        return forms.ValidationError(str(lock.message), code=lock.code)


class LoginForm(_LockoutMessage, AuthenticationForm):
    """The login screen's form."""


class PasswordForm(PasswordChangeForm):
    """Changing one's own password: the current one is checked as a sign-in is (``lockout.check_password``),
    so a stolen session cannot guess it without limit."""

    request = None  # set by the view

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        try:
            right = lockout.check_password(self.request, self.user, old)
        except lockout.AccountLocked as locked:
            raise forms.ValidationError(str(locked.message), code=locked.code) from None
        if not right:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old
