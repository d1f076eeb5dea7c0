"""App configuration for explanations."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExplainConfig(AppConfig):
    name = "explain"
    verbose_name = _("Explanations")

    def ready(self) -> None:
        from recommender.serving.hooks import recommendations_stored

        from .services import explain_stored_lists

        recommendations_stored.connect(explain_stored_lists, dispatch_uid="explain.stored_lists")
