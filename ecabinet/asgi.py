"""ASGI entry point, served by Daphne.

``get_asgi_application()`` runs first so that apps are loaded before anything imports models.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecabinet.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from django.core import checks  # noqa: E402

# Daphne does not run Django's system checks; an unsafe configuration must not start serving.
_errors = [e for e in checks.run_checks(tags=[checks.Tags.security]) if e.is_serious()]
if _errors:
    raise SystemExit("Refusing to start:\n" + "\n".join(str(e) for e in _errors))

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from ecabinet.concurrency import ConcurrencyLimit  # noqa: E402
from ecabinet.ws_auth import TokenAuthMiddleware  # noqa: E402
from meetings.routing import websocket_urlpatterns  # noqa: E402

# Origin is checked against ALLOWED_HOSTS; a missing Origin is refused too (no wildcard allowed).
application = ProtocolTypeRouter({
    # Requests beyond HTTP_MAX_CONCURRENCY wait their turn here (ecabinet.concurrency).
    "http": ConcurrencyLimit(django_asgi_app, settings.HTTP_MAX_CONCURRENCY),
    "websocket": AllowedHostsOriginValidator(
        AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
    ),
})
