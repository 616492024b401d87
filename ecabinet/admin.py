"""Administration of accounts and ministries only.

Separation of duties: the IT administrator manages accounts and configuration and sees no session
content, so sessions, documents and the audit log are deliberately not registered here.
"""

import copy

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.utils.translation import gettext_lazy as _

from . import devices
from .models import Ministry, User


@admin.register(Ministry)
class MinistryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "short_name"]
    search_fields = ["code", "name", "name_en"]


# --- Ending access (issue 15, area "devices") -----------------------------------------------------
class EndingAccessPasswordForm(AdminPasswordChangeForm):
    """The administrator's password reset, through ``ecabinet.devices.change_password``: every
    session and device of the account ends (the administrator's own current session stays when
    they reset their own password) and the audit log names the administrator."""

    actor = None
    session_key = None

    def save(self, commit=True):
        usable = self.cleaned_data.get("set_usable_password", True)
        own = self.actor is not None and self.actor.pk == self.user.pk
        devices.change_password(user=self.user, actor=self.actor,
                                new_password=self.cleaned_data["password1"] if usable else None,
                                reason="password_reset", keep_session_key=self.session_key if own else None)
        return self.user


class EndingAccessAdmin(BaseUserAdmin):
    """Deactivating an account (``is_active`` unticked) ends its sessions and devices; a password
    reset goes through ``EndingAccessPasswordForm``."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            devices.end_access(user=obj, actor=request.user, reason="deactivated")

    def user_change_password(self, request, id, form_url=""):
        this = copy.copy(self)  # per request: the form knows who resets (the admin object is shared)
        this.change_password_form = type("ChangePasswordForm", (EndingAccessPasswordForm,), {
            "actor": request.user, "session_key": request.session.session_key})
        response = BaseUserAdmin.user_change_password(this, request, id, form_url)
        if request.method == "POST" and str(request.user.pk) == str(id) and request.user.is_authenticated:
            devices.remember_session(user=request.user, session=request.session)  # kept under a new key
        return response
# --- end of area "devices" -------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(EndingAccessAdmin):
    list_display = ["username", "full_name", "ministry", "position", "is_secretariat", "is_archivist", "is_active"]
    list_filter = ["is_secretariat", "is_archivist", "is_active", "is_superuser", "ministry"]
    search_fields = ["username", "full_name", "email"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "email", "position", "ministry")}),
        (_("Duties"), {"fields": ("is_active", "is_secretariat", "is_archivist", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "email", "password1", "password2")}),
    )
