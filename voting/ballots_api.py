"""API v1 for written opinion ballots (issue #4 §6), mounted under ``/api/v1/`` by ``voting.api_urls``.

Views parse input, call one service, and shape the answer; failures are domain exceptions, turned
into ``{"code", "detail"}`` by ``ecabinet.api.errors``. Every POST is ``@idempotent``. A ballot the
caller may not see answers 404, exactly like a missing one.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)
from ecabinet.api.idempotency import idempotent
from ecabinet.api.input import validated
from ecabinet.api.throttles import AccountRate, UploadRate
from ecabinet.converters import whole_number
from ecabinet.errors import ValidationFailed

from .ballot_downloads import ballot_document_response, pdf_response
from .ballot_serializers import (
    AnswersInSerializer,
    BallotCreateSerializer,
    BallotDetailSerializer,
    BallotDocumentOutSerializer,
    BallotDocumentUploadSerializer,
    BallotMeetingSerializer,
    BallotRecipientsSerializer,
    BallotRowSerializer,
    MyAnswersSerializer,
    QuestionCreateSerializer,
    QuestionOutSerializer,
    ballot_detail,
    ballot_rows,
    my_answers,
)
from .ballot_summary import summarize
from .pdf import render_summary_pdf
from .permissions import ballot_access
from .services import ballot_answers, ballot_closing
from .services import ballots as services

TAG = ["ballots"]
BallotList = inline_serializer("BallotListPage", {"results": BallotRowSerializer(many=True)})
RecipientsOut = inline_serializer("BallotRecipientsOut", {"recipients": serializers.ListField(
    child=serializers.CharField())})
PDF = {(200, "application/pdf"): OpenApiTypes.BINARY}



def _detail(request, pk: int) -> dict:
    return ballot_detail(ballot_access(request.user, pk, services.current_time()))


class BallotListView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_list", responses=BallotList,
                   parameters=[OpenApiParameter("meeting", OpenApiTypes.INT, description=(
                       "Only the ballots linked to this session (an empty list unless you may see the session)"))],
                   summary="Ballots I may open: mine as a recipient; all for the secretariat; closed ones "
                           "for archivists")
    def get(self, request):
        meeting = request.query_params.get("meeting")
        if meeting is not None and whole_number(meeting) is None:
            raise ValidationFailed(_("The meeting parameter is the id of a session."), code="invalid_meeting")
        ballots = services.ballots_list(actor=request.user,
                                        meeting=int(meeting) if meeting is not None else None)
        return Response({"results": ballot_rows(ballots, request.user, services.current_time())})

    @extend_schema(tags=TAG, operation_id="ballots_create", request=BallotCreateSerializer,
                   responses={201: BallotDetailSerializer},
                   summary="Create a draft ballot (secretariat); addressed to every active member until changed")
    @idempotent
    def post(self, request):
        data = validated(BallotCreateSerializer, request)
        ballot = services.ballot_create(actor=request.user, **data)
        return Response(_detail(request, ballot.pk), status=201)


class BallotDetailView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_retrieve", responses=BallotDetailSerializer,
                   summary="A ballot: questions, drafts, my answers with their history; recipients for the "
                           "secretariat")
    def get(self, request, pk: int):
        access = services.ballot_view(actor=request.user, ballot_id=pk, what="api")
        return Response(ballot_detail(access))


class MeetingLinkView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_meeting_set", request=BallotMeetingSerializer,
                   responses=BallotDetailSerializer,
                   summary="Link a draft ballot to a session, or unlink it (null): secretariat of the ballots and "
                           "of the session; 400 unknown_meeting, 403 meeting_not_managed, 409 ballot_not_draft")
    @idempotent
    def post(self, request, pk: int):
        access = ballot_access(request.user, pk, services.current_time())  # 404 before the body is read
        access.require(access.can_manage)
        data = validated(BallotMeetingSerializer, request)
        services.ballot_link_meeting(actor=request.user, ballot=pk, meeting=data["meeting"])
        return Response(_detail(request, pk))


class QuestionsView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_questions_create", request=QuestionCreateSerializer,
                   responses={201: QuestionOutSerializer}, summary="Add a question to a draft ballot (secretariat)")
    @idempotent
    def post(self, request, pk: int):
        data = validated(QuestionCreateSerializer, request)
        question = services.ballot_question_add(actor=request.user, ballot=pk, text=data["text"])
        return Response({"id": question.pk, "position": question.position, "text": question.text}, status=201)


class DocumentsView(APIView):
    body_limit = "upload"  # a PDF up to DOCUMENT_MAX_BYTES (ecabinet.http_limits)
    throttle_classes = [UploadRate]

    @extend_schema(tags=TAG, operation_id="ballots_documents_create",
                   request={"multipart/form-data": BallotDocumentUploadSerializer},
                   responses={201: BallotDocumentOutSerializer},
                   summary="Attach a PDF draft to a draft ballot (secretariat); checked like session documents")
    def prepare(self, request, pk: int):
        """Parse and inspect the upload before the transaction opens (``meetings.pdfcheck``)."""
        data = validated(BallotDocumentUploadSerializer, request)
        return data, services.ballot_document_add_prepare(actor=request.user, ballot=pk, title=data["title"],
                                                          upload=data["file"])

    @idempotent
    def post(self, request, pk: int):
        data, inspected = request.prepared
        document = services.ballot_document_add(actor=request.user, ballot=pk, title=data["title"],
                                                 upload=data["file"], inspected=inspected)
        return Response({"id": document.pk, "title": document.title, "sha256": document.sha256,
                         "pages": document.pages, "size": document.size,
                         "download_url": reverse("api_ballot_document_download", args=[pk, document.pk])}, status=201)


class RecipientsView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_recipients_set", request=BallotRecipientsSerializer,
                   responses=RecipientsOut, summary="Replace the recipients of a draft ballot (secretariat)")
    @idempotent
    def post(self, request, pk: int):
        data = validated(BallotRecipientsSerializer, request)
        users = services.ballot_recipients_set(actor=request.user, ballot=pk, usernames=data["recipients"])
        return Response({"recipients": [u.username for u in users]})


class IssueView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_issue", request=None, responses=BallotDetailSerializer,
                   summary="Issue a draft ballot: notifies every recipient in the app and by e-mail")
    @idempotent
    def post(self, request, pk: int):
        services.ballot_issue(actor=request.user, ballot=pk)
        return Response(_detail(request, pk))


class CloseView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_close", request=None, responses=BallotDetailSerializer,
                   summary="Close an open ballot (secretariat): before the deadline only once everyone has "
                           "answered every question (409 answers_pending)")
    @idempotent
    def post(self, request, pk: int):
        ballot_closing.ballot_close(actor=request.user, ballot=pk)
        return Response(_detail(request, pk))


class AnswersView(APIView):
    throttle_classes = [AccountRate.for_scope("ballot_answers")]

    @extend_schema(tags=TAG, operation_id="ballots_answers_create", request=AnswersInSerializer,
                   responses=MyAnswersSerializer,
                   summary="Answer (or change answers) until the deadline: one answer or several, all or "
                           "nothing; 400 opinion_required, 409 ballot_closed")
    @idempotent
    def post(self, request, pk: int):
        data = validated(AnswersInSerializer, request)
        if data.get("answers") is not None:
            answers = [dict(a) for a in data["answers"]]
        elif data.get("question") is not None and data.get("choice") is not None:
            answers = [{"question": data["question"], "choice": data["choice"], "opinion": data["opinion"]}]
        else:
            raise ValidationFailed("Send question and choice, or a list of answers.", code="answers_required")
        ballot_answers.ballot_answer(actor=request.user, ballot=pk, answers=answers)
        return Response({"answers": my_answers(pk, request.user)})


class SummaryView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_summary", responses=OpenApiTypes.OBJECT,
                   summary="Counts per question, each member's answer and opinion, who did not answer "
                           "(secretariat; recipients and archivists once closed)")
    def get(self, request, pk: int):
        access = services.ballot_view(actor=request.user, ballot_id=pk, what="summary")
        return Response(summarize(access.ballot, services.current_time()).as_dict())


class SummaryPdfView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_summary_pdf", responses=PDF,
                   summary="The summary as a PDF administrative document")
    def get(self, request, pk: int) -> HttpResponse:
        access = services.ballot_view(actor=request.user, ballot_id=pk, what="summary_pdf")
        now = services.current_time()
        data, _html = render_summary_pdf(summarize(access.ballot, now), generated_at=now)
        name = f"tong-hop-y-kien-{slugify(access.ballot.title)[:60] or access.ballot.pk}.pdf"
        return pdf_response(data, name, inline=request.query_params.get("inline") == "1")


class DocumentDownloadView(APIView):
    @extend_schema(tags=TAG, operation_id="ballots_documents_download",
                   parameters=[OpenApiParameter("inline", OpenApiTypes.BOOL, description="Show in the browser")],
                   responses=PDF, summary="A draft of the ballot, watermarked for the caller")
    def get(self, request, pk: int, doc: int) -> HttpResponse:
        return ballot_document_response(request, pk, doc, inline=request.query_params.get("inline") == "1")


urlpatterns = [
    path("ballots/", BallotListView.as_view(), name="api_ballots"),
    path("ballots/<id:pk>/", BallotDetailView.as_view(), name="api_ballot"),
    path("ballots/<id:pk>/meeting/", MeetingLinkView.as_view(), name="api_ballot_meeting"),
    path("ballots/<id:pk>/questions/", QuestionsView.as_view(), name="api_ballot_questions"),
    path("ballots/<id:pk>/documents/", DocumentsView.as_view(), name="api_ballot_documents"),
    path("ballots/<id:pk>/documents/<id:doc>/download/", DocumentDownloadView.as_view(),
         name="api_ballot_document_download"),
    path("ballots/<id:pk>/recipients/", RecipientsView.as_view(), name="api_ballot_recipients"),
    path("ballots/<id:pk>/issue/", IssueView.as_view(), name="api_ballot_issue"),
    path("ballots/<id:pk>/close/", CloseView.as_view(), name="api_ballot_close"),
    path("ballots/<id:pk>/answers/", AnswersView.as_view(), name="api_ballot_answers"),
    path("ballots/<id:pk>/summary/", SummaryView.as_view(), name="api_ballot_summary"),
    path("ballots/<id:pk>/summary.pdf", SummaryPdfView.as_view(), name="api_ballot_summary_pdf"),
]
