"""API v1 of the after-session records (DESIGN.md §5.2): minutes, resolution, corrections and the
archive package (issue #5). Included at ``/api/v1/`` by ``ecabinet.api.urls``."""

from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)

from . import archive_api
from .minutes import api as minutes_api

urlpatterns = [
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
]
