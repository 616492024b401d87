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

from channels.routing import ProtocolTypeRouter  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app})
