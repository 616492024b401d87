"""Domain exceptions raised by services and translated to HTTP in one place
(``ecabinet.api.errors`` for the API, ``meetings.views.common`` for screens).

Every error has a stable machine ``code`` for clients and a ``message`` a minister or secretary
understands (translated).
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    code = "invalid"
    default_message = _("The request could not be carried out.")

    def __init__(self, message=None, *, code: str | None = None, status: int | None = None, **params):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        if status:
            self.status = status
        self.params = params
        super().__init__(str(self.message))

    def __str__(self) -> str:
        return str(self.message)


class NotFound(DomainError):
    """Missing, or not visible to the caller: the two are never told apart."""

    status = 404
    code = "not_found"
    default_message = _("Not found.")


class Forbidden(DomainError):
    """The caller may see the object but may not do this to it."""

    status = 403
    code = "forbidden"
    default_message = _("You are not allowed to do this.")


class InvalidState(DomainError):
    status = 409
    code = "invalid_state"
    default_message = _("This cannot be done in the current state of the session.")


class Conflict(DomainError):
    status = 409
    code = "conflict"


class ValidationFailed(DomainError):
    status = 400
    code = "invalid"


class UploadRejected(DomainError):
    """A document upload that is refused; ``code`` names the precise reason."""

    status = 422
    code = "upload_rejected"
