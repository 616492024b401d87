from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from meetings import api as meetings_api
from meetings import room_api

from .views import TokenView, UnknownPathView

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
    # The live room (issue #3)
    path("meetings/<int:pk>/snapshot/", room_api.SnapshotView.as_view(), name="api_snapshot"),
    path("meetings/<int:pk>/events/", room_api.EventsView.as_view(), name="api_events"),
    path("meetings/<int:pk>/current-item/", room_api.CurrentItemView.as_view(), name="api_current_item"),
    path("meetings/<int:pk>/positions/", room_api.PositionsTableView.as_view(), name="api_positions"),
    path("meetings/<int:pk>/consent-block/", room_api.ConsentBlockView.as_view(), name="api_consent_block"),
    path("agenda-items/<int:pk>/status/", room_api.ItemStatusView.as_view(), name="api_item_status"),
    path("agenda-items/<int:pk>/comments/", room_api.CommentsView.as_view(), name="api_comments"),
    path("agenda-items/<int:pk>/speakers/", room_api.SpeakersView.as_view(), name="api_speakers"),
    path("agenda-items/<int:pk>/speakers/withdraw/", room_api.SpeakWithdrawView.as_view(), name="api_speak_withdraw"),
    path("agenda-items/<int:pk>/floor/", room_api.FloorView.as_view(), name="api_floor"),
    path("agenda-items/<int:pk>/floor/end/", room_api.FloorEndView.as_view(), name="api_floor_end"),
    path("agenda-items/<int:pk>/position/", room_api.PositionView.as_view(), name="api_position"),
    path("comments/<int:pk>/edit/", room_api.CommentEditView.as_view(), name="api_comment_edit"),
    path("comments/<int:pk>/delete/", room_api.CommentDeleteView.as_view(), name="api_comment_delete"),
    path("", include("voting.api_urls")),
    re_path(r"^.*$", UnknownPathView.as_view(), name="api_unknown_path"),
]
