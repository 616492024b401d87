"""Administration of accounts and ministries only.

Separation of duties: the IT administrator manages accounts and configuration and sees no session
content, so sessions, documents and the audit log are deliberately not registered here.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Ministry, User


@admin.register(Ministry)
class MinistryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "short_name"]
    search_fields = ["code", "name", "name_en"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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
