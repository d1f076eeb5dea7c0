"""Each person's stored list and the state of its scoring."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .catalogue import Item
from .training import ModelVersion


class Recommendation(models.Model):
    """One entry of a person's current top-N list from one model version."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="recommendations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField(_("rank"))
    score = models.FloatField(_("score"))
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        ordering = ["user", "rank"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        constraints = [
            models.UniqueConstraint(fields=["user", "rank"], name="recommendation_unique_rank"),
            models.UniqueConstraint(fields=["user", "item"], name="recommendation_unique_item"),
        ]


class ScoringState(models.Model):
    """Whether a person's stored list is stale, and what it was computed from.

    The database is the source of truth for pending work: recording an event or changing
    a control sets `stale_since` in the same transaction, so a lost queue notification
    only delays the refresh until the periodic sweep finds the row.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="scoring_state")
    stale_since = models.DateTimeField(null=True, blank=True, db_index=True)
    event_watermark = models.BigIntegerField(default=0)  # largest event id reflected
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("scoring state")
        verbose_name_plural = _("scoring states")
