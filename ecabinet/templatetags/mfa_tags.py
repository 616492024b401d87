"""``{% second_factor_enrolled user as flag %}``: the signing forms ask for a code when it is true."""

from django import template

from ecabinet import mfa

register = template.Library()


@register.simple_tag
def second_factor_enrolled(user) -> bool:
    return bool(user and user.is_authenticated and mfa.has_second_factor(user))


@register.simple_tag
def passkey_enrolled(user) -> bool:
    return bool(user and user.is_authenticated and mfa.has_passkey(user))
