from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)
from meetings import api as meetings_api
from meetings import archive_api, room_api
from meetings.minutes import api as minutes_api

from .account import DeviceRevokeView, DevicesView, LogoutView, PasswordView
from .mfa import TotpConfirmView, TotpStartView
from .views import TokenView, UnknownPathView

urlpatterns = [
    path("auth/token", TokenView.as_view(), name="api_token"),
    path("auth/devices/", DevicesView.as_view(), name="api_devices"),
    path("auth/devices/<id:pk>/revoke/", DeviceRevokeView.as_view(), name="api_device_revoke"),
    path("auth/logout/", LogoutView.as_view(), name="api_logout"),
    path("auth/password/", PasswordView.as_view(), name="api_password"),
    path("auth/mfa/totp/", TotpStartView.as_view(), name="api_mfa_totp"),
    path("auth/mfa/totp/confirm/", TotpConfirmView.as_view(), name="api_mfa_totp_confirm"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
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
    # Minutes, resolution, corrections (issue #5)
    path("meetings/<id:pk>/minutes/", minutes_api.MinutesView.as_view(), name="api_minutes"),
    path("meetings/<id:pk>/minutes/comments/", minutes_api.MinutesCommentsView.as_view(),
         name="api_minutes_comments"),
    path("meetings/<id:pk>/minutes/finalize/", minutes_api.MinutesFinalizeView.as_view(),
         name="api_minutes_finalize"),
    path("meetings/<id:pk>/minutes/sign/", minutes_api.MinutesSignView.as_view(), name="api_minutes_sign"),
    path("meetings/<id:pk>/minutes/pdf/", minutes_api.MinutesPdfView.as_view(), name="api_minutes_pdf"),
    path("meetings/<id:pk>/minutes/verify/", minutes_api.MinutesVerifyView.as_view(), name="api_minutes_verify"),
    path("meetings/<id:pk>/minutes/corrections/", minutes_api.CorrectionsView.as_view(), name="api_corrections"),
    path("meetings/<id:pk>/minutes/corrections/<id:cid>/sign/", minutes_api.CorrectionSignView.as_view(),
         name="api_correction_sign"),
    path("meetings/<id:pk>/minutes/corrections/<id:cid>/pdf/", minutes_api.CorrectionPdfView.as_view(),
         name="api_correction_pdf"),
    path("meetings/<id:pk>/minutes/corrections/<id:cid>/verify/", minutes_api.CorrectionVerifyView.as_view(),
         name="api_correction_verify"),
    path("meetings/<id:pk>/resolution/sign/", minutes_api.ResolutionSignView.as_view(), name="api_resolution_sign"),
    path("meetings/<id:pk>/resolution/pdf/", minutes_api.ResolutionPdfView.as_view(), name="api_resolution_pdf"),
    path("meetings/<id:pk>/resolution/verify/", minutes_api.ResolutionVerifyView.as_view(),
         name="api_resolution_verify"),
    path("meetings/<id:pk>/archive/", archive_api.ArchiveView.as_view(), name="api_archive"),
    path("", include("voting.api_urls")),
    re_path(r"^.*$", UnknownPathView.as_view(), name="api_unknown_path"),
]
