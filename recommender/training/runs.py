"""Training runs, web side: check a staff member's hyper-parameters, queue a run, and tell
whether one is going, due or stalled (the beat's checks). No torch: rows and task sends."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from recsite import dispatch
from recsite.accounts.models import User

from ..models import Event, RunStatus, TrainingRun
from .versions import model_version_active

# Hyper-parameters a staff member may set for one run: name -> (type, low, high).
HYPERPARAMS: dict[str, tuple[type, float, float]] = {
    "max_epochs": (int, 1, 500),
    "time_budget_s": (float, 0.0, 86400.0),
    "patience": (int, 1, 100),
    "batch_size": (int, 1, 4096),
    "lr": (float, 1e-6, 1.0),
    "weight_decay": (float, 0.0, 1.0),
    "seed": (int, 0, 2**31 - 1),
    "d_model": (int, 8, 512),
    "n_layers": (int, 1, 8),
    "n_heads": (int, 1, 8),
    "max_len": (int, 2, 1000),
    "dropout": (float, 0.0, 0.9),
}


def hyperparams_validate(params: dict | None) -> dict:
    """Return the hyper-parameters checked and typed; raise ValidationError naming each bad one."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValidationError({"hyperparams": _("Hyper-parameters must be an object.")})
    errors: dict[str, str] = {}
    clean: dict = {}
    for name, value in params.items():
        if name not in HYPERPARAMS:
            errors[name] = _("Unknown hyper-parameter; allowed: %(names)s.") % {
                "names": ", ".join(sorted(HYPERPARAMS))}
            continue
        kind, low, high = HYPERPARAMS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            kind is int and not float(value).is_integer()
        ):
            errors[name] = _("Must be a number of type %(type)s.") % {"type": kind.__name__}
        elif not low <= value <= high:
            errors[name] = _("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}
        else:
            clean[name] = kind(value)
    if errors:
        raise ValidationError(errors)
    return clean


class TrainingBusy(Exception):
    """A run is already queued or running; `run` is the oldest such run."""

    def __init__(self, run: TrainingRun):
        self.run = run
        super().__init__(_("Training run %(id)s is already %(status)s; wait for it to finish.")
                         % {"id": run.pk, "status": run.get_status_display()})


@transaction.atomic
def training_run_start(*, hyperparams: dict | None = None, requested_by: User | None = None,
                       only_when_idle: bool = False) -> TrainingRun:
    """Queue a training run; its first chunk is sent to the training queue on commit.

    `only_when_idle` (what staff get): raise TrainingBusy instead when a run is queued or
    running, since two runs would race for the same workers and activations.
    """

    going = _runs_going().order_by("pk").first() if only_when_idle else None
    if going is not None:
        raise TrainingBusy(going)
    run = TrainingRun.objects.create(
        hyperparams=hyperparams_validate(hyperparams), requested_by=requested_by
    )
    dispatch.on_commit("recommender.tasks.training_run_chunk", run.pk)
    return run


def _runs_going():
    return TrainingRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])


def training_busy() -> bool:
    """Return True while a run is queued or running."""
    return _runs_going().exists()


def training_due(*, min_new_events: int) -> bool:
    """Return True if no run is going and `min_new_events` arrived since the active
    model's snapshot (or no model exists yet and there are events)."""
    if training_busy():
        return False
    active = model_version_active()
    if active is None:
        return Event.objects.exists() and not TrainingRun.objects.exists()
    return Event.objects.filter(id__gt=active.event_watermark).count() >= min_new_events


def training_runs_stalled(*, quiet_s: float = 120.0) -> list[tuple[int, int]]:
    """Return (run id, epoch) of unfinished runs nobody is working on: a lease expired,
    or queued with no sign of life for `quiet_s` (a lost notification)."""
    now = timezone.now()
    quiet = now - timezone.timedelta(seconds=quiet_s)
    runs = TrainingRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    stalled = runs.filter(lease_expires_at__lt=now) | runs.filter(
        lease_owner="", created_at__lt=quiet
    ).exclude(heartbeat_at__gt=quiet)
    return list(stalled.distinct().values_list("id", "epoch"))


def training_run_list() -> QuerySet[TrainingRun]:
    """Return every training run, newest first."""
    return TrainingRun.objects.order_by("-created_at", "-id")
