"""Admin for users and the addresses and devices they sign in from."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import KnownClient, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "is_staff", "is_placeholder", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "is_placeholder")
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Import"), {"fields": ("is_placeholder",)}))


@admin.register(KnownClient)
class KnownClientAdmin(admin.ModelAdmin):
    """Where each person signed in from; deleting a row makes that address or device a
    stranger to the account again (it is then slowed down while the account is attacked)."""

    list_display = ("user", "kind", "value", "failures", "last_sign_in_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "value")
    readonly_fields = ("user", "kind", "value", "failures", "last_sign_in_at")

    def has_add_permission(self, request) -> bool:
        return False  # rows come from sign-ins with the right password
