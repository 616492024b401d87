"""What every screen shares: turning domain errors into messages, and finding where to go back to.

Screens translate ``DomainError`` in one place, like ``ecabinet.api.errors`` does for the API:

* ``NotFound`` becomes ``Http404`` — the same page for a thing that is missing and one the caller
  may not see;
* any other ``DomainError`` becomes an error message (the sentence, with the machine code kept as
  the message's extra tag, rendered as ``data-code``) and a redirect back to the page the form was
  on. The service ran in its own transaction, so nothing was changed.

The screens of every app use it (``meetings``, ``voting``, ``records``); the session-specific look-ups
(``access_or_404`` and the like) are in ``meetings.views.common``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from .errors import DomainError, NotFound

__all__ = ["domain_errors", "report_error", "report_form_errors", "safe_next"]


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` field of the form (or the referring page) if it is on this site, else ``default``."""
    for candidate in (request.POST.get("next"), request.GET.get("next"), request.headers.get("referer")):
        if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                         require_https=request.is_secure()):
            return candidate
    return default


def report_error(request: HttpRequest, error: DomainError) -> None:
    messages.error(request, str(error.message), extra_tags=error.code)


def report_form_errors(request: HttpRequest, form: forms.Form) -> None:
    """One message per invalid field, naming the field: the forms are small and sit on busy pages."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            text = f"{label}: {error}" if label else str(error)
            messages.error(request, text, extra_tags="invalid_form")


def domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a screen view so that domain errors become a 404 or a message and a redirect back."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except DomainError as exc:
            report_error(request, exc)
            return redirect(safe_next(request, "/"))

    return wrapper
