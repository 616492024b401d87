"""Reading request bodies: one place for every API module."""

from rest_framework import serializers


def validated(serializer_class: type[serializers.Serializer], request) -> dict:
    """The request body checked by ``serializer_class``; a ValidationError otherwise, which
    ``ecabinet.api.errors`` turns into ``{"code": "invalid", "detail", "field"}``."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
