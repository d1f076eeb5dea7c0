"""The REST API as a Django app of its own, for its per-device token model."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "recommender.api"
    label = "recommender_api"
    verbose_name = _("REST API")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recsite.accounts.signals import password_changed

        from . import schema  # noqa: F401 - registers the token scheme with drf-spectacular
        from .tokens import revoke_on_password_change

        password_changed.connect(revoke_on_password_change, dispatch_uid="recommender.api.tokens")
