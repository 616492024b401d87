"""The dashboard's screens (``followup.dashboard_views``), included by ``ecabinet/urls.py`` before the
other routes of the app, as a list of their own (``dashboard_urlpatterns``)."""

from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>)

from . import dashboard_views as views

dashboard_urlpatterns = [
    path("tasks/dashboard/", views.tasks_dashboard, name="tasks_dashboard"),
    path("tasks/export.csv", views.tasks_export_csv, name="tasks_export_csv"),
    path("tasks/report.pdf", views.tasks_report_pdf, name="tasks_report_pdf"),
    path("tasks/proposed-item/<id:pk>/", views.proposed_item_add, name="tasks_proposed_item_add"),
]
urlpatterns = dashboard_urlpatterns
