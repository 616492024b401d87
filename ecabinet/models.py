"""Core models: accounts, ministries, the hash-chained audit log, in-app notifications, and the
records that make POSTs idempotent."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Ministry(models.Model):
    """A ministry or ministerial agency (Bộ, cơ quan ngang Bộ), or another issuing body."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("ministry")
        verbose_name_plural = _("ministries")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """An account. Session roles live on participants; these flags are the office-wide duties.

    ``is_member`` is a member of the Government (written ballots go to them); ``is_secretariat`` may
    create and prepare sessions and ballots; ``is_archivist`` may read closed sessions.
    ``is_superuser`` (IT administration) grants no access to session content: see
    ``meetings.permissions``.
    """

    full_name = models.CharField(_("full name"), max_length=150)
    position = models.CharField(_("position"), max_length=200, blank=True)
    ministry = models.ForeignKey(
        Ministry, verbose_name=_("ministry"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_member = models.BooleanField(_("Government member"), default=False,
                                    help_text=_("Asked for written opinions between sessions."))
    is_secretariat = models.BooleanField(_("secretariat"), default=False)
    is_archivist = models.BooleanField(_("archivist"), default=False)

    REQUIRED_FIELDS = ["email", "full_name"]

    class Meta(AbstractUser.Meta):
        constraints = [
            # Separation of duties (ecabinet.permissions, rule 3), guarded by the database as well, so
            # that no write outside the services (a shell, createsuperuser) can make the back door.
            models.CheckConstraint(
                condition=~((models.Q(is_staff=True) | models.Q(is_superuser=True))
                            & (models.Q(is_secretariat=True) | models.Q(is_archivist=True) | models.Q(is_member=True))),
                name="user_admin_holds_no_content_duty",
            ),
        ]

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def __str__(self) -> str:
        return self.get_full_name()


class AuditHead(models.Model):
    """The single row that serialises appends to the audit chain (locked with SELECT FOR UPDATE on
    PostgreSQL; SQLite's IMMEDIATE transactions serialise writers anyway)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audithead_singleton")]

    def __str__(self) -> str:
        return f"audit head #{self.seq}"


class AuditEntry(models.Model):
    """One append-only entry of the audit log. ``hash`` = SHA-256 over the canonical form of the
    entry including ``prev_hash``; see ``ecabinet.audit``."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    meeting_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class Notification(models.Model):
    """An in-app notice for one user (the same text also goes out by e-mail where it says so)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class IdempotencyRecord(models.Model):
    """The stored first response to a POST made with an ``Idempotency-Key``.

    Written in the same transaction as the change the POST made, so a key is recorded exactly when
    its effect is.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]
        # The vote intake looks up a whole batch's keys at once (``key IN (…)``); on the pair index,
        # ``user IN (…) AND key IN (…)`` made SQLite probe every user with every key.
        indexes = [models.Index(fields=["key"], name="idempotency_key")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class Device(models.Model):
    """A signed-in API client (a tablet app, a script): one token each, named by its owner.

    The token itself is never stored: only its SHA-256 ``digest`` (the token is 256 random bits, so
    the digest cannot be turned back into it and a copy of the database opens nothing). Expiry is
    sliding: ``expires_at`` moves to ``API_TOKEN_IDLE_DAYS`` after the last use (at most once every
    ``API_TOKEN_REFRESH_SECONDS``), never beyond ``absolute_expires_at``. A revoked device is
    deleted. See ``ecabinet.devices``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(_("device"), max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("signed in"))
    last_used_at = models.DateTimeField(_("last used"))
    expires_at = models.DateTimeField(_("expires"))
    absolute_expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_used_at", "-pk"]
        indexes = [models.Index(fields=["user", "expires_at"])]
        verbose_name = _("device")
        verbose_name_plural = _("devices")

    def __str__(self) -> str:
        return self.name


class UserSession(models.Model):
    """A browser session of a user, so that ending their access finds their sessions without
    reading every session of the site. ``sid`` is a random name kept in the session's data: it
    survives ``cycle_key`` (a password change keeps the current session under a new key) and is
    what a room socket opened with that session is known by (``ecabinet.devices``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sid = models.CharField(max_length=32, unique=True)
    session_key = models.CharField(max_length=40, db_index=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"session of {self.user_id}"
class PasskeyCredential(models.Model):
    """A WebAuthn passkey (e.g. a tablet's platform authenticator) registered as a second factor.
    The ceremonies are verified by py_webauthn (``ecabinet.passkeys``); only the public key is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(_("name"), max_length=60)
    credential_id = models.BinaryField(max_length=1023, unique=True)
    public_key = models.BinaryField(max_length=2048)
    sign_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")

    def __str__(self) -> str:
        return self.name
