"""API shapes of written ballots. Input serializers check types; the services decide the rest (so
the machine codes — ``opinion_required``, ``invalid_choice``… — are the same on every path).
Output is built by ``ballot_detail``/``ballot_row`` from what the caller may see; the output
serializers describe it for the OpenAPI schema."""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from rest_framework import serializers

from ecabinet.textlimits import description_max

from .models import Ballot, BallotAnswer, BallotAnswerRevision, BallotQuestion, BallotRecipient
from .permissions import BallotAccess, is_closed, linked_meeting_visible
from .services.ballot_closing import incomplete_recipients

# --- input ------------------------------------------------------------------------------------------


# Blank texts pass here so that the service answers with its precise code (title_required…).
class BallotCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500, allow_blank=True)
    description = serializers.CharField(max_length=description_max(), required=False, allow_blank=True, default="")
    deadline = serializers.DateTimeField(help_text="Must be in the future (ISO 8601 with a time zone).")
    silence_is_consent = serializers.BooleanField(
        required=False, default=False,
        help_text="Members who do not answer by the deadline are counted as agreeing.")
    meeting = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="Optional: the id of the session the ballot belongs to (whose item it decides, or which it is "
                  "reported to); you must be that session's secretariat (403 meeting_not_managed; 400 "
                  "unknown_meeting).")


class BallotMeetingSerializer(serializers.Serializer):
    meeting = serializers.IntegerField(allow_null=True,
                                       help_text="The session's id, or null to unlink the ballot from its session.")


class QuestionCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000, allow_blank=True)


class BallotDocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)  # pdfcheck says "not a PDF", clearer than "empty"
    title = serializers.CharField(max_length=500, allow_blank=True)


class BallotRecipientsSerializer(serializers.Serializer):
    recipients = serializers.ListField(child=serializers.CharField(max_length=150),
                                       help_text="Usernames of active Government members; replaces the list.")


class AnswerInSerializer(serializers.Serializer):
    question = serializers.IntegerField()
    choice = serializers.CharField(max_length=20, help_text="agree, disagree or other")
    opinion = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True,
                                    help_text="Required for disagree and other.")


class AnswersInSerializer(serializers.Serializer):
    answers = AnswerInSerializer(many=True, required=False,
                                 help_text="Several answers at once, all or nothing. Or send one answer's "
                                           "fields (question, choice, opinion) at the top level.")
    question = serializers.IntegerField(required=False)
    choice = serializers.CharField(max_length=20, required=False)
    opinion = serializers.CharField(required=False, allow_blank=True, default="")


# --- output -----------------------------------------------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    answered = serializers.IntegerField()
    questions = serializers.IntegerField()


class BallotRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Ballot.Status.choices)
    is_closed = serializers.BooleanField(help_text="Closed for answers (the deadline has passed).")
    deadline = serializers.DateTimeField()
    silence_is_consent = serializers.BooleanField()
    is_recipient = serializers.BooleanField()
    my_progress = ProgressSerializer(allow_null=True)


class QuestionOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    text = serializers.CharField()


class BallotDocumentOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    sha256 = serializers.CharField()
    pages = serializers.IntegerField()
    size = serializers.IntegerField()
    download_url = serializers.CharField()


class RevisionOutSerializer(serializers.Serializer):
    choice = serializers.CharField()
    opinion = serializers.CharField()
    replaced_at = serializers.DateTimeField()


class MyAnswerSerializer(serializers.Serializer):
    question = serializers.IntegerField()
    choice = serializers.CharField()
    opinion = serializers.CharField()
    answered_at = serializers.DateTimeField()
    changed_at = serializers.DateTimeField(allow_null=True)
    history = RevisionOutSerializer(many=True)


class RecipientOutSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    complete = serializers.BooleanField()


class LinkedMeetingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    starts_at = serializers.DateTimeField()
    status = serializers.CharField()
    url = serializers.CharField(help_text="The session in the API.")


class BallotDetailSerializer(BallotRowSerializer):
    meeting = LinkedMeetingSerializer(allow_null=True, help_text="The session the ballot is linked to; null when "
                                      "there is none or when the caller may not see that session.")
    description = serializers.CharField()
    issued_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    can_answer = serializers.BooleanField()
    can_edit = serializers.BooleanField()
    questions = QuestionOutSerializer(many=True)
    documents = BallotDocumentOutSerializer(many=True)
    recipient_count = serializers.IntegerField()
    recipients = RecipientOutSerializer(many=True, allow_null=True, help_text="Secretariat only.")
    my_answers = MyAnswerSerializer(many=True)


class MyAnswersSerializer(serializers.Serializer):
    answers = MyAnswerSerializer(many=True)


# --- building the output ----------------------------------------------------------------------------


def _iso(value):
    return value.isoformat() if value else None


def ballot_row(ballot: Ballot, *, is_recipient: bool, is_closed: bool, progress: tuple[int, int] | None) -> dict:
    return {
        "id": ballot.pk, "title": ballot.title, "status": ballot.status, "is_closed": is_closed,
        "deadline": _iso(ballot.deadline), "silence_is_consent": ballot.silence_is_consent,
        "is_recipient": is_recipient,
        "my_progress": {"answered": progress[0], "questions": progress[1]} if progress else None,
    }


def my_answers(ballot: Ballot | int, user) -> list[dict]:
    answers = list(BallotAnswer.objects.filter(question__ballot=ballot, member=user)
                   .select_related("question").order_by("question__position"))
    history: dict[int, list[dict]] = {}
    for rev in BallotAnswerRevision.objects.filter(answer__in=answers).order_by("replaced_at", "id"):
        history.setdefault(rev.answer_id, []).append(
            {"choice": rev.choice, "opinion": rev.opinion, "replaced_at": _iso(rev.replaced_at)})
    return [{"question": a.question_id, "choice": a.choice, "opinion": a.opinion, "answered_at": _iso(a.answered_at),
             "changed_at": _iso(a.changed_at), "history": history.get(a.pk, [])} for a in answers]


def linked_meeting(ballot: Ballot, user) -> dict | None:
    """The ballot's session as the caller may be shown it (``linked_meeting_visible``), else None."""
    if not linked_meeting_visible(user, ballot):
        return None
    m = ballot.meeting
    return {"id": m.pk, "title": m.title, "starts_at": _iso(m.starts_at), "status": m.status,
            "url": reverse("api_meeting", args=[m.pk])}


def ballot_detail(access: BallotAccess) -> dict:
    ballot = access.ballot
    questions = list(ballot.questions.order_by("position"))
    mine = my_answers(ballot, access.user) if access.is_recipient else []
    data = ballot_row(ballot, is_recipient=access.is_recipient, is_closed=access.is_closed,
                      progress=(len(mine), len(questions)) if access.is_recipient else None)
    recipients = None
    if access.can_manage:
        pending = {u.pk for u in incomplete_recipients(ballot)}
        recipients = [{"username": r.user.username, "full_name": r.user.get_full_name(),
                       "complete": r.user_id not in pending}
                      for r in ballot.recipients.select_related("user").order_by("user_id")]
    data.update({
        "meeting": linked_meeting(ballot, access.user),
        "description": ballot.description, "issued_at": _iso(ballot.issued_at), "closed_at": _iso(ballot.closed_at),
        "can_answer": access.can_answer, "can_edit": access.can_edit,
        "questions": [{"id": q.pk, "position": q.position, "text": q.text} for q in questions],
        "documents": [{"id": d.pk, "title": d.title, "sha256": d.sha256, "pages": d.pages, "size": d.size,
                       "download_url": reverse("api_ballot_document_download", args=[ballot.pk, d.pk])}
                      for d in ballot.documents.order_by("id")],
        "recipient_count": ballot.recipients.count(),
        "recipients": recipients,
        "my_answers": mine,
    })
    return data


def ballot_rows(ballots: list[Ballot], user, now) -> list[dict]:
    """List rows for ``ballots`` (already filtered to what ``user`` may see): open ones first, nearest
    deadline first; then drafts; then closed ones, latest first. Three queries whatever the number."""
    ids = [b.pk for b in ballots]
    mine = set(BallotRecipient.objects.filter(user=user, ballot_id__in=ids).values_list("ballot_id", flat=True))
    questions = dict(BallotQuestion.objects.filter(ballot_id__in=ids).values("ballot_id")
                     .annotate(n=Count("id")).values_list("ballot_id", "n"))
    answered = dict(BallotAnswer.objects.filter(member=user, question__ballot_id__in=ids)
                    .values("question__ballot_id").annotate(n=Count("id")).values_list("question__ballot_id", "n"))

    def order(ballot: Ballot) -> tuple[int, float]:
        if is_closed(ballot, now):
            return (2, -ballot.deadline.timestamp())
        return (0 if ballot.status == Ballot.Status.OPEN else 1, ballot.deadline.timestamp())

    return [ballot_row(b, is_recipient=b.pk in mine, is_closed=is_closed(b, now),
                       progress=(answered.get(b.pk, 0), questions.get(b.pk, 0)) if b.pk in mine else None)
            for b in sorted(ballots, key=order)]
