"""Small presentation helpers for the screens' templates."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def ministry_name(ministry) -> str:
    """The ministry's name in the page's language (the English name when there is one)."""
    if ministry is None:
        return ""
    if (get_language() or "").startswith("en") and ministry.name_en:
        return ministry.name_en
    return ministry.name


@register.filter
def short_hash(value: str, length: int = 12) -> str:
    return (value or "")[: int(length)]
