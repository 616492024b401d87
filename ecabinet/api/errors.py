"""One translation of failures into the API's error format: ``{"code", "detail"}``."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ecabinet.errors import DomainError

DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_request",
    exceptions.Throttled: "throttled",
}


def error_response(code: str, detail, status_code: int, **extra) -> Response:
    return Response({"code": code, "detail": str(detail), **extra}, status=status_code)


def _first_message(detail) -> tuple[str, str]:
    """Flatten DRF's nested validation detail to one sentence naming the field."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        _, message = _first_message(value)
        prefix = "" if field == "non_field_errors" else f"{field}: "
        return field, f"{prefix}{message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return "", str(detail)


def _first_code(detail) -> str | None:
    """DRF's own code of the message ``_first_message`` picks (``max_length``, ``required``…)."""
    while isinstance(detail, dict | list) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return getattr(detail, "code", None)


# DRF validation codes with a machine code of their own; every other validation error is "invalid".
VALIDATION_CODES = {"max_length": "text_too_long"}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        response = error_response(exc.code, exc.message, exc.status)
        if getattr(exc, "retry_after", None):  # ecabinet.limits.RateLimited: when to try again
            response["Retry-After"] = str(exc.retry_after)
        return response
    # Django's own bounds on form bodies (DATA_UPLOAD_MAX_*; docs/limits.md), met while DRF parses.
    if isinstance(exc, TooManyFieldsSent):
        return error_response("too_many_fields", _("The form has too many fields."), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, TooManyFilesSent):
        return error_response("too_many_files", _("The form has too many files."), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return error_response("request_too_large", _("The form's fields are too large."),
                              status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_message(exc.detail)
        field = None if field in ("", "non_field_errors") else field
        code = VALIDATION_CODES.get(_first_code(exc.detail), "invalid")
        return error_response(code, message, status.HTTP_400_BAD_REQUEST, field=field)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    # A refusal that names its own code (ecabinet.api.authentication: invalid_token, token_expired).
    code = getattr(exc, "error_code", None) or next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)),
                                                    "error")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = {"code": code, "detail": str(detail)}
    return response
