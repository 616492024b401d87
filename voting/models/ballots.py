"""Written opinion ballots (phiếu lấy ý kiến thành viên Chính phủ), outside sessions."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Ballot(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=500)
    description = models.TextField(_("description"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    silence_is_consent = models.BooleanField(
        _("silence counts as agreement"), default=False,
        help_text=_("Members who do not answer by the deadline are counted as agreeing."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reminded_before_at = models.DateTimeField(null=True, blank=True)
    reminded_overdue_at = models.DateTimeField(null=True, blank=True)
    # The session the ballot belongs to in the record (issue 18, docs/ballots.md "The session of a
    # ballot"): the one whose agenda item it decides, or the one it is reported to. Optional; set by
    # the secretariat on the draft (``services.ballots.ballot_link_meeting``); the linked ballots go
    # into that session's archive package. PROTECT: a session with ballots is never deleted silently.
    meeting = models.ForeignKey("meetings.Meeting", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="ballots", verbose_name=_("session"))

    class Meta:
        ordering = ["-deadline", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["draft", "open", "closed"]), name="ballot_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title


class BallotRecipient(models.Model):
    """A member asked for their opinion."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ballot", "user"], name="ballot_recipient_once")]

    def __str__(self) -> str:
        return f"{self.user_id} on ballot {self.ballot_id}"


def ballot_document_path(instance: "BallotDocument", filename: str) -> str:
    return f"ballots/{instance.sha256[:2]}/{instance.sha256}.pdf"


class BallotDocument(models.Model):
    """A draft the members give their opinion on (checked like every uploaded document)."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=500)
    file = models.FileField(upload_to=ballot_document_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    pages = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ballot", "id"]

    def __str__(self) -> str:
        return self.title


class BallotQuestion(models.Model):
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField()
    text = models.TextField(_("question"))

    class Meta:
        ordering = ["ballot", "position"]
        constraints = [models.UniqueConstraint(fields=["ballot", "position"], name="ballot_question_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.text[:40]}"


class BallotAnswer(models.Model):
    class Choice(models.TextChoices):
        AGREE = "agree", _("Agree")
        DISAGREE = "disagree", _("Disagree")
        OTHER = "other", _("Other opinion")

    question = models.ForeignKey(BallotQuestion, on_delete=models.PROTECT, related_name="answers")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=10, choices=Choice.choices)
    opinion = models.TextField(blank=True)
    answered_at = models.DateTimeField()
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["question", "id"]
        constraints = [
            models.UniqueConstraint(fields=["question", "member"], name="ballot_answer_once"),
            models.CheckConstraint(condition=Q(choice__in=["agree", "disagree", "other"]),
                                   name="ballot_answer_choice_valid"),
            # A written opinion is required unless the member agrees.
            models.CheckConstraint(condition=Q(choice="agree") | ~Q(opinion=""), name="ballot_opinion_required"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.choice}"


class BallotAnswerRevision(models.Model):
    """An earlier answer, kept when a member changes theirs before the deadline."""

    answer = models.ForeignKey(BallotAnswer, on_delete=models.PROTECT, related_name="revisions")
    choice = models.CharField(max_length=10, choices=BallotAnswer.Choice.choices)
    opinion = models.TextField(blank=True)
    replaced_at = models.DateTimeField()

    class Meta:
        ordering = ["answer", "replaced_at", "id"]

    def __str__(self) -> str:
        return f"revision of answer {self.answer_id}"
