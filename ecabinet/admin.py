"""Administration of accounts and ministries only.

Separation of duties: the IT administrator manages accounts and configuration and sees no session
content, so sessions, documents and the audit log are deliberately not registered here.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .errors import DomainError
from .models import Ministry, User


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
    actions = [lift_signin_lock]
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
