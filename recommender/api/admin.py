"""Admin for API tokens: staff can see devices and revoke a lost one."""
from django.contrib import admin

from .models import DeviceToken


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "device", "created_at", "last_used_at"]
    search_fields = ["user__username", "device"]
    readonly_fields = ["user", "digest", "device", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False  # a key is shown once, to the device that signs in
