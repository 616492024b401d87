"""Sessions, participants and agenda items."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecabinet.models import Ministry


class Meeting(models.Model):
    class Kind(models.TextChoices):
        REGULAR = "regular", _("Regular session")
        THEMATIC = "thematic", _("Thematic session")
        EXTRAORDINARY = "extraordinary", _("Extraordinary session")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        IN_PROGRESS = "in_progress", _("In progress")
        ADJOURNED = "adjourned", _("Adjourned")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REGULAR)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    starts_at = models.DateTimeField(_("starts at"))
    location = models.CharField(_("location"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    adjourned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    current_item = models.ForeignKey(
        "AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("now discussing"),
    )
    # Voting rules of the session, set by the chair (voting.services.motions.meeting_set_voting_rules).
    vote_rule = models.CharField(_("voting rule"), max_length=40, default="vn-government")
    substitutes_may_vote = models.BooleanField(_("substitutes may vote"), default=False)
    votes_may_change = models.BooleanField(_("votes may be changed before the vote closes"), default=False)
    # Offline copies on the ministers' tablets (issue 17, docs/offline.md), set by the secretariat
    # (services.meeting_set_offline); who may keep what is meetings.permissions.offline_refusal.
    offline_copies = models.BooleanField(_("Ministers may keep this session on their tablets"), default=True)
    offline_restricted = models.BooleanField(_("Restricted documents may be kept offline too"), default=False)
    # The last ``seq`` handed out in this session's event log; incremented with a conditional UPDATE
    # in the transaction that writes the event, so numbers are gapless and never reused.
    event_seq = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-starts_at", "-id"]
        default_permissions = ()
        permissions = [
            ("view_meeting", "Can view the session"),
            ("manage_meeting", "Can prepare the session (secretariat)"),
            ("chair_meeting", "Can chair the session"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["regular", "thematic", "extraordinary"]),
                                   name="meeting_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "in_progress", "adjourned", "closed"]),
                name="meeting_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Participant(models.Model):
    """A person's place in one session. Access itself is granted through guardian permissions
    (``MeetingUserObjectPermission``), kept in step with this row by the services."""

    class Role(models.TextChoices):
        CHAIR = "chair", _("Chair")
        MEMBER = "member", _("Member")
        SUBSTITUTE = "substitute", _("Substitute")
        OBSERVER = "observer", _("Observer")
        SECRETARY = "secretary", _("Secretary")

    class Attendance(models.TextChoices):
        INVITED = "invited", _("Invited")
        CONFIRMED = "confirmed", _("Confirmed")
        PRESENT = "present", _("Present")
        REMOTE = "remote", _("Remote")
        ABSENT = "absent", _("Absent")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="participations")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    substitute_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("substitute for"),
    )
    substitute_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    substitute_approved_at = models.DateTimeField(null=True, blank=True)
    attendance = models.CharField(_("attendance"), max_length=20, choices=Attendance.choices,
                                  default=Attendance.INVITED)
    absence_reason = models.CharField(_("reason for absence"), max_length=300, blank=True)
    invited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="participant_once_per_meeting"),
            models.CheckConstraint(
                condition=Q(role__in=["chair", "member", "substitute", "observer", "secretary"]),
                name="participant_role_valid"),
            models.CheckConstraint(
                condition=Q(attendance__in=["invited", "confirmed", "present", "remote", "absent"]),
                name="participant_attendance_valid"),
            models.CheckConstraint(
                condition=Q(role="substitute", substitute_for__isnull=False)
                | (~Q(role="substitute") & Q(substitute_for__isnull=True)),
                name="participant_substitute_names_member"),
            models.UniqueConstraint(fields=["meeting"], condition=Q(role="chair"), name="one_chair_per_meeting"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    @property
    def is_approved(self) -> bool:
        return self.role != self.Role.SUBSTITUTE or self.substitute_approved_at is not None


class AgendaItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DISCUSSING = "discussing", _("Under discussion")
        DECIDED = "decided", _("Decided")
        DEFERRED = "deferred", _("Deferred")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    position = models.PositiveIntegerField()
    title = models.CharField(_("title"), max_length=500)
    description = models.TextField(_("description"), blank=True)
    presenter_ministry = models.ForeignKey(
        Ministry, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("presenting ministry"),
    )
    planned_minutes = models.PositiveIntegerField(_("planned minutes"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)

    class Meta:
        ordering = ["meeting", "position"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "position"], name="agenda_position_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "discussing", "decided", "deferred", "withdrawn"]),
                name="agenda_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"
