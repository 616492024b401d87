from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)
from ecabinet import views as ecabinet_views

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # The notifications screen belongs to ecabinet; it is routed here, beside the other screens.
    path("notifications/", ecabinet_views.notifications, name="notifications"),
    path("meetings/new/", views.meeting_create, name="meeting_create"),
    path("meetings/<id:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<id:pk>/room/", views.meeting_room, name="meeting_room"),
    path("meetings/<id:pk>/prepare/", views.meeting_prepare, name="meeting_prepare"),
    path("meetings/<id:pk>/offline/", views.meeting_offline, name="meeting_offline"),
    path("meetings/<id:pk>/participants/", views.meeting_participants, name="meeting_participants"),
    path("meetings/<id:pk>/receipts/", views.meeting_receipts, name="meeting_receipts"),
    path("meetings/<id:pk>/status/<slug:action>/", views.meeting_transition, name="meeting_transition"),
    path("meetings/<id:pk>/attendance/", views.meeting_attendance, name="meeting_attendance"),
    path("meetings/<id:pk>/agenda/add/", views.agenda_item_add, name="agenda_item_add"),
    path("meetings/<id:pk>/participants/add/", views.participant_add, name="participant_add"),
    path("meetings/<id:pk>/participants/<str:username>/remove/", views.participant_remove,
         name="participant_remove"),
    path("meetings/<id:pk>/participants/<str:username>/approve/", views.substitute_approve,
         name="substitute_approve"),
    path("agenda-items/<id:pk>/move/", views.agenda_item_move, name="agenda_item_move"),
    path("agenda-items/<id:pk>/documents/", views.document_upload, name="document_upload"),
    path("documents/<id:pk>/", views.document_detail, name="document_detail"),
    path("documents/<id:pk>/file/", views.document_file, name="document_file"),
    path("documents/<id:pk>/read/<id:number>/", views.document_read_copy, name="document_read_copy"),
    path("documents/<id:pk>/compare/", views.document_compare, name="document_compare"),
    path("documents/<id:pk>/versions/", views.document_add_version, name="document_add_version"),
    path("documents/<id:pk>/recipients/", views.document_recipients, name="document_recipients"),
    path("meetings/<id:pk>/positions/", views.meeting_positions, name="meeting_positions"),
    path("meetings/<id:pk>/consent-block/", views.consent_block, name="meeting_consent_block"),
]
