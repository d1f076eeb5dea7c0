"""Training runs and the model versions they produce."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    REJECTED = "rejected", _("rejected")


class ModelVersion(models.Model):
    """A trained model artifact; exactly one is active at a time."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    artifact_path = models.CharField(_("artifact path"), max_length=500)
    checksum = models.CharField(_("sha256"), max_length=64)
    config = models.JSONField(_("configuration"), default=dict)
    metrics = models.JSONField(_("metrics"), default=dict)
    # The data snapshot it was trained on: events with id <= watermark.
    event_watermark = models.BigIntegerField(_("event watermark"), default=0)
    n_users = models.PositiveIntegerField(_("people"), default=0)
    n_items = models.PositiveIntegerField(_("items"), default=0)
    n_events = models.PositiveIntegerField(_("events"), default=0)
    is_active = models.BooleanField(_("active"), default=False)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.pk}" + (" (active)" if self.is_active else "")

    @property
    def val_ndcg(self) -> float | None:
        return self.metrics.get("val_ndcg@10")


class TrainingRun(models.Model):
    """One training of the model, in resumable chunks of epochs."""

    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices,
                              default=RunStatus.QUEUED, db_index=True)
    hyperparams = models.JSONField(_("hyper-parameters"), default=dict, blank=True)
    progress = models.FloatField(_("progress"), default=0.0)
    epoch = models.PositiveIntegerField(_("epoch"), default=0)
    max_epochs = models.PositiveIntegerField(_("max epochs"), default=0)
    loss = models.FloatField(_("loss"), null=True, blank=True)
    val_ndcg = models.FloatField(_("validation NDCG@10"), null=True, blank=True)
    elapsed_s = models.FloatField(_("elapsed seconds"), default=0.0)
    eta_s = models.FloatField(_("estimated seconds left"), null=True, blank=True)
    # Epochs the run now plans (its time budget, shortened by a validation plateau); None
    # when it has no such plan, and eta_s is then a bound from max_epochs.
    horizon = models.FloatField(_("planned epochs"), null=True, blank=True)
    history = models.JSONField(_("history"), default=list, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    event_watermark = models.BigIntegerField(_("event watermark"), null=True, blank=True)
    checkpoint_path = models.CharField(_("checkpoint"), max_length=500, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("chunks started"), default=0)
    # A database lease: the task holding it is the only one training this run.
    lease_owner = models.CharField(_("lease owner"), max_length=255, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    model_version = models.OneToOneField(ModelVersion, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="training_run")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.REJECTED)
