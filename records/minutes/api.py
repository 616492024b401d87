"""API v1 for minutes, the session resolution and corrections (DESIGN.md §5.2, issue 5).

Slow steps (rendering, signing) run in the views' ``prepare`` hook, outside the transaction that
stores their result (``ecabinet.api.idempotency``). A PIN is never stored: the sign views' idempotency
fingerprint is the path alone.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import pki
from ecabinet.api.idempotency import idempotent
from ecabinet.api.input import validated
from ecabinet.converters import whole_number
from ecabinet.errors import ValidationFailed
from meetings.models import Minutes, SealedDocument
from records import permissions as records_permissions

from . import drafting, sealing
from .verify import check_against_database, verify_sealed_pdf

Report = inline_serializer("SealedVerification", {
    "ok": serializers.BooleanField(), "document": serializers.DictField(allow_null=True),
    "signatures": serializers.ListField(child=serializers.DictField()), "record": serializers.DictField(),
    "database": serializers.DictField(allow_null=True),
    "problems": serializers.ListField(child=serializers.CharField()),
})
SealedOut = inline_serializer("SealedDocumentOut", {
    "id": serializers.IntegerField(), "kind": serializers.CharField(), "status": serializers.CharField(),
    "number": serializers.CharField(), "sha256": serializers.CharField(), "signatures": serializers.ListField(),
})
MinutesOut = inline_serializer("MinutesOut", {
    "meeting": serializers.IntegerField(), "status": serializers.CharField(), "revision": serializers.IntegerField(),
    "number": serializers.CharField(), "place": serializers.CharField(), "opening": serializers.CharField(),
    "narratives": serializers.DictField(), "decisions": serializers.ListField(),
    "recorded_comments": serializers.ListField(), "record": serializers.DictField(),
    "comments": serializers.ListField(), "comments_total": serializers.IntegerField(),
    "comments_more": serializers.BooleanField(), "document": SealedOut, "can_edit": serializers.BooleanField(),
})


class PinIn(serializers.Serializer):
    pin = serializers.CharField(max_length=200, trim_whitespace=False)
    otp = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                help_text="A current TOTP or recovery code: required (401 mfa_required) when the "
                                          "signer has a second factor enrolled.")


def _pin_otp(data: dict) -> dict:
    return {"pin": data["pin"], "otp": data.get("otp") or None}


class ResolutionIn(PinIn):
    number = serializers.CharField(max_length=60, required=False)


class RevisionIn(serializers.Serializer):
    revision = serializers.IntegerField(min_value=1)


class EditIn(serializers.Serializer):
    revision = serializers.IntegerField(min_value=1)
    opening = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    narratives = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                       required=False)
    decisions = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)
    recorded_comments = serializers.ListField(child=serializers.IntegerField(), required=False)
    number = serializers.CharField(required=False)
    place = serializers.CharField(required=False)


class CommentIn(serializers.Serializer):
    text = serializers.CharField(max_length=drafting.MAX_COMMENT_LENGTH)
    item = serializers.IntegerField(required=False, allow_null=True)


class CorrectionIn(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)


def sealed_out(document: SealedDocument | None) -> dict | None:
    if document is None:
        return None
    return {"id": document.pk, "kind": document.kind, "status": document.status, "number": document.number,
            "title": document.title, "sha256": document.sha256, "size": document.size,
            "record_sha256": document.record_sha256,
            "audit_checkpoint": {"seq": document.audit_seq, "hash": document.audit_hash},
            "corrects": document.corrects_id, "created_at": document.created_at, "sealed_at": document.sealed_at,
            "signatures": [{"role": s.role, "signer": s.signer.username, "signer_name": s.signer.full_name,
                            "signed_at": s.signed_at, "certificate_subject": s.certificate_subject,
                            "certificate_sha256": s.certificate_sha256}
                           for s in document.signatures.select_related("signer").order_by("signed_at", "id")]}


def _comments_page(access, minutes: Minutes, before: int | None) -> tuple[list, int, bool]:
    """The newest ``MINUTES_COMMENTS_PAGE`` comments (older than ``before``), in ascending id; the
    count of all; whether older ones are left (issue 14: 250 comments made the answer 1 MB)."""
    if not records_permissions.minutes_actions(access, minutes, None).reads_comments:
        return [], 0, False
    every = minutes.comments.all()
    older = every.filter(pk__lt=before) if before is not None else every
    size = max(1, settings.MINUTES_COMMENTS_PAGE)
    page = list(older.select_related("author").order_by("-pk")[: size + 1])
    return page[:size][::-1], every.count(), len(page) > size


def minutes_out(access, minutes: Minutes, *, comments_before: int | None = None) -> dict:
    comments, total, more = _comments_page(access, minutes, comments_before)
    return {
        "meeting": minutes.meeting_id, "status": minutes.status, "revision": minutes.revision,
        "number": minutes.number, "place": minutes.place, "opening": minutes.opening,
        "narratives": minutes.narratives, "decisions": minutes.decisions,
        "recorded_comments": minutes.recorded_comments, "record": minutes.record,
        "generated_at": minutes.generated_at, "updated_at": minutes.updated_at, "finalized_at": minutes.finalized_at,
        "comments": [{"id": c.pk, "author": c.author.username, "author_name": c.author.full_name, "item": c.item_id,
                      "text": c.text, "created_at": c.created_at} for c in comments],
        "comments_total": total, "comments_more": more,
        "document": sealed_out(minutes.document),
        "can_edit": records_permissions.minutes_actions(access, minutes, None).can_edit,
    }


def pdf_response(document: SealedDocument) -> HttpResponse:
    """The file exactly as signed: never watermarked (that would break the signatures)."""
    response = HttpResponse(drafting.read_bytes(document), content_type="application/pdf")
    filename = f"ecabinet-{document.kind}-{document.meeting_id}-{document.pk}.pdf"
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Digest"] = f"sha-256={document.sha256}"
    return response


def verification(document: SealedDocument) -> dict:
    result = verify_sealed_pdf(drafting.read_bytes(document), trust_roots=pki.trust_roots_from_settings(),
                               tsa_roots=pki.tsa_roots_from_settings(),
                               complete=document.status == SealedDocument.Status.SEALED)
    check_against_database(result)
    answer = result.as_dict()
    answer["status"] = document.status
    return answer


class _PathFingerprint:
    def idempotency_fingerprint(self, request) -> str:
        return hashlib.sha256(f"{request.method} {request.path}".encode()).hexdigest()


class MinutesView(APIView):
    body_limit = "text"  # the whole minutes' text in one edit (ecabinet.http_limits)

    @extend_schema(
        responses=MinutesOut, summary="The minutes: draft text, record, comments, rendered document",
        parameters=[OpenApiParameter("comments_before", OpenApiTypes.INT,
                                     description="Only comments with a smaller id (the next older page)")],
        description="`comments`: the newest MINUTES_COMMENTS_PAGE comments (older than `comments_before`), in "
                    "ascending id; `comments_total`: all comments on the draft; `comments_more`: older ones left.")
    def get(self, request, pk: int):
        before = request.query_params.get("comments_before")
        if before is not None and whole_number(before) is None:
            raise ValidationFailed(_("comments_before must be a comment id."), code="invalid")
        access, minutes = drafting.minutes_view(actor=request.user, meeting_id=pk)
        return Response(minutes_out(access, minutes, comments_before=int(before) if before is not None else None))

    @extend_schema(request=None, responses={201: MinutesOut, 200: MinutesOut},
                   summary="Generate the draft minutes from the session record (again while a draft: 200)")
    @idempotent
    def post(self, request, pk: int):
        minutes, created = drafting.minutes_generate(actor=request.user, meeting_id=pk)
        access, minutes = drafting.minutes_for(actor=request.user, meeting_id=pk)
        return Response(minutes_out(access, minutes), status=201 if created else 200)

    @extend_schema(request=EditIn, responses=MinutesOut, summary="Edit the draft (revision from the last read)")
    def patch(self, request, pk: int):
        data = dict(validated(EditIn, request))
        revision = data.pop("revision")
        drafting.minutes_update(actor=request.user, meeting_id=pk, revision=revision, changes=data)
        access, minutes = drafting.minutes_for(actor=request.user, meeting_id=pk)
        return Response(minutes_out(access, minutes))


class MinutesCommentsView(APIView):
    @extend_schema(request=CommentIn, responses={201: OpenApiTypes.OBJECT}, summary="Comment on the draft")
    @idempotent
    def post(self, request, pk: int):
        data = validated(CommentIn, request)
        comment = drafting.minutes_comment(actor=request.user, meeting_id=pk, text=data["text"],
                                           item_id=data.get("item"))
        return Response({"id": comment.pk, "text": comment.text, "item": comment.item_id,
                         "created_at": comment.created_at}, status=201)


class MinutesFinalizeView(APIView):
    def prepare(self, request, pk: int):
        data = validated(RevisionIn, request)
        return sealing.plan_minutes_finalize(actor=request.user, meeting_id=pk, revision=data["revision"])

    @extend_schema(request=RevisionIn, responses=MinutesOut, summary="Freeze the text and render the PDF to sign")
    @idempotent
    def post(self, request, pk: int):
        request.prepared()
        access, minutes = drafting.minutes_for(actor=request.user, meeting_id=pk)
        return Response(minutes_out(access, minutes))


class MinutesSignView(_PathFingerprint, APIView):
    def prepare(self, request, pk: int):
        return sealing.plan_minutes_sign(actor=request.user, meeting_id=pk, **_pin_otp(validated(PinIn, request)))

    @extend_schema(request=PinIn, responses=SealedOut,
                   summary="Sign with the caller's own key: the secretary first, then the chair, who seals")
    @idempotent
    def post(self, request, pk: int):
        return Response(sealed_out(request.prepared()))


class MinutesPdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, summary="The minutes PDF as signed")
    def get(self, request, pk: int):
        document = drafting.sealed_download(actor=request.user, meeting_id=pk, kind="minutes")
        return pdf_response(document)


class MinutesVerifyView(APIView):
    @extend_schema(responses=Report, summary="Verify the minutes: every signature and the embedded record")
    def get(self, request, pk: int):
        return Response(verification(drafting.sealed_for(actor=request.user, meeting_id=pk, kind="minutes")))


class ResolutionSignView(_PathFingerprint, APIView):
    def prepare(self, request, pk: int):
        data = validated(ResolutionIn, request)
        return sealing.plan_resolution_sign(actor=request.user, meeting_id=pk, number=data.get("number"),
                                            **_pin_otp(data))

    @extend_schema(request=ResolutionIn, responses={201: SealedOut},
                   summary="Render and sign the session resolution (the chair alone)")
    @idempotent
    def post(self, request, pk: int):
        return Response(sealed_out(request.prepared()), status=201)


class ResolutionPdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, summary="The session resolution PDF")
    def get(self, request, pk: int):
        document = drafting.sealed_download(actor=request.user, meeting_id=pk, kind="resolution")
        return pdf_response(document)


class ResolutionVerifyView(APIView):
    @extend_schema(responses=Report, summary="Verify the session resolution")
    def get(self, request, pk: int):
        return Response(verification(drafting.sealed_for(actor=request.user, meeting_id=pk, kind="resolution")))


class CorrectionsView(APIView):
    @extend_schema(responses=inline_serializer("CorrectionList", {"results": SealedOut}),
                   summary="Corrections of the sealed minutes")
    def get(self, request, pk: int):
        access, _minutes = drafting.minutes_for(actor=request.user, meeting_id=pk)
        documents = SealedDocument.objects.filter(meeting=access.meeting, kind=SealedDocument.Kind.CORRECTION)
        return Response({"results": [sealed_out(d) for d in documents.order_by("created_at", "id")]})

    def prepare(self, request, pk: int):
        return sealing.plan_correction_create(actor=request.user, meeting_id=pk,
                                              text=validated(CorrectionIn, request)["text"])

    @extend_schema(request=CorrectionIn, responses={201: SealedOut},
                   summary="Draw up a correction of the sealed minutes (a new document to sign)")
    @idempotent
    def post(self, request, pk: int):
        return Response(sealed_out(request.prepared()), status=201)


class CorrectionSignView(_PathFingerprint, APIView):
    def prepare(self, request, pk: int, cid: int):
        document = drafting.sealed_for(actor=request.user, meeting_id=pk, kind="correction", document_id=cid)
        return sealing.plan_document_sign(actor=request.user, document=document,
                                          **_pin_otp(validated(PinIn, request)))

    @extend_schema(request=PinIn, responses=SealedOut, summary="Sign a correction: the secretary, then the chair")
    @idempotent
    def post(self, request, pk: int, cid: int):
        return Response(sealed_out(request.prepared()))


class CorrectionPdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, summary="A correction PDF")
    def get(self, request, pk: int, cid: int):
        document = drafting.sealed_download(actor=request.user, meeting_id=pk, kind="correction", document_id=cid)
        return pdf_response(document)


class CorrectionVerifyView(APIView):
    @extend_schema(responses=Report, summary="Verify a correction")
    def get(self, request, pk: int, cid: int):
        document = drafting.sealed_for(actor=request.user, meeting_id=pk, kind="correction", document_id=cid)
        return Response(verification(document))

