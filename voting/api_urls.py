"""API v1 routes of the voting app, mounted under /api/v1/ by ``ecabinet.api.urls``."""

from .ballots_api import urlpatterns as ballot_patterns
from .motions_api import urlpatterns as motion_patterns

urlpatterns = [*motion_patterns, *ballot_patterns]
