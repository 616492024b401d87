"""Administration of accounts and ministries only.

Separation of duties (``ecabinet.permissions``, docs/security.md): the IT administrator manages
accounts and configuration and sees no session content, so sessions, documents, ballots, comments,
tokens and the audit log are deliberately not registered here, and Django's groups (model-wide
permissions, which nothing in this product reads) are taken off the site.

Every change to an account goes through ``ecabinet.accounts`` — the forms check the same rules
first so a refusal is shown in the form — and lands in the hash-chained audit log naming the real
actor. Django's own LogEntry is still written by the admin, but it is not the record. Accounts are
deactivated, never deleted (the audit log and the sessions refer to them).
"""

from __future__ import annotations

from contextvars import ContextVar

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import accounts, mfa, services
from . import permissions as policy
from .errors import DomainError
from .mfa_views import admin_login
from .models import Ministry, User

# Issue 15: the admin signs in through the same two-step login (password, then second factor).
admin.site.login = admin_login

admin.site.unregister(Group)
if apps.is_installed("rest_framework.authtoken"):
    # DRF's token admin lists every user's token in clear and mints one for anyone: impersonation.
    from rest_framework.authtoken.models import TokenProxy

    if admin.site.is_registered(TokenProxy):
        admin.site.unregister(TokenProxy)

# django-otp's admins show every TOTP secret and static code and let the administrator add a factor to
# anyone's account (then sign in as them with a password they reset): second factors are managed only
# by their owner on /account/security/, and reset (removed) by ``mfa.reset_mfa``, audited.
for _otp_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_otp_model):
        admin.site.unregister(_otp_model)

DUTIES = (*policy.FLAGS, "ministry")

# The administrator who is changing a password: Django builds the password form itself, with the
# account alone, so the actor reaches the form's ``save`` this way (one value per request).
_password_actor: ContextVar = ContextVar("password_actor", default=None)


class AccountChangeForm(UserChangeForm):
    actor = None  # set per request by ``UserAdmin.get_form``

    def clean(self):
        data = super().clean()
        # The instance still holds the stored values here: the form writes into it only afterwards.
        refusal = policy.own_change_refusal(actor=self.actor, user=self.instance, changed=set(self.changed_data))
        if refusal:
            raise ValidationError(refusal, code="own_account")
        if policy.duties_conflict({f: data.get(f, getattr(self.instance, f)) for f in policy.FLAGS}):
            raise ValidationError(policy.CONFLICT_MESSAGE, code="duties_incompatible")
        return data


class AccountPasswordForm(AdminPasswordChangeForm):
    def clean(self):
        refusal = policy.own_change_refusal(actor=_password_actor.get(), user=self.user, changed={"password"})
        if refusal:  # on the field: Django's password page shows no form-wide errors
            self.add_error("password1", ValidationError(refusal, code="own_account"))
        return super().clean()

    def save(self, commit=True):
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        account = accounts.set_password_by_admin(actor=_password_actor.get(), user=self.user, password=password)
        self.user.password = account.password  # the admin then keeps its own session if it is this account
        return self.user


@admin.register(Ministry)
class MinistryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "short_name"]
    search_fields = ["code", "name", "name_en"]


@admin.action(description=_("Lift the sign-in lock of the selected accounts"))
def lift_signin_lock(modeladmin, request, queryset) -> None:
    """Issue 15: ends their sign-in and signing-PIN locks now (``ecabinet.services.signin_lock_lift``,
    audited in the administrator's name)."""
    try:
        lifted = [user.username for user in queryset if services.signin_lock_lift(actor=request.user,
                                                                                    username=user.username)]
    except DomainError as exc:
        modeladmin.message_user(request, str(exc.message), messages.ERROR)
        return
    modeladmin.message_user(request, ngettext("%(count)d lock lifted.", "%(count)d locks lifted.", len(lifted))
                            % {"count": len(lifted)}, messages.SUCCESS)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    actions = [lift_signin_lock, "reset_second_factor"]
    form = AccountChangeForm
    add_form = AdminUserCreationForm
    change_password_form = AccountPasswordForm
    list_display = ["username", "full_name", "ministry", "position", "is_member", "is_secretariat", "is_archivist",
                    "is_staff", "is_superuser", "is_active"]
    list_filter = ["is_secretariat", "is_archivist", "is_member", "is_active", "is_staff", "is_superuser", "ministry"]
    search_fields = ["username", "full_name", "email"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "email", "position")}),
        (_("Duties"), {"fields": ("ministry", "is_member", "is_secretariat", "is_archivist")}),
        (_("Administrator powers"), {"fields": ("is_staff", "is_superuser")}),
        (_("Activation"), {"fields": ("is_active",)}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "email", "usable_password", "password1",
                                                 "password2")}),
    )

    # Only an active superuser manages accounts (``policy.can_manage_accounts``), whatever model permissions
    # a staff account was given; and nobody deletes one.
    def has_module_permission(self, request):
        return policy.can_manage_accounts(request.user)

    def has_view_permission(self, request, obj=None):
        return policy.can_manage_accounts(request.user)

    def has_add_permission(self, request):
        return policy.can_manage_accounts(request.user)

    def has_change_permission(self, request, obj=None):
        return policy.can_manage_accounts(request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def user_change_password(self, request, id, form_url=""):
        token = _password_actor.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)

    def save_model(self, request, obj, form, change):
        """Through the services: never ``obj.save()``. ``obj`` already carries the form's values in
        memory; the services read the stored row and write only what they were asked to."""
        data, changed = form.cleaned_data, set(form.changed_data)
        if not change:
            created = accounts.account_create(
                actor=request.user, username=data["username"], full_name=data.get("full_name", ""),
                email=data.get("email", ""),
                password=data.get("password1") if data.get("set_usable_password", True) else None)
            obj.pk, obj.password = created.pk, created.password
            obj._state.adding, obj._state.db = False, created._state.db
            return
        unhandled = changed - {*accounts.PERSON_FIELDS, *DUTIES, "is_active"}
        if unhandled:  # a field added to the form without a service to write it
            raise ImproperlyConfigured(f"No account service writes {sorted(unhandled)}")
        person = {f: data[f] for f in accounts.PERSON_FIELDS if f in changed}
        if person:
            accounts.account_update(actor=request.user, user=obj, **person)
        duties = {f: data[f] for f in DUTIES if f in changed}
        if duties:
            accounts.account_set_duties(actor=request.user, user=obj, **duties)
        if "is_active" in changed:
            accounts.set_active(actor=request.user, user=obj, active=data["is_active"])
        obj.refresh_from_db()

    @admin.action(description=_("Reset the second factor (lost phone or tablet)"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            try:
                mfa.reset_mfa(actor=request.user, user=user)
            except DomainError as exc:
                self.message_user(request, f"{user.username}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Second factor reset: %(user)s") % {"user": user.username})
