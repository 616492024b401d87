"""Screens of the after-session records (minutes, resolution, corrections), mounted at the site's root
by ``ecabinet.urls`` beside the session screens of ``meetings.urls``; the paths and names are theirs
(``/meetings/<id>/minutes/…``, ``meeting_minutes``), unchanged since these screens lived in ``meetings``."""

from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)

from . import views

urlpatterns = [
    path("meetings/<id:pk>/minutes/", views.meeting_minutes, name="meeting_minutes"),
    path("meetings/<id:pk>/minutes/generate/", views.minutes_generate, name="minutes_generate"),
    path("meetings/<id:pk>/minutes/save/", views.minutes_save, name="minutes_save"),
    path("meetings/<id:pk>/minutes/comment/", views.minutes_comment, name="minutes_comment"),
    path("meetings/<id:pk>/minutes/finalize/", views.minutes_finalize, name="minutes_finalize"),
    path("meetings/<id:pk>/minutes/sign/", views.minutes_sign, name="minutes_sign"),
    path("meetings/<id:pk>/minutes/corrections/", views.correction_create, name="correction_create"),
    path("meetings/<id:pk>/minutes/corrections/<id:cid>/sign/", views.correction_sign,
         name="correction_sign"),
    path("meetings/<id:pk>/resolution/sign/", views.resolution_sign, name="resolution_sign"),
]
