"""App configuration for explanations."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExplainConfig(AppConfig):
    name = "explain"
    verbose_name = _("Explanations")
