"""Screens of the decision follow-up register, mounted at the site's root by ``ecabinet.urls``."""

from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)

from . import files, views

urlpatterns = [
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/new/", views.task_new, name="task_new"),
    path("tasks/<id:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<id:pk>/reports/", views.task_report_post, name="task_report_post"),
    path("tasks/<id:pk>/<slug:action>/", views.task_action, name="task_action"),
    path("tasks/<id:task>/attachments/<id:pk>/", files.task_attachment, name="task_attachment"),
]
