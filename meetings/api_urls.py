"""API v1 of the sessions (DESIGN.md §5.2): meetings, participants, agenda, documents, and the live
room (issue #3). Included at ``/api/v1/`` by ``ecabinet.api.urls``."""

from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)

from . import annotations_api, room_api
from . import api as meetings_api

urlpatterns = [
    path("meetings/", meetings_api.MeetingListView.as_view(), name="api_meetings"),
    path("meetings/<id:pk>/", meetings_api.MeetingDetailView.as_view(), name="api_meeting"),
    path("meetings/<id:pk>/participants/", meetings_api.ParticipantsView.as_view(), name="api_participants"),
    path("meetings/<id:pk>/participants/<str:username>/approve/", meetings_api.ParticipantApproveView.as_view(),
         name="api_participant_approve"),
    path("meetings/<id:pk>/participants/<str:username>/remove/", meetings_api.ParticipantRemoveView.as_view(),
         name="api_participant_remove"),
    path("meetings/<id:pk>/agenda-items/", meetings_api.AgendaItemsView.as_view(), name="api_agenda_items"),
    path("meetings/<id:pk>/publish/", meetings_api.PublishView.as_view(), name="api_publish"),
    path("meetings/<id:pk>/start/", meetings_api.StartView.as_view(), name="api_start"),
    path("meetings/<id:pk>/adjourn/", meetings_api.AdjournView.as_view(), name="api_adjourn"),
    path("meetings/<id:pk>/close/", meetings_api.CloseView.as_view(), name="api_close"),
    path("meetings/<id:pk>/attendance/", meetings_api.AttendanceView.as_view(), name="api_attendance"),
    path("meetings/<id:pk>/read-receipts/", meetings_api.ReadReceiptsView.as_view(), name="api_read_receipts"),
    path("agenda-items/<id:pk>/move/", meetings_api.AgendaItemMoveView.as_view(), name="api_agenda_move"),
    path("agenda-items/<id:pk>/documents/", meetings_api.DocumentsView.as_view(), name="api_documents"),
    path("documents/<id:pk>/", meetings_api.DocumentDetailView.as_view(), name="api_document"),
    path("documents/<id:pk>/versions/", meetings_api.DocumentVersionsView.as_view(), name="api_document_versions"),
    path("documents/<id:pk>/recipients/", meetings_api.DocumentRecipientsView.as_view(),
         name="api_document_recipients"),
    path("documents/<id:pk>/download/", meetings_api.DocumentDownloadView.as_view(), name="api_document_download"),
    path("documents/<id:pk>/compare/", meetings_api.DocumentCompareView.as_view(), name="api_document_compare"),
    # Annotations on documents (issue 17)
    path("documents/<id:pk>/annotations/", annotations_api.DocumentAnnotationsView.as_view(),
         name="api_document_annotations"),
    path("annotations/<id:pk>/", annotations_api.AnnotationView.as_view(), name="api_annotation"),
    # Offline sessions on the tablet (issue 17, docs/offline.md)
    path("offline/", meetings_api.OfflineView.as_view(), name="api_offline"),
    # The live room (issue #3)
    path("meetings/<id:pk>/snapshot/", room_api.SnapshotView.as_view(), name="api_snapshot"),
    path("meetings/<id:pk>/events/", room_api.EventsView.as_view(), name="api_events"),
    path("meetings/<id:pk>/current-item/", room_api.CurrentItemView.as_view(), name="api_current_item"),
    path("meetings/<id:pk>/positions/", room_api.PositionsTableView.as_view(), name="api_positions"),
    path("meetings/<id:pk>/consent-block/", room_api.ConsentBlockView.as_view(), name="api_consent_block"),
    path("agenda-items/<id:pk>/status/", room_api.ItemStatusView.as_view(), name="api_item_status"),
    path("agenda-items/<id:pk>/comments/", room_api.CommentsView.as_view(), name="api_comments"),
    path("agenda-items/<id:pk>/speakers/", room_api.SpeakersView.as_view(), name="api_speakers"),
    path("agenda-items/<id:pk>/speakers/withdraw/", room_api.SpeakWithdrawView.as_view(), name="api_speak_withdraw"),
    path("agenda-items/<id:pk>/floor/", room_api.FloorView.as_view(), name="api_floor"),
    path("agenda-items/<id:pk>/floor/end/", room_api.FloorEndView.as_view(), name="api_floor_end"),
    path("agenda-items/<id:pk>/position/", room_api.PositionView.as_view(), name="api_position"),
    path("comments/<id:pk>/edit/", room_api.CommentEditView.as_view(), name="api_comment_edit"),
    path("comments/<id:pk>/delete/", room_api.CommentDeleteView.as_view(), name="api_comment_delete"),
]
