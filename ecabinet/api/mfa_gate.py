"""The API's side of ``MFA_ENFORCE`` (a module of its own: REST_FRAMEWORK's settings import it while
``rest_framework.views`` is still loading)."""

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from ecabinet import mfa
from ecabinet.errors import DomainError


class SecondFactorEnrolled(BasePermission):
    """With ``MFA_ENFORCE``: every API call (token or session) of a user who must have a second factor
    and has none answers 403 ``mfa_enrolment_required``, except the enrolment endpoints themselves.
    One of REST_FRAMEWORK's default permissions; costs no query while MFA_ENFORCE is off."""

    def has_permission(self, request, view) -> bool:
        if request.path.startswith("/api/v1/auth/") or not mfa.needs_enrolment(request.user):
            return True
        raise DomainError(_("Your account must use a second factor: set one up under Security first."),
                          code="mfa_enrolment_required", status=403)
