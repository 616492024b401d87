"""API v1 of the live room: comments, speaking queue, positions, the chair's agenda control, and
HTTP access to the snapshot and the event log (the same data the socket sends)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import limits
from ecabinet.api.idempotency import idempotent
from ecabinet.api.input import validated
from ecabinet.api.throttles import AccountRate
from ecabinet.converters import whole_number
from ecabinet.errors import ValidationFailed

from . import permissions, room, services
from .models import AgendaItem, Comment, Position
from .services.room import MAX_COMMENT_LENGTH
from .snapshot import comment_dict, comment_page, snapshot


def _plain(data: dict) -> dict:
    """JSON types only, as the event log stores them. An answer given with an ``Idempotency-Key`` is
    stored in a JSON column to be replayed; datetimes in it made every such write fail (500)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False))



class CommentIn(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_COMMENT_LENGTH, trim_whitespace=True)
    visibility = serializers.ChoiceField(choices=Comment.Visibility.choices, default=Comment.Visibility.SHARED)
    document = serializers.IntegerField(required=False, allow_null=True, default=None)
    page = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)


class CommentEditIn(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_COMMENT_LENGTH)


class FloorIn(serializers.Serializer):
    username = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class PositionIn(serializers.Serializer):
    value = serializers.ChoiceField(choices=Position.Value.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CurrentItemIn(serializers.Serializer):
    item = serializers.IntegerField(allow_null=True)


class ItemStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=AgendaItem.Status.choices)


class ConsentBlockIn(serializers.Serializer):
    items = serializers.ListField(child=serializers.IntegerField(), min_length=1)


def _whole_number(request, name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if whole_number(raw, max_digits=12) is None or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
        bound = _("from %(a)s to %(b)s") % {"a": minimum, "b": maximum} if maximum else _("at least %(a)s") % {
            "a": minimum}
        raise ValidationFailed(_("%(name)s must be a whole number %(bound)s.") % {"name": name, "bound": bound},
                               code=f"invalid_{name}")
    return int(raw)


class CommentsView(APIView):
    throttle_classes = [AccountRate.for_scope("comments")]

    @extend_schema(
        parameters=[OpenApiParameter("before", OpenApiTypes.INT, description="Only comments with a smaller id"),
                    OpenApiParameter("limit", OpenApiTypes.INT,
                                     description="At most this many (1 to ROOM_COMMENTS_PAGE_MAX, the default)")],
        responses=OpenApiTypes.OBJECT,
        summary="Comments on an agenda item visible to the caller, newest page first",
        description="`results`: the newest `limit` visible comments older than `before`, in ascending id; "
                    "`earlier`: how many visible ones are older still (ask again with `before` = the first "
                    "id); `total`: visible comments on the item.")
    def get(self, request, pk: int):
        access, item = permissions.item_access(request.user, pk)
        page_max = settings.ROOM_COMMENTS_PAGE_MAX
        before = _whole_number(request, "before", minimum=1)
        limit = _whole_number(request, "limit", minimum=1, maximum=page_max) or page_max
        return Response(comment_page(access, item.pk, before=before, limit=limit))

    @extend_schema(request=CommentIn, responses={201: OpenApiTypes.OBJECT})
    @idempotent
    def post(self, request, pk: int):
        data = validated(CommentIn, request)
        limits.check_then("comment_chars", request.user, len(data["text"]), counted="comments")
        comment = services.comment_post(actor=request.user, item_id=pk, text=data["text"],
                                             visibility=data["visibility"], document_id=data["document"],
                                             page=data["page"])
        return Response(_plain(comment_dict(comment)), status=201)


class CommentEditView(APIView):
    throttle_classes = [AccountRate.for_scope("comments")]

    @extend_schema(request=CommentEditIn, responses=OpenApiTypes.OBJECT, summary="Edit (history is kept)")
    @idempotent
    def post(self, request, pk: int):
        data = validated(CommentEditIn, request)
        limits.check_then("comment_chars", request.user, len(data["text"]), counted="comments")
        comment = services.comment_edit(actor=request.user, comment_id=pk, text=data["text"])
        return Response(_plain(comment_dict(comment)))


class CommentDeleteView(APIView):
    throttle_classes = [AccountRate.for_scope("comments")]  # a delete counts as a comment write

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, summary="Delete (leaves a tombstone)")
    @idempotent
    def post(self, request, pk: int):
        return Response(_plain(comment_dict(services.comment_delete(actor=request.user, comment_id=pk))))


class SpeakersView(APIView):
    throttle_classes = [AccountRate.for_scope("speaking")]

    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT}, summary="Ask to speak on the item")
    @idempotent
    def post(self, request, pk: int):
        speak = services.speak_request(actor=request.user, item_id=pk)
        return Response({"id": speak.pk, "status": speak.status}, status=201)


class SpeakWithdrawView(APIView):
    throttle_classes = [AccountRate.for_scope("speaking")]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, summary="Withdraw one's request to speak")
    @idempotent
    def post(self, request, pk: int):
        services.speak_withdraw(actor=request.user, item_id=pk)
        return Response({"withdrawn": True})


class FloorView(APIView):
    @extend_schema(request=FloorIn, responses=OpenApiTypes.OBJECT, summary="Give the floor (chair/secretariat)")
    @idempotent
    def post(self, request, pk: int):
        data = validated(FloorIn, request)
        speak = services.floor_give(actor=request.user, item_id=pk, username=data["username"] or None)
        return Response(_plain({"id": speak.pk, "username": speak.user.username, "floor_at": speak.floor_at}))


class FloorEndView(APIView):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, summary="End the current speaker's turn")
    @idempotent
    def post(self, request, pk: int):
        services.floor_end(actor=request.user, item_id=pk)
        return Response({"ended": True})


class PositionView(APIView):
    throttle_classes = [AccountRate.for_scope("positions")]

    @extend_schema(request=PositionIn, responses=OpenApiTypes.OBJECT, summary="Mark one's position on the item")
    @idempotent
    def post(self, request, pk: int):
        data = validated(PositionIn, request)
        position = services.position_set(actor=request.user, item_id=pk, **data)
        return Response({"item": pk, "value": position.value, "note": position.note})


class PositionsTableView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="All positions (secretariat and chair)")
    def get(self, request, pk: int):
        access = permissions.meeting_access(request.user, pk)
        access.require(permissions.sees_all_positions(access))
        rows = Position.objects.filter(agenda_item__meeting=access.meeting).select_related("user")
        table: dict[str, dict] = {}
        for p in rows:
            table.setdefault(str(p.agenda_item_id), {})[p.user.username] = {"value": p.value, "note": p.note}
        candidates = [i.pk for i in services.consent_candidates(access.meeting)]
        return Response({"positions": table, "consent_candidates": candidates})


class CurrentItemView(APIView):
    @extend_schema(request=CurrentItemIn, responses=OpenApiTypes.OBJECT, summary="Move \"now discussing\"")
    @idempotent
    def post(self, request, pk: int):
        data = validated(CurrentItemIn, request)
        meeting = services.agenda_set_current(actor=request.user, meeting_id=pk, item_id=data["item"])
        return Response({"current_item": meeting.current_item_id})


class ItemStatusView(APIView):
    @extend_schema(request=ItemStatusIn, responses=OpenApiTypes.OBJECT)
    @idempotent
    def post(self, request, pk: int):
        data = validated(ItemStatusIn, request)
        item = services.agenda_item_set_status(actor=request.user, item_id=pk, status=data["status"])
        return Response({"id": item.pk, "status": item.status})


class ConsentBlockView(APIView):
    @extend_schema(request=ConsentBlockIn, responses=OpenApiTypes.OBJECT,
                   summary="Chair marks uncontested items decided together")
    @idempotent
    def post(self, request, pk: int):
        data = validated(ConsentBlockIn, request)
        items = services.consent_block_decide(actor=request.user, meeting_id=pk, item_ids=data["items"])
        return Response({"decided": [i.pk for i in items]})


class SnapshotView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The room snapshot (as sent on the socket)")
    def get(self, request, pk: int):
        return Response(snapshot(permissions.meeting_access(request.user, pk)))


class EventsView(APIView):
    @extend_schema(parameters=[OpenApiParameter("after_seq", OpenApiTypes.INT, required=True)],
                   responses=OpenApiTypes.OBJECT, summary="Visible events after a seq (HTTP replay)")
    def get(self, request, pk: int):
        raw = request.query_params.get("after_seq", "")
        if whole_number(raw) is None:
            raise ValidationFailed("after_seq must be a whole number.", code="invalid_after_seq")
        access = permissions.meeting_access(request.user, pk)
        replay = room.replay_for(request.user, pk, int(raw), permissions.audience_tokens(access))
        if replay is None:
            return Response({"snapshot": snapshot(access)})
        texts, head = replay
        return Response({"events": [json.loads(text) for _seq, text in texts], "seq": head})
