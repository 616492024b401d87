"""API v1: ``GET /meetings/{id}/archive/`` — the BagIt package of a closed session, as a zip
(issue 5, item 7; DESIGN.md §5.2).

Archivists (closed sessions) and the session's secretariat only: whoever cannot see the session gets
404, a participant who can see it 403, and a session that is not closed 409 ``meeting_not_closed``.
The package is built in a temporary directory, zipped into an anonymous temporary file and streamed
from it; nothing is kept on the server. Every export is an audit entry.
"""

from __future__ import annotations

import tempfile

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from .archive import export


class ArchiveView(APIView):
    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY},
                   summary="The BagIt archive package of a closed session (archivist, secretariat)")
    def get(self, request, pk: int) -> FileResponse:
        meeting = export.archive_access(request.user, pk)
        handle = tempfile.TemporaryFile(prefix="ecabinet-archive-")  # noqa: SIM115 — FileResponse closes it
        try:
            export.export_zip(actor=request.user, meeting=meeting, fileobj=handle, via="api")
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        response = FileResponse(handle, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{export.bag_name(meeting)}.zip"'
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
