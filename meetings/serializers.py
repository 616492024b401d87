"""API shapes for sessions and documents (DESIGN.md §5.2). Input serializers validate; services
decide."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecabinet.textlimits import description_max

from .models import AgendaItem, Document, Meeting, Participant


class MeetingListSerializer(serializers.ModelSerializer):
    class Meta:
        model = Meeting
        fields = ["id", "title", "kind", "status", "starts_at"]


class MeetingCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    kind = serializers.ChoiceField(choices=Meeting.Kind.choices, default=Meeting.Kind.REGULAR)
    starts_at = serializers.DateTimeField()
    location = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    offline_copies = serializers.BooleanField(required=False, default=True)
    offline_restricted = serializers.BooleanField(required=False, default=False)


class ParticipantSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    full_name = serializers.CharField(source="user.full_name")
    ministry = serializers.SerializerMethodField()
    substitute_for = serializers.SerializerMethodField()
    approved = serializers.BooleanField(source="is_approved")

    class Meta:
        model = Participant
        fields = ["username", "full_name", "ministry", "role", "attendance", "absence_reason",
                  "substitute_for", "approved"]

    def get_ministry(self, obj) -> str | None:
        return obj.user.ministry.name if obj.user.ministry else None

    def get_substitute_for(self, obj) -> str | None:
        return obj.substitute_for.username if obj.substitute_for else None


class DocumentSummarySerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="current_version.number", allow_null=True)
    sha256 = serializers.CharField(source="current_version.sha256", allow_null=True)
    pages = serializers.IntegerField(source="current_version.pages", allow_null=True)
    is_new = serializers.SerializerMethodField()
    is_updated = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "title", "classification", "version", "sha256", "pages", "is_new", "is_updated"]

    def get_is_new(self, obj) -> bool:
        return obj.read_state.is_new

    def get_is_updated(self, obj) -> bool:
        return obj.read_state.is_updated


class MotionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField(help_text="draft, open or closed")


class AgendaItemSerializer(serializers.ModelSerializer):
    documents = DocumentSummarySerializer(source="visible_documents", many=True)
    presenter_ministry = serializers.CharField(source="presenter_ministry.name", allow_null=True, default=None)
    motions = serializers.SerializerMethodField()

    class Meta:
        model = AgendaItem
        fields = ["id", "position", "title", "description", "status", "presenter_ministry", "planned_minutes",
                  "documents", "motions"]

    @extend_schema_field(MotionSummarySerializer(many=True))
    def get_motions(self, obj) -> list[dict]:
        # ``selectors.agenda`` prefetches them (``motion_list``): no query per item.
        motions = getattr(obj, "motion_list", None)
        if motions is None:
            motions = obj.motions.order_by("id")
        return [{"id": m.pk, "title": m.title, "status": m.status} for m in motions]


class MeetingDetailSerializer(serializers.ModelSerializer):
    participants = ParticipantSerializer(source="participants_list", many=True)
    agenda = AgendaItemSerializer(many=True)

    class Meta:
        model = Meeting
        fields = ["id", "title", "kind", "status", "starts_at", "location", "offline_copies", "offline_restricted",
                  "participants", "agenda"]


_STARTS_AT = serializers.DateTimeField()


def meeting_detail_data(meeting: Meeting, items: list, participants: list[dict]) -> dict:
    """``MeetingDetailSerializer``'s answer (the fixed contract of DESIGN.md §5.2, the same fields and
    values), built directly from ``selectors.agenda_rows`` and ``selectors.participant_dicts``: the
    serializer stays the documented schema, this is its fast path for the session API (issue 19;
    ``tests/meetings/test_page_queries.py`` holds the two equal)."""
    return {
        "id": meeting.pk, "title": meeting.title, "kind": meeting.kind, "status": meeting.status,
        "starts_at": _STARTS_AT.to_representation(meeting.starts_at), "location": meeting.location,
        "offline_copies": meeting.offline_copies, "offline_restricted": meeting.offline_restricted,
        "participants": participants,
        "agenda": [{
            "id": item.pk, "position": item.position, "title": item.title, "description": item.description,
            "status": item.status,
            "presenter_ministry": item.presenter_ministry.name if item.presenter_ministry else None,
            "planned_minutes": item.planned_minutes,
            "documents": [{
                "id": doc.pk, "title": doc.title, "classification": doc.classification,
                "version": doc.current_version.number if doc.current_version else None,
                "sha256": doc.current_version.sha256 if doc.current_version else None,
                "pages": doc.current_version.pages if doc.current_version else None,
                "is_new": doc.read_state.is_new, "is_updated": doc.read_state.is_updated,
            } for doc in item.visible_documents],
            "motions": [{"id": m.pk, "title": m.title, "status": m.status} for m in item.motion_list],
        } for item in items],
    }


class MeetingOfflineSerializer(serializers.Serializer):
    """``PATCH /meetings/{id}/``: the settings the secretariat changes on a session (docs/offline.md)."""

    offline_copies = serializers.BooleanField(required=False, help_text="Ministers may keep this session on their "
                                                                        "tablets")
    offline_restricted = serializers.BooleanField(required=False, help_text="Restricted documents may be kept "
                                                                            "offline too")


class ParticipantAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Participant.Role.choices)
    substitute_for = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class AttendanceSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    status = serializers.ChoiceField(choices=Participant.Attendance.choices)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AgendaItemCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500)
    description = serializers.CharField(max_length=description_max(), required=False, allow_blank=True, default="")
    presenter_ministry = serializers.SlugField(required=False, allow_blank=True, default="",
                                               help_text="Ministry code")
    planned_minutes = serializers.IntegerField(required=False, allow_null=True, default=None)


class AgendaMoveSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)  # pdfcheck says "not a PDF", clearer than "empty"
    title = serializers.CharField(max_length=500)
    classification = serializers.CharField(max_length=20, help_text="public, internal or restricted")
    recipients = serializers.ListField(child=serializers.CharField(max_length=150), required=False, default=list)


class DocumentVersionUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)  # pdfcheck says "not a PDF", clearer than "empty"
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RecipientsSerializer(serializers.Serializer):
    recipients = serializers.ListField(child=serializers.CharField(max_length=150))


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    pages = serializers.IntegerField()
    note = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    uploaded_at = serializers.DateTimeField()
    reader_url = serializers.SerializerMethodField(help_text="The in-app reader's own watermarked copy of this "
                                                   "version (byte ranges; issue 17)")

    def get_reader_url(self, obj) -> str:
        return reverse("document_read_copy", args=[obj.document_id, obj.number])
