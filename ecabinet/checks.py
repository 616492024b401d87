"""System checks that stop an unsafe start-up."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def check_allowed_hosts(app_configs, **kwargs):
    """A wildcard host lets any site's page open a WebSocket to the cabinet room (the Origin check
    trusts ALLOWED_HOSTS) and enables Host-header poisoning of e-mailed links."""
    if not settings.DEBUG and "*" in settings.ALLOWED_HOSTS:
        return [Error(
            "ALLOWED_HOSTS contains '*' while DEBUG is off.",
            hint="List the real host names, e.g. ALLOWED_HOSTS=cabinet.example.gov.vn",
            id="ecabinet.E001",
        )]
    return []
