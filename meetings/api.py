"""API v1 for sessions, participants, agenda, attendance and documents (DESIGN.md §5.2).

Views parse input, call one service, and shape the answer. Failures are domain exceptions, turned
into ``{"code", "detail"}`` by ``ecabinet.api.errors``.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import clock
from ecabinet.api.idempotency import idempotent
from ecabinet.api.input import validated
from ecabinet.api.throttles import UploadRate
from ecabinet.converters import whole_number
from ecabinet.errors import NotFound, ValidationFailed
from ecabinet.models import Ministry

from . import offline, permissions, selectors, services
from .compare import compare_versions
from .downloads import watermarked_response
from .models import AgendaItem
from .serializers import (
    AgendaItemCreateSerializer,
    AgendaMoveSerializer,
    AttendanceSerializer,
    DocumentUploadSerializer,
    DocumentVersionUploadSerializer,
    MeetingCreateSerializer,
    MeetingDetailSerializer,
    MeetingListSerializer,
    MeetingOfflineSerializer,
    ParticipantAddSerializer,
    ParticipantSerializer,
    RecipientsSerializer,
    VersionSerializer,
    meeting_detail_data,
)

CreatedId = inline_serializer("CreatedId", {"id": serializers.IntegerField()})



def _meeting_detail(access) -> dict:
    meeting = access.meeting
    data = meeting_detail_data(meeting, selectors.agenda_rows(access), selectors.participant_dicts(meeting))
    data["my_role"] = access.role
    return data


def _item_for_manager(user, item_id: int) -> AgendaItem:
    item = AgendaItem.objects.select_related("meeting").filter(pk=item_id).first()
    if item is None:
        raise NotFound()
    permissions.meeting_access(user, item.meeting)  # 404 unless visible
    return item


class MeetingListView(APIView):
    @extend_schema(responses=inline_serializer("MeetingListPage", {"results": MeetingListSerializer(many=True)}))
    def get(self, request):
        services.meetings_list_viewed(actor=request.user)
        meetings = permissions.meetings_visible_to(request.user).order_by("-starts_at", "-id")
        return Response({"results": MeetingListSerializer(meetings, many=True).data})

    @extend_schema(request=MeetingCreateSerializer, responses={201: CreatedId})
    @idempotent
    def post(self, request):
        data = validated(MeetingCreateSerializer, request)
        meeting = services.meeting_create(actor=request.user, **data)
        return Response({"id": meeting.pk, **MeetingListSerializer(meeting).data}, status=201)


class MeetingDetailView(APIView):
    @extend_schema(responses=MeetingDetailSerializer)
    def get(self, request, pk: int):
        access = services.meeting_view(actor=request.user, meeting_id=pk, what="api")
        return Response(_meeting_detail(access))

    @extend_schema(request=MeetingOfflineSerializer, responses=MeetingDetailSerializer,
                   summary="The secretariat decides whether the session may be kept on tablets (docs/offline.md)")
    @idempotent
    def patch(self, request, pk: int):
        access = permissions.meeting_access(request.user, pk)  # 404 / 403 before the body is looked at
        access.require(access.can_manage)
        unknown = sorted(set(request.data) - set(services.OFFLINE_FIELDS)) if isinstance(request.data, dict) else []
        if unknown or not request.data:
            raise ValidationFailed(_("Only “offline_copies” and “offline_restricted” can be changed here."),
                                   code="not_editable")
        data = validated(MeetingOfflineSerializer, request)
        services.meeting_set_offline(actor=request.user, meeting=access.meeting, **data)
        return Response(_meeting_detail(permissions.meeting_access(request.user, pk)))


OFFLINE_DOCUMENT = {
    "id": serializers.IntegerField(), "title": serializers.CharField(), "classification": serializers.CharField(),
    "version": serializers.IntegerField(),
    "reader_url": serializers.CharField(help_text="the copy of the current version to keep"),
    "annotations_url": serializers.CharField(help_text="its annotations (mine and the shared ones I see)"),
    "comments_url": serializers.CharField(help_text="the comments of its agenda item (the latest page of them)"),
    "page_url": serializers.CharField(help_text="the document's page"),
}
OFFLINE_SESSION = {
    "id": serializers.IntegerField(), "title": serializers.CharField(), "status": serializers.CharField(),
    "allowed": serializers.BooleanField(help_text="may be kept now; if false the tablet deletes what it holds"),
    "reason": serializers.CharField(allow_null=True, help_text="why not: not_participant, not_approved, "
                                                               "offline_off, draft, closed"),
    "reason_text": serializers.CharField(help_text="the same, for the person"),
    "offline_restricted": serializers.BooleanField(),
    "documents": inline_serializer("OfflineDocument", OFFLINE_DOCUMENT, many=True),
    "pages": serializers.ListField(child=serializers.CharField(), help_text="pages to keep"),
}


class OfflineView(APIView):
    @extend_schema(
        responses=inline_serializer("OfflineListing", {
            "user": serializers.IntegerField(),
            "sessions": inline_serializer("OfflineSession", OFFLINE_SESSION, many=True),
            "max_sessions": serializers.IntegerField()}),
        summary="What this tablet may keep offline now; whatever else it holds, it deletes (docs/offline.md)")
    def get(self, request):
        data = offline.listing(request.user, clock.moment())
        services.meetings_offline_listed(actor=request.user, meeting_ids=[s["id"] for s in data["sessions"]])
        return Response(data)


class ParticipantsView(APIView):
    @extend_schema(request=ParticipantAddSerializer, responses={201: ParticipantSerializer})
    @idempotent
    def post(self, request, pk: int):
        data = validated(ParticipantAddSerializer, request)
        access = permissions.meeting_access(request.user, pk)
        participant = services.participant_add(actor=request.user, meeting=access.meeting, **data)
        return Response(ParticipantSerializer(participant).data, status=201)


class ParticipantApproveView(APIView):
    @extend_schema(request=None, responses=ParticipantSerializer, summary="Chair approves a substitute")
    @idempotent
    def post(self, request, pk: int, username: str):
        access = permissions.meeting_access(request.user, pk)
        participant = services.substitute_approve(actor=request.user, meeting=access.meeting, username=username)
        return Response(ParticipantSerializer(participant).data)


class ParticipantRemoveView(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Withdraw an invitation and its access")
    @idempotent
    def post(self, request, pk: int, username: str):
        access = permissions.meeting_access(request.user, pk)
        services.participant_remove(actor=request.user, meeting=access.meeting, username=username)
        return Response({"removed": username}, status=200)


class AgendaItemsView(APIView):
    @extend_schema(request=AgendaItemCreateSerializer, responses={201: CreatedId})
    @idempotent
    def post(self, request, pk: int):
        data = validated(AgendaItemCreateSerializer, request)
        access = permissions.meeting_access(request.user, pk)
        ministry = None
        if data["presenter_ministry"]:
            ministry = Ministry.objects.filter(code=data["presenter_ministry"]).first()
            if ministry is None:
                raise ValidationFailed("Unknown ministry code.", code="unknown_ministry")
        item = services.agenda_item_add(actor=request.user, meeting=access.meeting, title=data["title"],
                                        description=data["description"], presenter_ministry=ministry,
                                        planned_minutes=data["planned_minutes"])
        return Response({"id": item.pk, "position": item.position, "title": item.title}, status=201)


class AgendaItemMoveView(APIView):
    @extend_schema(request=AgendaMoveSerializer, responses=CreatedId)
    @idempotent
    def post(self, request, pk: int):
        data = validated(AgendaMoveSerializer, request)
        item = _item_for_manager(request.user, pk)
        item = services.agenda_item_move(actor=request.user, item=item, position=data["position"])
        return Response({"id": item.pk, "position": item.position})


def _transition_view(service, summary: str):
    class TransitionView(APIView):
        @extend_schema(request=None, responses=MeetingListSerializer, summary=summary)
        @idempotent
        def post(self, request, pk: int):
            access = permissions.meeting_access(request.user, pk)
            meeting = service(actor=request.user, meeting=access.meeting)
            return Response(MeetingListSerializer(meeting).data)

    TransitionView.__name__ = f"{service.__name__.title().replace('_', '')}View"
    return TransitionView


PublishView = _transition_view(services.meeting_publish, "Publish a draft session (notifies invitees)")
StartView = _transition_view(services.meeting_start, "Start a published session")
AdjournView = _transition_view(services.meeting_adjourn, "Adjourn a session in progress")
CloseView = _transition_view(services.meeting_close, "Close an adjourned session (its record is then final)")


class AttendanceView(APIView):
    @extend_schema(request=AttendanceSerializer, responses=ParticipantSerializer)
    @idempotent
    def post(self, request, pk: int):
        data = validated(AttendanceSerializer, request)
        access = permissions.meeting_access(request.user, pk)
        participant = services.attendance_set(actor=request.user, meeting=access.meeting, **data)
        return Response(ParticipantSerializer(participant).data)


class DocumentsView(APIView):
    body_limit = "upload"  # a PDF up to DOCUMENT_MAX_BYTES (ecabinet.http_limits)
    throttle_classes = [UploadRate]

    @extend_schema(request={"multipart/form-data": DocumentUploadSerializer},
                   responses={201: inline_serializer("DocumentCreated", {
                       "id": serializers.IntegerField(), "sha256": serializers.CharField(),
                       "version": serializers.IntegerField(), "pages": serializers.IntegerField()})})
    def prepare(self, request, pk: int):
        """Parse and inspect the upload before the transaction opens (``pdfcheck``)."""
        item = _item_for_manager(request.user, pk)
        recipients = request.data.getlist("recipients") if hasattr(request.data, "getlist") else \
            request.data.get("recipients", [])
        if len(recipients) == 1 and "," in recipients[0]:
            recipients = recipients[0].split(",")
        data = validated(DocumentUploadSerializer, request)
        args = {"item": item, "title": data["title"], "classification": data["classification"],
                "upload": data["file"], "recipients": recipients}
        return args, services.document_upload_prepare(actor=request.user, **args)

    @idempotent
    def post(self, request, pk: int):
        args, inspected = request.prepared
        document = services.document_upload(actor=request.user, inspected=inspected, **args)
        version = document.current_version
        return Response({"id": document.pk, "sha256": version.sha256, "version": version.number,
                         "pages": version.pages}, status=201)


def _reader_url(document) -> str | None:
    """The reader's copy of the current version (issue 17, contract C2)."""
    current = document.current_version
    return reverse("document_read_copy", args=[document.pk, current.number]) if current else None


class DocumentDetailView(APIView):
    @extend_schema(responses=inline_serializer("DocumentDetail", {
        "id": serializers.IntegerField(), "title": serializers.CharField(),
        "classification": serializers.CharField(), "meeting": serializers.IntegerField(),
        "agenda_item": serializers.IntegerField(), "versions": VersionSerializer(many=True),
        "reader_url": serializers.CharField(allow_null=True)}))
    def get(self, request, pk: int):
        access, document = services.document_view(actor=request.user, document_id=pk)
        versions = document.versions.select_related("uploaded_by").order_by("number")
        return Response({"id": document.pk, "title": document.title, "classification": document.classification,
                         "meeting": access.meeting.pk, "agenda_item": document.agenda_item_id,
                         "versions": VersionSerializer(versions, many=True).data,
                         "reader_url": _reader_url(document)})


class DocumentVersionsView(APIView):
    body_limit = "upload"
    throttle_classes = [UploadRate]

    @extend_schema(request={"multipart/form-data": DocumentVersionUploadSerializer},
                   responses={201: VersionSerializer})
    def prepare(self, request, pk: int):
        """Parse and inspect the upload before the transaction opens (``pdfcheck``)."""
        _, document = permissions.document_access(request.user, pk)
        data = validated(DocumentVersionUploadSerializer, request)
        inspected = services.document_add_version_prepare(actor=request.user, document=document,
                                                          upload=data["file"])
        return document, data, inspected

    @idempotent
    def post(self, request, pk: int):
        document, data, inspected = request.prepared
        version = services.document_add_version(actor=request.user, document=document, upload=data["file"],
                                                note=data["note"], inspected=inspected)
        return Response(VersionSerializer(version).data, status=201)


class DocumentRecipientsView(APIView):
    @extend_schema(request=RecipientsSerializer, responses=RecipientsSerializer)
    @idempotent
    def post(self, request, pk: int):
        _, document = permissions.document_access(request.user, pk)
        data = validated(RecipientsSerializer, request)
        services.document_set_recipients(actor=request.user, document=document, recipients=data["recipients"])
        return Response({"recipients": sorted(data["recipients"])})


class DocumentDownloadView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("version", OpenApiTypes.INT, description="Version number (default: current)")],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk: int) -> HttpResponse:
        version = request.query_params.get("version")
        if version is not None and whole_number(version) is None:
            raise ValidationFailed("version must be a number.", code="invalid_version")
        return watermarked_response(request, pk, int(version) if version else None,
                                    inline=request.query_params.get("inline") == "1")


class DocumentCompareView(APIView):
    @extend_schema(parameters=[OpenApiParameter("from", OpenApiTypes.INT), OpenApiParameter("to", OpenApiTypes.INT)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        _, document = services.document_view(actor=request.user, document_id=pk)
        comparison = compare_versions(document, request.query_params.get("from"), request.query_params.get("to"))
        return Response(comparison.as_dict())


class ReadReceiptsView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Who opened which version (secretariat)")
    def get(self, request, pk: int):
        # Refuse before recording the view: a refused request leaves no trace but its log line.
        precheck = permissions.meeting_access(request.user, pk)
        precheck.require(precheck.can_manage)
        access = services.meeting_view(actor=request.user, meeting_id=pk, what="api.read_receipts")
        documents, people, opened = selectors.read_receipt_table(access.meeting)
        rows = []
        for doc in documents:
            cells = {}
            for person in people:
                receipt = opened.get((doc.pk, person.user_id))
                cells[person.user.username] = None if receipt is None else {
                    "version": receipt.version.number, "first_opened_at": receipt.first_opened_at,
                    "last_opened_at": receipt.last_opened_at, "open_count": receipt.open_count}
            rows.append({"document": doc.pk, "title": doc.title, "current_version": doc.current_version.number
                         if doc.current_version else None, "readers": cells})
        return Response({"documents": rows})
