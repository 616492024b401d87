"""Reading request bodies: one place for every API module.

Text is text: DRF's ``CharField`` turns a number into its string (``{"note": 1e999999}`` was stored
as ``"inf"``, issue 14), and ``validated`` refuses, for every ``CharField`` of the serializer (also
inside ``ListField``, ``DictField`` and nested serializers), a value that is not a JSON string:
400 ``invalid`` naming the field."""

from django.utils.translation import gettext as _
from rest_framework import serializers


def _not_text(field, value, name: str) -> str | None:
    """The name of the first text field whose value is not a string (None: all are)."""
    if value is None:
        return None
    if isinstance(field, serializers.CharField):
        return None if isinstance(value, str) else name
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for n, item in enumerate(value):
            found = _not_text(field.child, item, f"{name}[{n}]")
            if found:
                return found
    elif isinstance(field, serializers.DictField) and isinstance(value, dict):
        for key, item in value.items():
            found = _not_text(field.child, item, f"{name}.{key}")
            if found:
                return found
    elif isinstance(field, serializers.ListSerializer) and isinstance(value, list):
        for n, item in enumerate(value):
            found = _not_text(field.child, item, f"{name}[{n}]")
            if found:
                return found
    elif isinstance(field, serializers.Serializer) and isinstance(value, dict):
        for key, child in field.fields.items():
            if not child.read_only and child.source != "*" and key in value:
                found = _not_text(child, value[key], f"{name}.{key}" if name else key)
                if found:
                    return found
    return None


def validated(serializer_class: type[serializers.Serializer], request) -> dict:
    """The request body checked by ``serializer_class``; a ValidationError otherwise, which
    ``ecabinet.api.errors`` turns into ``{"code": "invalid", "detail", "field"}``."""
    serializer = serializer_class(data=request.data)
    if isinstance(request.data, dict):  # a form's values are strings already
        field = _not_text(serializer, request.data, "")
        if field:
            raise serializers.ValidationError({field: [_("This field must be text (a JSON string).")]})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
