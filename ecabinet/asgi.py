"""ASGI entry point, served by Daphne.

``django.setup()`` runs first so that apps are loaded before anything imports models. Votes go to
the batch intake (``hotpath.intake`` with ``voting.intake_handler``); other HTTP requests go to
Django in sync mode on a pool of ``HTTP_MAX_CONCURRENCY`` threads (``hotpath.http_handler``). This is
the composition root: it gives the hot path (``hotpath/README.md``) what it needs of the apps.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecabinet.settings")

import django

django.setup(set_prefix=False)

from django.core import checks  # noqa: E402

# Daphne does not run Django's system checks; an unsafe configuration must not start serving.
_errors = [e for e in checks.run_checks(tags=[checks.Tags.security]) if e.is_serious()]
if _errors:
    raise SystemExit("Refusing to start:\n" + "\n".join(str(e) for e in _errors))

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from ecabinet.http_limits import BodyLimit  # noqa: E402
from ecabinet.mfa_views import MFAEnrolmentSocketMiddleware  # noqa: E402
from ecabinet.ws_auth import TokenAuthMiddleware  # noqa: E402
from ecabinet.ws_origin import ExactOriginValidator  # noqa: E402
from hotpath import daphne_guard, fairness  # noqa: E402
from hotpath.admission import Admission  # noqa: E402
from hotpath.heartbeats import IdleClose  # noqa: E402
from hotpath.http_handler import PooledASGIHandler  # noqa: E402
from hotpath.intake import BatchIntake  # noqa: E402
from meetings.routing import websocket_urlpatterns  # noqa: E402
from voting import intake_handler  # noqa: E402

# The body cap of every request (docs/limits.md), in Daphne before it keeps the body...
daphne_guard.install()
# A reconnect storm is accepted and read a few connections per turn of the event loop, and the GIL
# changes hands every millisecond, so that the tablets already connected keep getting their events
# (hotpath.fairness).
fairness.install()

# A socket's Origin must be exactly this site's (scheme, host, port) or one of CSRF_TRUSTED_ORIGINS;
# a missing Origin only with an Authorization: Token header (ecabinet.ws_origin).
application = ProtocolTypeRouter({
    # ... and again in front of everything (ecabinet.http_limits). Votes are taken in group commits
    # (hotpath.intake); everything else, and every vote the intake does not take, goes to Django,
    # whose requests wait their turn for one of HTTP_MAX_CONCURRENCY threads (hotpath.http_handler).
    "http": BodyLimit(BatchIntake(PooledASGIHandler(settings.HTTP_MAX_CONCURRENCY), intake_handler)),
    # A socket's handshake, authentication included, waits for one of WS_ADMISSION_CONCURRENCY places
    # (hotpath.admission): a reconnect storm is a queue answered in order, not 1,000 handshakes
    # interleaved in the one thread for synchronous code until Daphne's timeout drops them all.
    # A socket that sends nothing (no ping) for IDLE_SECONDS is closed by the application's own
    # heartbeat (hotpath.heartbeats.IdleClose), not by Daphne's WebSocket pings.
    "websocket": IdleClose(ExactOriginValidator(Admission(
        AuthMiddlewareStack(TokenAuthMiddleware(MFAEnrolmentSocketMiddleware(URLRouter(websocket_urlpatterns))))
    ))),
})

# The garbage collector, tuned for a server holding hundreds of sockets:
# * What loading made (apps, models, URL patterns, translations, the checks' imports) lives as long
#   as the process: it is moved out of the collector's way (gc.freeze). Otherwise each full
#   collection walks over 200,000 objects — 120 ms on the benchmark machine, at any moment, a vote
#   storm included.
# * Each connected tablet is a few hundred long-lived objects (Twisted, autobahn, Channels), and a
#   full collection walks them all: with 1,000 tablets, 200 ms every 2 to 3 s, found nothing to free,
#   and made the slowest round of a fan-out twice as slow as the others. Full collections now wait
#   for 100 middle ones (10 by default), young ones for 10,000 allocations (700): reference cycles
#   are still freed, young ones as often as before in time, old ones within minutes.
gc.collect()
gc.freeze()
gc.set_threshold(10_000, 50, 100)
