"""The sign-in form of the login screen (the admin login redirects to it, ``ecabinet.mfa_views``):
a refused sign-in says why.

When a lock (``ecabinet.lockout``) refused the attempt, the form's error is the lock's message —
when to try again — instead of "wrong username or password"; it is the same whether the password
was right or not (it was never checked). ``AxesMiddleware`` then answers the page with 429 and
``Retry-After``.
"""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

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
