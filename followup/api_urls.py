"""API v1 routes of the follow-up app, mounted under /api/v1/ by ``ecabinet.api.urls``."""

from .api import urlpatterns as task_urls
from .dashboard_api import dashboard_api_urlpatterns
from .reports_api import urlpatterns as report_urls

urlpatterns = [*dashboard_api_urlpatterns, *task_urls, *report_urls]

__all__ = ["urlpatterns"]
