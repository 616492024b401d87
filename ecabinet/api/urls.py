from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from meetings import api as meetings_api

from .views import TokenView

urlpatterns = [
    path("auth/token", TokenView.as_view(), name="api_token"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("meetings/", meetings_api.MeetingListView.as_view(), name="api_meetings"),
    path("meetings/<int:pk>/", meetings_api.MeetingDetailView.as_view(), name="api_meeting"),
    path("meetings/<int:pk>/participants/", meetings_api.ParticipantsView.as_view(), name="api_participants"),
    path("meetings/<int:pk>/participants/<str:username>/approve/", meetings_api.ParticipantApproveView.as_view(),
         name="api_participant_approve"),
    path("meetings/<int:pk>/participants/<str:username>/remove/", meetings_api.ParticipantRemoveView.as_view(),
         name="api_participant_remove"),
    path("meetings/<int:pk>/agenda-items/", meetings_api.AgendaItemsView.as_view(), name="api_agenda_items"),
    path("meetings/<int:pk>/publish/", meetings_api.PublishView.as_view(), name="api_publish"),
    path("meetings/<int:pk>/start/", meetings_api.StartView.as_view(), name="api_start"),
    path("meetings/<int:pk>/adjourn/", meetings_api.AdjournView.as_view(), name="api_adjourn"),
    path("meetings/<int:pk>/close/", meetings_api.CloseView.as_view(), name="api_close"),
    path("meetings/<int:pk>/attendance/", meetings_api.AttendanceView.as_view(), name="api_attendance"),
    path("meetings/<int:pk>/read-receipts/", meetings_api.ReadReceiptsView.as_view(), name="api_read_receipts"),
    path("agenda-items/<int:pk>/move/", meetings_api.AgendaItemMoveView.as_view(), name="api_agenda_move"),
    path("agenda-items/<int:pk>/documents/", meetings_api.DocumentsView.as_view(), name="api_documents"),
    path("documents/<int:pk>/", meetings_api.DocumentDetailView.as_view(), name="api_document"),
    path("documents/<int:pk>/versions/", meetings_api.DocumentVersionsView.as_view(), name="api_document_versions"),
    path("documents/<int:pk>/recipients/", meetings_api.DocumentRecipientsView.as_view(),
         name="api_document_recipients"),
    path("documents/<int:pk>/download/", meetings_api.DocumentDownloadView.as_view(), name="api_document_download"),
    path("documents/<int:pk>/compare/", meetings_api.DocumentCompareView.as_view(), name="api_document_compare"),
]
