"""Administration of accounts and ministries only.

Separation of duties: the IT administrator manages accounts and configuration and sees no session
content, so sessions, documents and the audit log are deliberately not registered here.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import mfa
from .errors import DomainError
from .mfa_views import admin_login
from .models import Ministry, User

# Issue 15: the admin signs in through the same two-step login (password, then second factor).
admin.site.login = admin_login


@admin.register(Ministry)
class MinistryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "short_name"]
    search_fields = ["code", "name", "name_en"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "full_name", "ministry", "position", "is_secretariat", "is_archivist", "is_active"]
    list_filter = ["is_secretariat", "is_archivist", "is_active", "is_superuser", "ministry"]
    search_fields = ["username", "full_name", "email"]
    actions = ["reset_second_factor"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "email", "position", "ministry")}),
        (_("Duties"), {"fields": ("is_active", "is_secretariat", "is_archivist", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "email", "password1", "password2")}),
    )

    @admin.action(description=_("Reset the second factor (lost phone or tablet)"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            try:
                mfa.reset_mfa(actor=request.user, user=user)
            except DomainError as exc:
                self.message_user(request, f"{user.username}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Second factor reset: %(user)s") % {"user": user.username})
