"""Web-side services of the model pipeline: start training, activate or roll back a model
version, and ask for a person's recommendations to be refreshed.

No torch here: the web process only writes rows and enqueues tasks on commit.
"""
import hashlib
import logging
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from recsite import dispatch
from recsite.accounts.models import User

from . import answer_cache
from .models import Event, ModelVersion, RunStatus, ScoringState, TrainingRun

log = logging.getLogger(__name__)

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


def file_sha256(path: str | Path) -> str:
    """Return the sha256 of a whole file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@transaction.atomic
def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the one active model, after verifying its artifact's checksum.

    Raises ValidationError if the artifact is missing or does not match; the active
    version is then unchanged. Everyone is rescored with it after commit.
    """

    path = Path(version.artifact_path)
    if not path.is_file():
        raise ValidationError(_("The artifact of %(v)s is missing.") % {"v": version})
    if file_sha256(path) != version.checksum:
        raise ValidationError(_("The artifact of %(v)s does not match its checksum.") % {"v": version})
    ModelVersion.objects.select_for_update().filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    version.is_active = True
    version.activated_at = timezone.now()
    version.save(update_fields=["is_active", "activated_at"])
    dispatch.on_commit("recommender.tasks.scoring_rescore_all", version.pk)
    return version


def model_version_rollback() -> ModelVersion:
    """Re-activate the version that was active before the current one."""
    previous = (
        ModelVersion.objects.filter(is_active=False, activated_at__isnull=False)
        .order_by("-activated_at").first()
    )
    if previous is None:
        raise ValidationError(_("There is no earlier version to roll back to."))
    return model_version_activate(version=previous)


def model_version_active() -> ModelVersion | None:
    """Return the active model version, or None before the first training."""
    return ModelVersion.objects.filter(is_active=True).first()


def recommendations_mark_stale(*, user: User) -> None:
    """Record in the database that this person's list must be recomputed and, if it was
    not already pending, ask a worker for it on commit.

    The flag is the coalescing: while a refresh is pending, further events add no task;
    the worker clears the flag when it starts, so an event during scoring asks again.
    """

    answer_cache.people_changed([user.pk])
    now = timezone.now()
    _, created = ScoringState.objects.get_or_create(user=user, defaults={"stale_since": now})
    became_stale = created or ScoringState.objects.filter(
        pk=user.pk, stale_since__isnull=True).update(stale_since=now)
    if became_stale:
        dispatch.on_commit("recommender.tasks.scoring_refresh_user", user.pk)


def stale_claim(user_ids: list[int]) -> list[int]:
    """Clear the stale flag of these people as their scoring starts; return whose it was."""
    claimed = list(ScoringState.objects.filter(user_id__in=user_ids, stale_since__isnull=False)
                   .values_list("user_id", flat=True))
    ScoringState.objects.filter(user_id__in=claimed).update(stale_since=None)
    return claimed


def stale_restore(user_ids: list[int]) -> None:
    """Flag these people stale again after their scoring failed, for the sweep to find."""
    ScoringState.objects.filter(user_id__in=user_ids, stale_since__isnull=True).update(
        stale_since=timezone.now())


def stale_people(*, older_than_s: float = 30.0, limit: int = 5000) -> list[int]:
    """Return people whose lists are stale (for at least `older_than_s`) or who have
    events newer than their last scoring, most recently active first."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_s)
    flagged = list(
        ScoringState.objects.filter(stale_since__lte=cutoff)
        .order_by("-stale_since").values_list("user_id", flat=True)[:limit]
    )
    return flagged


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


def people_by_recent_activity() -> list[int]:
    """Return the ids of everyone with events, most recently active first."""
    return list(
        Event.objects.values("user_id").annotate(last=Max("id")).order_by("-last")
        .values_list("user_id", flat=True)
    )
