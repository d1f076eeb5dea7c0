"""django-axes (the login lockout) as the admin shows it, in the site's languages.

django-axes ships no Simplified Chinese and leaves its app name and two list columns
untranslatable. This config names the app, its admin relabels those columns, and the
strings below keep axes's own messages in this project's catalogue (makemessages only
collects what this project's files say), where locale/zh_Hans translates them.
"""
from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

AXES_MESSAGES = [
    gettext_noop("Access Attempt"), gettext_noop("Access lock out"),
    gettext_noop("Account locked: too many login attempts. Please try again later."),
    gettext_noop("Attempt Remaining"), gettext_noop("Attempt Time"), gettext_noop("Clean up expired attempts"),
    gettext_noop("Expires At"), gettext_noop("Failed Logins"), gettext_noop("Form Data"),
    gettext_noop("GET Data"), gettext_noop("HTTP Accept"), gettext_noop("IP Address"),
    gettext_noop("Locked Out"), gettext_noop("Logout Time"), gettext_noop("Meta Data"),
    gettext_noop("Not set"), gettext_noop("POST Data"), gettext_noop("Path"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("User Agent"), gettext_noop("Username"),
    gettext_noop("access attempt expiration"), gettext_noop("access attempt expirations"),
    gettext_noop("access attempt"), gettext_noop("access attempts"), gettext_noop("access failure"),
    gettext_noop("access failures"), gettext_noop("access log"), gettext_noop("access logs"),
]


class AxesConfig(AxesAppConfig):
    verbose_name = _("Login lockout")

    def ready(self) -> None:
        super().ready()
        # django.contrib.admin comes before axes in INSTALLED_APPS, so its autodiscover has
        # registered axes's admin by now.
        from axes.admin import AccessAttemptAdmin
        from axes.models import AccessAttempt
        from django.contrib import admin

        class AccessAttemptTranslatedAdmin(AccessAttemptAdmin):
            @admin.display(description=_("expires"))
            def expiration(self, obj: AccessAttempt):
                return super().expiration(obj)

            @admin.display(description=_("status"))
            def status(self, obj: AccessAttempt):
                return super().status(obj)

        if admin.site.is_registered(AccessAttempt):
            admin.site.unregister(AccessAttempt)
        admin.site.register(AccessAttempt, AccessAttemptTranslatedAdmin)
