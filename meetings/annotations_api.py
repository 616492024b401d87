"""API v1 of annotations on documents (issue 17, contract C4 in docs/api.md):

* ``GET  /api/v1/documents/{id}/annotations/?version=N`` — the caller's own and the others' they may
  see, on version N (default: the current one): ``{"version", "results", "unplaced"}``;
* ``POST /api/v1/documents/{id}/annotations/`` — annotate a page → 201;
* ``PATCH /api/v1/annotations/{id}/`` — change one's own → 200; ``DELETE`` → 204 (a tombstone).

Writes honour ``Idempotency-Key`` and count against the ``annotations`` rate (POST, PATCH and DELETE
alike); a note's text also against ``comment_chars``. What the caller may not see is 404, someone
else's annotation they see is 403 ``not_author``; bad input is 400 with its code (docs/limits.md).
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import limits
from ecabinet.api.idempotency import idempotent
from ecabinet.api.input import validated
from ecabinet.api.throttles import AccountWriteRate
from ecabinet.converters import whole_number
from ecabinet.errors import NotFound, ValidationFailed

from . import permissions, services
from .models import Annotation
from .services.annotations import annotation_dict, own_annotation

JSON_MAX_ITEMS = "ANNOTATION_JSON_MAX_ITEMS"  # a drawing may have thousands of points (ecabinet.jsonguard)


@extend_schema_field({"type": "array", "maxItems": 200, "description": "Highlight: rectangles [x, y, width, height], "
                      "fractions 0..1 of the page (x + width ≤ 1, y + height ≤ 1).",
                      "items": {"type": "array", "minItems": 4, "maxItems": 4,
                                "items": {"type": "number", "minimum": 0, "maximum": 1}}})
class RectsField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "maxItems": 50, "description": "Drawing: strokes, each a list of [x, y] "
                      "points (fractions 0..1 of the page); at most ANNOTATION_MAX_POINTS (5,000) points in all.",
                      "items": {"type": "array", "minItems": 1,
                                "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                          "items": {"type": "number", "minimum": 0, "maximum": 1}}}})
class InkField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "nullable": True, "minItems": 2, "maxItems": 2,
                      "description": "Note: its place [x, y], fractions 0..1 of the page.",
                      "items": {"type": "number", "minimum": 0, "maximum": 1}})
class PointField(serializers.JSONField):
    pass


class AnnotationIn(serializers.Serializer):
    """A new annotation. Shapes and bounds are checked by the service (docs/limits.md § Annotations),
    each refusal with its own code."""

    version = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                       help_text="Version number; default the current version.")
    page = serializers.IntegerField(min_value=1, help_text="1-based page of that version.")
    kind = serializers.ChoiceField(choices=Annotation.Kind.choices)
    visibility = serializers.ChoiceField(choices=Annotation.Visibility.choices, default=Annotation.Visibility.PRIVATE)
    color = serializers.ChoiceField(choices=Annotation.Color.choices, default=Annotation.Color.YELLOW)
    rects = RectsField(required=False, allow_null=True, default=None)
    ink = InkField(required=False, allow_null=True, default=None)
    point = PointField(required=False, allow_null=True, default=None)
    quote = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                  help_text="The text it is anchored to (at most ANNOTATION_MAX_QUOTE_CHARS, 1,000).")
    text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                 help_text="The note (at most COMMENT_MAX_CHARS, 4,000).")


class AnnotationPatchIn(serializers.Serializer):
    """The fields to change (only those given)."""

    visibility = serializers.ChoiceField(choices=Annotation.Visibility.choices, required=False)
    color = serializers.ChoiceField(choices=Annotation.Color.choices, required=False)
    rects = RectsField(required=False, allow_null=True)
    ink = InkField(required=False, allow_null=True)
    point = PointField(required=False, allow_null=True)
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class AuthorOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AnnotationOut(serializers.Serializer):
    """An annotation (contract C4)."""

    id = serializers.IntegerField()
    document = serializers.IntegerField()
    version = serializers.IntegerField(help_text="Version number.")
    page = serializers.IntegerField(help_text="1-based.")
    kind = serializers.ChoiceField(choices=Annotation.Kind.choices)
    visibility = serializers.ChoiceField(choices=Annotation.Visibility.choices)
    color = serializers.ChoiceField(choices=Annotation.Color.choices)
    rects = RectsField()
    ink = InkField()
    point = PointField()
    quote = serializers.CharField(help_text="Whitespace collapsed.")
    text = serializers.CharField()
    author = AuthorOut()
    mine = serializers.BooleanField(help_text="Left out of live events (compare author.id).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    placement = serializers.ChoiceField(choices=Annotation.Placement.choices,
                                        help_text="unplaced: carried from the previous version, its quote not "
                                                  "found in this one (rects empty).")
    carried_from = serializers.IntegerField(allow_null=True, help_text="The annotation of the previous version "
                                                                       "this one was copied from.")


class AnnotationListOut(serializers.Serializer):
    version = serializers.IntegerField()
    results = AnnotationOut(many=True, help_text="Placed annotations, by page then id.")
    unplaced = AnnotationOut(many=True, help_text="Carried from the previous version and not found in this one.")


def _plain(data: dict) -> dict:
    """JSON types only (datetimes as strings): an answer given with an ``Idempotency-Key`` is stored
    in a JSON column and replayed (as ``room_api._plain``)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False))


def _version_param(request) -> int | None:
    raw = request.query_params.get("version")
    if raw is None or raw == "":
        return None
    if whole_number(raw, max_digits=9) is None or int(raw) < 1:
        raise ValidationFailed(_("version must be a whole number from 1."), code="invalid_version")
    return int(raw)


def _text_cost(request, data: dict) -> None:
    """A note's characters count against the hourly ``comment_chars`` volume, as a comment's do; a note
    refused for them does not count against ``annotations`` either."""
    text = data.get("text")
    if isinstance(text, str) and text:
        limits.check_then("comment_chars", request.user, len(text), counted="annotations")


class DocumentAnnotationsView(APIView):
    throttle_classes = [AccountWriteRate.for_scope("annotations")]  # POST, PATCH and DELETE alike
    json_max_items = JSON_MAX_ITEMS

    @extend_schema(parameters=[OpenApiParameter("version", OpenApiTypes.INT,
                                                description="Version number (default: the current one)")],
                   responses=AnnotationListOut,
                   summary="Annotations on a version of a document that the caller may see",
                   description="The caller's own (any visibility) and the others' shared ones (and, for the "
                               "secretariat, those sent to it); deleted ones are left out.")
    def get(self, request, pk: int):
        access, document = permissions.document_access(request.user, pk)
        number = _version_param(request)
        version = document.current_version if number is None else document.versions.filter(number=number).first()
        if version is None:
            raise NotFound()
        version.document = document
        results, unplaced = [], []
        for a in permissions.visible_annotations(access, version):
            a.version = version
            (unplaced if a.placement == Annotation.Placement.UNPLACED else results).append(
                annotation_dict(a, request.user.pk))
        # (not through _plain: a list is never stored for replay, and its worst case is large — the
        # authors' budgets, docs/limits.md § Annotations — so it is serialised once, by the renderer)
        return Response({"version": version.number, "results": results, "unplaced": unplaced})

    @extend_schema(request=AnnotationIn, responses={201: AnnotationOut}, summary="Annotate a page")
    @idempotent
    def post(self, request, pk: int):
        permissions.document_access(request.user, pk)  # 404 before the body is looked at
        data = validated(AnnotationIn, request)
        _text_cost(request, data)
        a = services.annotation_create(actor=request.user, document_id=pk, version_number=data["version"],
                                       page=data["page"], kind=data["kind"], visibility=data["visibility"],
                                       color=data["color"], rects=data["rects"], ink=data["ink"],
                                       point=data["point"], quote=data["quote"], text=data["text"])
        return Response(_plain(annotation_dict(a, request.user.pk)), status=201)


class AnnotationView(APIView):
    throttle_classes = [AccountWriteRate.for_scope("annotations")]  # POST, PATCH and DELETE alike
    json_max_items = JSON_MAX_ITEMS

    @extend_schema(request=AnnotationPatchIn, responses=AnnotationOut, summary="Change one's own annotation")
    @idempotent
    def patch(self, request, pk: int):
        own_annotation(request.user, pk)  # 404 / 403 before the body is looked at
        if isinstance(request.data, dict):
            unknown = sorted(set(request.data) - set(AnnotationPatchIn().fields))
            if unknown:  # (page, kind, author…: not silently ignored)
                raise ValidationFailed(_("Only text, color, visibility, rects, ink and point can be changed."),
                                       code="not_editable", field=unknown[0])
        data = validated(AnnotationPatchIn, request)
        _text_cost(request, data)
        a = services.annotation_update(actor=request.user, annotation_id=pk, **data)
        return Response(_plain(annotation_dict(a, request.user.pk)))

    @extend_schema(request=None, responses={204: None}, summary="Delete one's own annotation (a tombstone stays)")
    @idempotent
    def delete(self, request, pk: int):
        services.annotation_delete(actor=request.user, annotation_id=pk)
        return Response(status=204)
