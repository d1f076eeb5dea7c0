"""App configuration for accounts."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "recsite.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from .signals import say_logged_out

        user_logged_out.connect(say_logged_out, dispatch_uid="accounts-say-logged-out")

        from . import lockout  # noqa: F401 - connects its password_changed receiver
