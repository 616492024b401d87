"""Bounds on free text that has no other home: one check, one error code, for every service.

Comments (``COMMENT_MAX_CHARS``), minutes texts (``records.minutes.sanitize.MAX_LENGTH``) and
ballot opinions keep their own limits next to their own rules; this module holds the generic
"explanatory text" bound (``DESCRIPTION_MAX_CHARS``) used by agenda items, motions and written
ballots. The serializers and forms carry the same ``max_length`` so the screens refuse early; the
service check holds whoever calls it.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from ecabinet.errors import ValidationFailed

__all__ = ["bounded_description", "description_max"]


def description_max() -> int:
    return settings.DESCRIPTION_MAX_CHARS


def bounded_description(text: str | None, *, field: str = "description") -> str:
    """``text`` stripped, or 400 ``text_too_long`` naming the field and the limit."""
    text = (text or "").strip()
    limit = settings.DESCRIPTION_MAX_CHARS
    if len(text) > limit:
        raise ValidationFailed(
            _("The text is too long: %(length)s characters, at most %(limit)s are allowed.")
            % {"length": len(text), "limit": limit}, code="text_too_long", field=field)
    return text
