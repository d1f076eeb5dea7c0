"""Explanation records: the raw attribution numbers behind one stored recommendation."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from recommender.models import Item, ModelVersion

from .records import RECORD_FORMAT


class ExplanationStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    READY = "ready", _("ready")
    FAILED = "failed", _("failed")


class ExplanationQuerySet(models.QuerySet):
    def ready(self) -> "ExplanationQuerySet":
        """Return the records that are computed and of the current format (``RECORD_FORMAT``):
        a record of another format is computed again when asked for."""
        return self.filter(status=ExplanationStatus.READY, data__format=RECORD_FORMAT)


class Explanation(models.Model):
    """Why one item is in a person's list, for the list computed at `for_computed_at`.

    Recommendation rows are replaced on every rescoring, so the record is keyed by
    (person, item) and says which list it explains; it is current only while that list
    is. `data` keeps plain numbers (item ids are `Item` primary keys); figures are built
    from it per request, so a Bokeh upgrade never leaves stale plots.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="explanations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    for_computed_at = models.DateTimeField(_("explains the list computed at"))
    status = models.CharField(_("status"), max_length=16, choices=ExplanationStatus.choices,
                              default=ExplanationStatus.QUEUED, db_index=True)
    rank = models.PositiveSmallIntegerField(_("rank"), null=True, blank=True)
    verified = models.BooleanField(_("verified"), null=True, blank=True)
    data = models.JSONField(_("attribution data"), default=dict, blank=True)
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    compute_ms = models.FloatField(_("compute milliseconds"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    objects = ExplanationQuerySet.as_manager()

    class Meta:
        ordering = ["user", "rank"]
        verbose_name = _("explanation")
        verbose_name_plural = _("explanations")
        constraints = [
            models.UniqueConstraint(fields=["user", "item"], name="explanation_unique_item"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.item_id} ({self.status})"

    @property
    def is_ready(self) -> bool:
        """Return True if this record is one ``ExplanationQuerySet.ready`` selects."""
        return self.status == ExplanationStatus.READY and self.data.get("format") == RECORD_FORMAT
