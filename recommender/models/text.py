"""Items' text vectors and the runs that compute them."""
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .catalogue import Item
from .training import RunStatus


class ItemText(models.Model):
    """The text the encoder read for one item, and the vector it made of it.

    `stale` is set whenever the item (or what its text is made of) changes; a text run
    clears it after re-reading the item. A row of another model than the current encoder
    is stale too (recommender/text/services.py), so a model change re-embeds everything.
    """

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True,
                                related_name="text_vector", verbose_name=_("item"))
    text = models.TextField(_("text"))
    text_hash = models.CharField(_("text sha256"), max_length=64)
    model_name = models.CharField(_("model"), max_length=64)
    model_version = models.CharField(_("model version"), max_length=64)
    dim = models.PositiveSmallIntegerField(_("dimensions"))
    # float32, little-endian, L2-normalised: 2 KB for 512 dimensions. PostgreSQL's
    # pgvector is not packaged for this server (docs/benchmarks.md), and search keeps the
    # vectors in memory anyway, so one portable column serves SQLite and PostgreSQL.
    vector = models.BinaryField(_("vector"))
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)
    stale = models.BooleanField(_("stale"), default=False)

    class Meta:
        verbose_name = _("item text vector")
        verbose_name_plural = _("item text vectors")
        indexes = [
            models.Index(fields=["model_name", "model_version", "computed_at"], name="itemtext_model_time"),
            models.Index(fields=["stale"], name="itemtext_stale", condition=Q(stale=True)),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.model_name} {self.model_version}"


class TextRun(models.Model):
    """One pass of the encoder over the items whose text vectors are missing or stale.

    Runs in chunks of items by id: `cursor` is the last item id done, so a chunk delivered
    twice, or resumed by the sweep after its worker died, neither repeats nor skips work.
    """

    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices,
                              default=RunStatus.QUEUED, db_index=True)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    model_name = models.CharField(_("model"), max_length=64)
    model_version = models.CharField(_("model version"), max_length=64)
    total = models.PositiveIntegerField(_("items to do"), default=0)
    done = models.PositiveIntegerField(_("items done"), default=0)
    embedded = models.PositiveIntegerField(_("items embedded"), default=0)
    cursor = models.BigIntegerField(_("last item id done"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("text run")
        verbose_name_plural = _("text runs")
        constraints = [
            # One run at a time: two would race over the same stale items.
            models.UniqueConstraint(fields=["model_name"], condition=Q(status__in=["queued", "running"]),
                                    name="one_open_text_run"),
        ]

    def __str__(self) -> str:
        return f"text run {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        """Return the share of the run's items done, 0 to 1."""
        return 1.0 if not self.total else min(1.0, self.done / self.total)
