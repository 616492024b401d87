"""API v1 routes of the follow-up app, mounted under /api/v1/ by ``ecabinet.api.urls``."""

from .api import urlpatterns

__all__ = ["urlpatterns"]
