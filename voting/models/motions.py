"""Motions put to the vote in a session, and the votes.

Secret votes keep who voted apart from how: ``Vote`` records that a member voted (one row per
member, enforced by the database) and ``SecretChoice`` records a choice under the hash of a receipt
only the voter holds, with a random key and no time, so nothing stored links the two.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from meetings.models import AgendaItem


class Motion(models.Model):
    class Method(models.TextChoices):
        NAMED = "named", _("Named (roll-call) vote")
        SECRET = "secret", _("Secret vote")

    class Status(models.TextChoices):
        # Their own context: a session's "Closed" (its record is locked) is not a vote's.
        DRAFT = "draft", pgettext_lazy("motion", "Draft")
        OPEN = "open", pgettext_lazy("motion", "Open")
        CLOSED = "closed", pgettext_lazy("motion", "Closed")

    class Choice(models.TextChoices):
        YES = "yes", _("In favour")
        NO = "no", _("Against")
        ABSTAIN = "abstain", _("Abstain")

    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="motions")
    title = models.CharField(_("title"), max_length=500)
    text = models.TextField(_("text put to the vote"), blank=True)
    method = models.CharField(_("method"), max_length=10, choices=Method.choices, default=Method.NAMED)
    rule = models.CharField(_("rule"), max_length=40, default="vn-government")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Settings frozen when the motion opens, so a later change of the session's rules cannot alter it.
    substitutes_may_vote = models.BooleanField(default=False)
    votes_may_change = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    # The frozen result (voting.tally.Result.as_dict() plus the roll call for named votes); written
    # once, in the transaction that closes the motion, and never again.
    result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["agenda_item", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(method__in=["named", "secret"]), name="motion_method_valid"),
            models.CheckConstraint(condition=Q(status__in=["draft", "open", "closed"]), name="motion_status_valid"),
            models.CheckConstraint(condition=Q(status="closed", result__isnull=False) | ~Q(status="closed"),
                                   name="motion_closed_has_result"),
        ]

    def __str__(self) -> str:
        return self.title


class Vote(models.Model):
    """That ``voter`` voted on ``motion`` — and, for a named vote, how.

    One vote per voter, and one per member: a substitute's vote (``on_behalf_of``) is the member's
    vote, so the member cannot vote as well. Both are database constraints, so they hold however
    the requests race.
    """

    motion = models.ForeignKey(Motion, on_delete=models.PROTECT, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # For a substitute: the member whose vote they cast.
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    choice = models.CharField(max_length=10, choices=Motion.Choice.choices, blank=True)  # "" for a secret vote
    receipt_hash = models.CharField(max_length=64, blank=True)
    cast_at = models.DateTimeField()
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["motion", "id"]
        constraints = [
            models.UniqueConstraint(fields=["motion", "voter"], name="vote_once_per_voter"),
            models.UniqueConstraint(F("motion"), Coalesce("on_behalf_of", "voter"), name="vote_once_per_member"),
            models.CheckConstraint(condition=Q(choice="") | Q(choice__in=["yes", "no", "abstain"]),
                                   name="vote_choice_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.voter_id} on {self.motion_id}"


class VoteRevision(models.Model):
    """A named vote's earlier choice, kept when the session's rules let votes change before close."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="revisions")
    choice = models.CharField(max_length=10, choices=Motion.Choice.choices)
    replaced_at = models.DateTimeField()

    class Meta:
        ordering = ["vote", "replaced_at", "id"]

    def __str__(self) -> str:
        return f"revision of vote {self.vote_id}"


class SecretChoice(models.Model):
    """One choice of a secret vote, filed under the hash of the voter's receipt; no voter, no time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    motion = models.ForeignKey(Motion, on_delete=models.PROTECT, related_name="secret_choices")
    choice = models.CharField(max_length=10, choices=Motion.Choice.choices)
    receipt_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["motion", "receipt_hash"], name="secret_receipt_unique"),
            models.CheckConstraint(condition=Q(choice__in=["yes", "no", "abstain"]), name="secret_choice_valid"),
        ]

    def __str__(self) -> str:
        return f"secret choice on {self.motion_id}"
