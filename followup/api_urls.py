"""API v1 routes of the follow-up app, mounted under /api/v1/ by ``ecabinet.api.urls``."""

from .api import urlpatterns as task_urlpatterns
from .dashboard_api import dashboard_api_urlpatterns

urlpatterns = [*dashboard_api_urlpatterns, *task_urlpatterns]

__all__ = ["urlpatterns"]
