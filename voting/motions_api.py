"""API v1 for in-session motions and votes (issue #4, DESIGN.md §5.2).

Views parse input, call one service of ``voting.services.motions`` and shape the answer; failures
are domain exceptions, turned into ``{"code", "detail"}`` by ``ecabinet.api.errors``. Whoever may
not see the session gets 404, as for a motion that does not exist.

The receipt of a vote is in the first answer only: it is added after the idempotency layer has
stored the answer, so no copy of the token is kept and a replay carries ``"receipt": null``.
"""

from __future__ import annotations

import functools
import hashlib

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)
from ecabinet.api.idempotency import idempotent
from ecabinet.api.input import validated
from ecabinet.api.throttles import AccountRate
from ecabinet.errors import DomainError, ValidationFailed
from ecabinet.textlimits import description_max
from meetings import permissions

from . import legal, receipts
from .models import Motion, SecretChoice, Vote
from .motion_state import motion_dict, motions_state, my_vote_dict, public_result, tally_of, voting_rules
from .services import motions as services
from .services import votes
from .tally import PRESETS, citation_of

# --- shapes ---------------------------------------------------------------------------------------

class MotionIn(serializers.Serializer):
    title = serializers.CharField(max_length=services.MAX_TITLE)
    text = serializers.CharField(max_length=description_max(), required=False, allow_blank=True, default="")
    method = serializers.ChoiceField(choices=Motion.Method.choices, default=Motion.Method.NAMED)
    rule = serializers.ChoiceField(choices=list(PRESETS), required=False, allow_null=True, default=None,
                                   help_text="A preset name; the session's voting rule when left out")


class VoteIn(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Motion.Choice.choices)


class ReceiptIn(serializers.Serializer):
    receipt = serializers.CharField(max_length=100)


class VotingRulesIn(serializers.Serializer):
    rule = serializers.ChoiceField(choices=list(PRESETS))
    substitutes_may_vote = serializers.BooleanField()
    votes_may_change = serializers.BooleanField()


MotionOut = inline_serializer("Motion", {
    "id": serializers.IntegerField(), "meeting": serializers.IntegerField(),
    "agenda_item": serializers.IntegerField(), "title": serializers.CharField(), "text": serializers.CharField(),
    "method": serializers.CharField(), "rule": serializers.CharField(), "status": serializers.CharField(),
    "substitutes_may_vote": serializers.BooleanField(), "votes_may_change": serializers.BooleanField(),
    "opened_at": serializers.DateTimeField(allow_null=True), "closed_at": serializers.DateTimeField(allow_null=True),
    "tally": serializers.DictField(help_text="named: yes, no, abstain, voted, voters; secret: voted"),
    "result": serializers.DictField(allow_null=True), "my_vote": serializers.DictField(allow_null=True)})
ResultOut = inline_serializer("MotionResult", {
    "motion": serializers.IntegerField(), "yes": serializers.IntegerField(), "no": serializers.IntegerField(),
    "abstain": serializers.IntegerField(), "eligible": serializers.IntegerField(),
    "present": serializers.IntegerField(), "quorum_met": serializers.BooleanField(),
    "adopted": serializers.BooleanField(), "outcome": serializers.CharField(), "rule": serializers.CharField(),
    "citation": serializers.CharField(), "method": serializers.CharField(), "closed_at": serializers.CharField(),
    "rule_version": serializers.CharField(required=False, help_text="the version of the rule's legal basis in force "
                                          "on the session's date (voting.legal); absent in results frozen before it"),
    "instrument": serializers.CharField(required=False), "articles": serializers.CharField(required=False),
    "in_force_from": serializers.CharField(required=False, allow_null=True),
    "in_force_until": serializers.CharField(required=False, allow_null=True),
    "citation_vi": serializers.CharField(required=False),
    "roll_call": serializers.ListField(child=serializers.DictField(), required=False,
                                       help_text="named votes: username, full_name, choice, on_behalf_of"),
    "participation": serializers.ListField(child=serializers.DictField(), required=False,
                                           help_text="secret votes: who took part")})
RecordOut = inline_serializer("MotionRecord", {
    "motion": serializers.IntegerField(), "title": serializers.CharField(), "text": serializers.CharField(),
    "result": serializers.DictField(help_text="the frozen result with the receipt hashes: in the roll call "
                                              "(named), or as sorted (receipt_hash, choice) pairs (secret)")})
VoteOut = inline_serializer("VoteCast", {
    "motion": serializers.IntegerField(), "method": serializers.CharField(), "voted": serializers.BooleanField(),
    "choice": serializers.CharField(required=False, help_text="named votes only"),
    "on_behalf_of": serializers.CharField(allow_null=True),
    "receipt": serializers.CharField(allow_null=True, help_text="shown once: null in a replayed answer")})
VerifyOut = inline_serializer("ReceiptCheck", {
    "found": serializers.BooleanField(), "choice": serializers.CharField(allow_null=True),
    "published": serializers.BooleanField(help_text="checked against the published record (after close)")})
RulesOut = inline_serializer("VotingRules", {
    "rule": serializers.CharField(), "substitutes_may_vote": serializers.BooleanField(),
    "votes_may_change": serializers.BooleanField(),
    "presets": serializers.ListField(child=serializers.DictField(), required=False)})


def motion_detail(motion: Motion, user) -> dict:
    mine = Vote.objects.filter(motion=motion, voter=user).select_related("on_behalf_of").first()
    on_behalf = mine.on_behalf_of.username if mine and mine.on_behalf_of_id else None
    return {**motion_dict(motion, tally_of(motion)), "meeting": motion.agenda_item.meeting_id,
            "opened_at": motion.opened_at, "closed_at": motion.closed_at, "my_vote": my_vote_dict(mine, on_behalf)}


def _closed(user, pk: int) -> Motion:
    _access, motion = services.motion_access(user, pk)
    if motion.status != Motion.Status.CLOSED:
        raise services.MotionNotClosed()
    return motion


def _result(motion: Motion) -> dict:
    return {"motion": motion.pk, **public_result(motion.result)}


def _preset_entry(preset, day) -> dict:
    """A preset as the session's rules list it: the citation of the version in force on its date."""
    try:
        basis = legal.preset_version(preset.name, day)
    except legal.NoVersionInForce:
        return {"name": preset.name, "citation": preset.citation, "rule_version": None}
    return {"name": preset.name, "citation": citation_of(preset, basis), "rule_version": basis.id,
            "instrument": basis.instrument, "articles": basis.articles}


def _rules(meeting) -> dict:
    day = legal.session_day(meeting.starts_at)
    return {**voting_rules(meeting), "presets": [_preset_entry(p, day) for p in PRESETS.values()]}


def receipt_shown_once(post):
    """Add the receipt token (left by the view in ``self.receipt``) to the first answer only,
    outside ``idempotent``: the stored answer has ``"receipt": null``, and so has a replay."""

    @functools.wraps(post)
    def wrapper(self, request, *args, **kwargs):
        self.receipt = None
        response = post(self, request, *args, **kwargs)
        if self.receipt and response.status_code == 201 and not response.has_header("Idempotent-Replayed"):
            response.data = {**response.data, "receipt": self.receipt}
        return response

    return wrapper


# --- views ----------------------------------------------------------------------------------------

class ItemMotionsView(APIView):
    @extend_schema(responses=inline_serializer("MotionList", {"results": serializers.ListField(
        child=serializers.DictField())}), summary="The motions of an agenda item")
    def get(self, request, pk: int):
        access, item = permissions.item_access(request.user, pk)
        return Response({"results": motions_state(access, list(item.motions.order_by("id")))})

    @extend_schema(request=MotionIn, responses={201: MotionOut}, summary="Put a motion (chair or secretariat)")
    @idempotent
    def post(self, request, pk: int):
        data = validated(MotionIn, request)
        motion = services.motion_create(actor=request.user, item_id=pk, **data)
        return Response(motion_detail(motion, request.user), status=201)


class MotionDetailView(APIView):
    @extend_schema(responses=MotionOut, summary="A motion, its live tally and the caller's own vote")
    def get(self, request, pk: int):
        _access, motion = services.motion_access(request.user, pk)
        return Response(motion_detail(motion, request.user))


class MotionOpenView(APIView):
    @extend_schema(request=None, responses=MotionOut, summary="Open the vote (chair or secretariat)")
    @idempotent
    def post(self, request, pk: int):
        motion = services.motion_open(actor=request.user, motion_id=pk)
        return Response(motion_detail(motion, request.user))


class MotionCloseView(APIView):
    @extend_schema(request=None, responses=ResultOut,
                   summary="Close the vote and freeze the result (closing again returns the same result)")
    @idempotent
    def post(self, request, pk: int):
        return Response(_result(services.motion_close(actor=request.user, motion_id=pk)))


def vote_fingerprint(motion_method: str | None, request_method: str, path: str) -> str | None:
    """A secret vote's Idempotency-Key is matched on the path alone, so the stored fingerprint does
    not reveal the choice (``ecabinet.api.idempotency``); None: the default (method, path, body).
    Also used by ``hotpath.intake``."""
    if motion_method != Motion.Method.SECRET:
        return None
    return hashlib.sha256(f"{request_method} {path} secret vote".encode()).hexdigest()


def vote_answer(vote: Vote, method: str, on_behalf_of: str | None) -> dict:
    """The 201 answer to a vote, without its receipt (``"receipt": null``: that is what is stored for
    a replay; the first answer gets the token added). Also used by ``hotpath.intake``."""
    answer = {"motion": vote.motion_id, "method": method, "voted": True, "on_behalf_of": on_behalf_of,
              "receipt": None}
    if vote.choice:
        answer["choice"] = vote.choice
    return answer


class VotesView(APIView):
    """Also served, for the common case, by ``hotpath.intake`` in group commits: the same checks,
    the same answers (``tests/voting/test_intake.py``), the same limit (``ecabinet.limits``)."""

    throttle_classes = [AccountRate.for_scope("votes")]

    def idempotency_fingerprint(self, request) -> str | None:
        method = Motion.objects.filter(pk=self.kwargs["pk"]).values_list("method", flat=True).first()
        return vote_fingerprint(method, request.method, request.path)

    @extend_schema(request=VoteIn, responses={201: VoteOut}, summary="Vote (eligible members); answers a receipt")
    @receipt_shown_once
    @idempotent
    def post(self, request, pk: int):
        data = validated(VoteIn, request)
        outcome = votes.votes_cast([votes.Ballot(request.user, pk, data["choice"])])[0]
        if isinstance(outcome, DomainError):
            raise outcome
        self.receipt = outcome.token
        return Response(vote_answer(outcome.vote, outcome.vote.motion.method, outcome.on_behalf_of), status=201)


class ResultView(APIView):
    @extend_schema(responses=ResultOut, summary="The frozen result (409 motion_not_closed before the close)")
    def get(self, request, pk: int):
        return Response(_result(_closed(request.user, pk)))


class RecordView(APIView):
    @extend_schema(responses=RecordOut, summary="The published record, with the receipt hashes")
    def get(self, request, pk: int):
        motion = _closed(request.user, pk)
        return Response({"motion": motion.pk, "title": motion.title, "text": motion.text, "result": motion.result})


class VerifyReceiptView(APIView):
    # Not @idempotent, deliberately: it changes nothing, so a repeat already "changes nothing and
    # answers the same"; and a stored answer would put a secret vote's choice next to its voter.
    @extend_schema(request=ReceiptIn, responses=VerifyOut, summary="Check that a receipt's vote is in the record")
    def post(self, request, pk: int):
        _access, motion = services.motion_access(request.user, pk)
        token = validated(ReceiptIn, request)["receipt"].strip().lower()
        if not receipts.is_well_formed(token):
            raise ValidationFailed(_("A receipt is 32 hexadecimal characters."), code="invalid_receipt")
        digest = receipts.receipt_hash(motion.pk, token)
        if motion.status == Motion.Status.CLOSED:
            rows = motion.result.get("roll_call") or motion.result.get("receipts") or []
            choice = next((row["choice"] for row in rows if row.get("receipt_hash") == digest), None)
        else:
            live = SecretChoice.objects if motion.method == Motion.Method.SECRET else Vote.objects
            choice = live.filter(motion=motion, receipt_hash=digest).values_list("choice", flat=True).first()
        return Response({"found": choice is not None, "choice": choice,
                         "published": motion.status == Motion.Status.CLOSED})


class VotingRulesView(APIView):
    @extend_schema(responses=RulesOut, summary="The session's voting rules and the presets")
    def get(self, request, pk: int):
        return Response(_rules(permissions.meeting_access(request.user, pk).meeting))

    @extend_schema(request=VotingRulesIn, responses=RulesOut, summary="Set the voting rules (chair)")
    @idempotent
    def post(self, request, pk: int):
        data = validated(VotingRulesIn, request)
        meeting = services.meeting_set_voting_rules(actor=request.user, meeting=pk, **data)
        return Response(_rules(meeting))


urlpatterns = [
    path("agenda-items/<id:pk>/motions/", ItemMotionsView.as_view(), name="api_item_motions"),
    path("motions/<id:pk>/", MotionDetailView.as_view(), name="api_motion"),
    path("motions/<id:pk>/open/", MotionOpenView.as_view(), name="api_motion_open"),
    path("motions/<id:pk>/close/", MotionCloseView.as_view(), name="api_motion_close"),
    path("motions/<id:pk>/votes/", VotesView.as_view(), name="api_motion_votes"),
    path("motions/<id:pk>/result/", ResultView.as_view(), name="api_motion_result"),
    path("motions/<id:pk>/record/", RecordView.as_view(), name="api_motion_record"),
    path("motions/<id:pk>/verify-receipt/", VerifyReceiptView.as_view(), name="api_motion_verify_receipt"),
    path("meetings/<id:pk>/voting-rules/", VotingRulesView.as_view(), name="api_voting_rules"),
]
