"""Admin for users."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "is_staff", "is_placeholder", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "is_placeholder")
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Import"), {"fields": ("is_placeholder",)}))
