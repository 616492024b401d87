"""Screens and files of the follow-up app, included at the site's root by ``ecabinet.urls``."""

from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>)

from . import files

urlpatterns = [
    path("tasks/<id:task>/attachments/<id:pk>/", files.task_attachment, name="task_attachment"),
]
