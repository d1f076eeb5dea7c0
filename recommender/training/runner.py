"""Worker side of training: one bounded chunk of epochs per task, under a database lease.

A run trains on a snapshot of events (an event-id watermark), checkpoints after every
epoch to a run-keyed path, and hands over to the next chunk. A worker killed mid-chunk
loses at most the epoch in flight: the redelivered task (same task id, so it may retake
its own lease) or the stale-run sweep resumes from the last checkpoint. When training is
done the best weights are written atomically as the version's artifact, verified, and
activated in one transaction only if they pass the quality gate.

Imports torch: only workers import this module.
"""
import logging
from dataclasses import asdict, replace
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from recommender.ml.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from recommender.ml.data import SequenceData, build_sequences, genre_matrix
from recommender.ml.evaluate import evaluate_model
from recommender.ml.model import ModelConfig
from recommender.ml.records import VersionMetrics
from recommender.ml.train import Progress, TrainConfig, Trainer

from ..activity import sequences
from ..models import Item, ModelVersion, RunStatus, TrainingRun
from .versions import file_sha256, model_version_activate

log = logging.getLogger(__name__)

# A lease outlives one chunk comfortably; a holder renews it after every epoch.
LEASE = timedelta(minutes=15)
MIN_PEOPLE = 3  # leave-one-out needs some people with three or more interactions


class TrainingDataError(Exception):
    """There is not enough data to train on."""


def model_dir() -> Path:
    path = Path(settings.RECSITE_MODEL_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def lease_acquire(run_id: int, owner: str, from_epoch: int) -> bool:
    """Take the run's lease for `owner`; False if a live holder has it, the run ended, or
    the task is a stale duplicate.

    The owner is the task id, so a task redelivered after its worker died retakes its own
    lease at once. Any other task needs a free (or expired) lease and must continue from
    the epoch the run is at, so a duplicate of an earlier chunk does nothing.
    """
    now = timezone.now()
    free = Q(lease_owner="") | Q(lease_expires_at__lt=now)
    taken = (
        TrainingRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .filter(Q(lease_owner=owner) | (free & Q(epoch=from_epoch)))
        .update(
            lease_owner=owner, lease_expires_at=now + LEASE, heartbeat_at=now,
            status=RunStatus.RUNNING, attempts=F("attempts") + 1,
        )
    )
    if taken:
        TrainingRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=now)
    return bool(taken)


def lease_release(run_id: int, owner: str) -> None:
    TrainingRun.objects.filter(pk=run_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )


# The last run's data in this worker process: a run's chunks read the same snapshot, and
# reading a million events again for every chunk costs more than an epoch.
_data_cache: dict[tuple, SequenceData] = {}


def run_data(run: TrainingRun) -> SequenceData:
    """Return the run's training data: the events of its snapshot, as histories."""
    key = (run.pk, run.created_at, run.event_watermark or 0)
    if key in _data_cache:
        return _data_cache[key]
    rows = sequences.interaction_rows(watermark=run.event_watermark or 0)
    data = build_sequences(rows, min_length=3)
    if len(data.users) < MIN_PEOPLE or data.n_items < 2:
        raise TrainingDataError(
            f"Not enough data to train: {len(data.users)} people with 3 or more interactions "
            f"and {data.n_items} items (need at least {MIN_PEOPLE} people and 2 items)."
        )
    if settings.RECSITE_TRAIN_TEXT:
        data = _with_text(run, data)
    data = _with_genres(data)
    _data_cache.clear()
    _data_cache[key] = data
    return data


def _with_text(run: TrainingRun, data: SequenceData) -> SequenceData:
    """Return the data with its items' text vectors, or as it is (ids only, logged) while
    some item still waits for its vector: a run never mixes encoders or guesses."""
    import numpy as np

    from recommender.text.store import TextVectorsError, text_vectors

    try:
        vectors = text_vectors([int(i) for i in data.item_map.external_ids])
    except TextVectorsError as exc:
        log.warning("run %s trains on item ids only: %s", run.pk, exc)
        return data
    matrix = np.vstack([np.zeros((1, vectors.matrix.shape[1]), dtype=np.float32), vectors.matrix])
    return replace(data, item_text=matrix)


def _with_genres(data: SequenceData) -> SequenceData:
    """Return the data with its items' genres (``ModelConfig.n_genres``), or as it is when
    no item has one."""
    genres: dict[str, list[int]] = {}  # items the run never saw are left out by genre_matrix
    for item, genre in Item.genres.through.objects.values_list("item_id", "genre_id").iterator(chunk_size=20000):
        genres.setdefault(str(item), []).append(genre)
    matrix = genre_matrix(genres, data.item_map)
    return data if matrix is None else replace(data, item_genres=matrix)


def configs(run: TrainingRun, data: SequenceData) -> tuple[ModelConfig, TrainConfig]:
    """Return the model and training configs: the recipe's defaults (the benchmark's: a test
    holds them equal), the site's horizon settings, then the run's hyper-parameters."""
    params = {k: v for k, v in {"time_budget_s": settings.RECSITE_TRAIN_TIME_BUDGET_S,
                                "max_epochs": settings.RECSITE_TRAIN_MAX_EPOCHS}.items()
              if v is not None}
    params.update(run.hyperparams or {})
    model_fields = set(ModelConfig.__dataclass_fields__) - {"n_items", "text_dim", "n_genres"}
    train_fields = set(TrainConfig.__dataclass_fields__) - {"device"}
    text_dim = 0 if data.item_text is None else data.item_text.shape[1]
    n_genres = 0 if data.item_genres is None else data.item_genres.shape[1]
    model_cfg = ModelConfig(n_items=data.n_items, text_dim=text_dim, n_genres=n_genres,
                            **{k: v for k, v in params.items() if k in model_fields})
    train_cfg = TrainConfig(**{k: v for k, v in params.items() if k in train_fields})
    return model_cfg, train_cfg


def _report(run_id: int, owner: str, max_epochs: int):
    """Return the trainer callback that stores a run's progress after each epoch.

    The estimate comes from the epochs the run now plans (its horizon: the time budget,
    shortened by a validation plateau) when it has one; otherwise from `max_epochs`, which
    early stopping usually cuts short, so it is stored as a bound (`horizon` None).
    """
    def callback(p: Progress) -> None:
        per_epoch = p.elapsed_s / max(p.epoch, 1)
        planned = min(p.horizon, max_epochs) if p.horizon > 0 else float(max_epochs)
        values = {
            "epoch": p.epoch, "loss": p.loss, "elapsed_s": p.elapsed_s,
            "progress": 1.0 if p.done else min(p.epoch / max(planned, 1.0), 0.99),
            "eta_s": 0.0 if p.done else per_epoch * max(planned - p.epoch, 0.0),
            "horizon": planned if p.horizon > 0 else None,
            "heartbeat_at": timezone.now(), "lease_expires_at": timezone.now() + LEASE,
        }
        if p.val_ndcg is not None:
            values["val_ndcg"] = p.val_ndcg
        TrainingRun.objects.filter(pk=run_id, lease_owner=owner).update(**values)
    return callback


def run_chunk(run_id: int, owner: str, from_epoch: int = 0) -> str:
    """Train one chunk of the run; return "busy", "continue:<epoch>" or the end status.

    Raises on unexpected errors so the task can retry; `run_fail` records the message.
    """
    if not lease_acquire(run_id, owner, from_epoch):
        return "busy"
    run = TrainingRun.objects.get(pk=run_id)
    if run.event_watermark is None:
        run.event_watermark = sequences.event_watermark()
        run.save(update_fields=["event_watermark"])
    try:
        data = run_data(run)
    except TrainingDataError as exc:
        run_fail(run_id, str(exc))
        return RunStatus.FAILED
    model_cfg, train_cfg = configs(run, data)
    max_epochs = train_cfg.max_epochs
    TrainingRun.objects.filter(pk=run_id).update(max_epochs=max_epochs)
    trainer = Trainer(data, model_cfg, train_cfg, callbacks=[_report(run_id, owner, max_epochs)])
    checkpoint = model_dir() / f"run-{run_id}.train.ckpt"
    run_leftovers_remove(run_id)
    try:
        if checkpoint.exists():
            state = trainer.load(checkpoint)
            log.info("resuming run %s from epoch %s", run_id, state.epoch)
        else:
            state = trainer.init_state()
    except CheckpointError as exc:
        # A checkpoint that cannot be trusted is discarded: the run restarts its epochs.
        log.warning("run %s: discarding checkpoint: %s", run_id, exc)
        state = trainer.init_state()
    state = trainer.train_epochs(state, settings.RECSITE_EPOCHS_PER_CHUNK, checkpoint)
    TrainingRun.objects.filter(pk=run_id).update(
        checkpoint_path=str(checkpoint), history=state.history
    )
    if not (state.done or state.epoch >= max_epochs):
        TrainingRun.objects.filter(pk=run_id).update(epoch=state.epoch)
        lease_release(run_id, owner)
        return f"continue:{state.epoch}"
    status = run_finish(run_id, trainer, state, data)
    lease_release(run_id, owner)
    checkpoint.unlink(missing_ok=True)
    return status


def run_leftovers_remove(run_id: int) -> list[str]:
    """Delete the partly written temp files of this run's checkpoints; return their names.

    A worker killed while writing a checkpoint leaves its temp file behind (the rename
    never happened). Only the task holding the run's lease writes the run's files, so
    when it starts, any temp file of the run is such a leftover.
    """
    removed = []
    for pattern in (f"run-{run_id}.train.ckpt.*.tmp", f"model-run-{run_id}.ckpt.*.tmp"):
        for path in model_dir().glob(pattern):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    if removed:
        log.info("run %s: removed partly written files %s", run_id, removed)
    return removed


def run_finish(run_id: int, trainer: Trainer, state, data: SequenceData) -> str:
    """Write the artifact, verify it, and activate it if it passes the quality gate."""
    best = state.best_model()
    # Held-out last items, full ranking (docs/design.md): reported, never used to choose.
    test = evaluate_model(best, trainer.split.test)
    metrics: VersionMetrics = {"val_ndcg@10": state.best_ndcg, "best_epoch": state.best_epoch,
                               "test_ndcg@10": test["ndcg@10"], "test_hr@10": test["hr@10"],
                               "epochs": state.epoch, "train_seconds": round(state.elapsed_s, 1)}
    artifact = model_dir() / f"model-run-{run_id}.ckpt"
    payload_sha = save_checkpoint(
        artifact, config=trainer.model_cfg, item_map=data.item_map,
        payload={"model": best.state_dict()}, metrics=metrics,
        meta={"train_config": trainer.cfg.to_dict()},
    )
    load_checkpoint(artifact, expected_sha256=payload_sha)  # refuses a bad write
    # The version keeps the whole file's sha256, which the web process can verify
    # without torch before activating it.
    checksum = file_sha256(artifact)
    run = TrainingRun.objects.get(pk=run_id)
    with transaction.atomic():
        version = ModelVersion.objects.create(
            artifact_path=str(artifact), checksum=checksum,
            config={"model": asdict(trainer.model_cfg), "train": trainer.cfg.to_dict()},
            metrics=metrics, event_watermark=run.event_watermark or 0,
            n_users=len(data.users), n_items=data.n_items,
            n_events=sum(len(s) for s in data.sequences),
        )
        active = ModelVersion.objects.select_for_update().filter(is_active=True).first()
        gate = None if active is None or active.val_ndcg is None else (
            active.val_ndcg - settings.RECSITE_QUALITY_TOLERANCE)
        passed = gate is None or state.best_ndcg >= gate
        status = RunStatus.SUCCEEDED if passed else RunStatus.REJECTED
        TrainingRun.objects.filter(pk=run_id).update(
            status=status, model_version=version, metrics=metrics, progress=1.0, eta_s=0.0,
            finished_at=timezone.now(), val_ndcg=state.best_ndcg,
            error="" if passed else (
                f"Rejected: validation NDCG@10 {state.best_ndcg:.4f} is below the active "
                f"version's {active.val_ndcg:.4f} minus the tolerance "
                f"{settings.RECSITE_QUALITY_TOLERANCE}."),
        )
        if passed:
            model_version_activate(version=version)
    return status


def run_fail(run_id: int, message: str) -> None:
    """End the run as failed with `message`; the active model is untouched."""
    TrainingRun.objects.filter(pk=run_id).exclude(
        status__in=[RunStatus.SUCCEEDED, RunStatus.REJECTED]
    ).update(status=RunStatus.FAILED, error=message[:5000], finished_at=timezone.now(),
             lease_owner="", lease_expires_at=None, eta_s=None)


def run_error(run_id: int, message: str) -> None:
    """Record a chunk's error while the task retries; the run stays resumable.

    The task keeps its lease: Celery's retry has the same task id and arguments, and by now
    the run's epoch may be past the one the task was sent for, so only the lease lets the
    retry back in (a released lease left it 'busy' and the run stalled until the sweep).
    If the retry never comes, the lease expires and the sweep resumes the run.
    """
    TrainingRun.objects.filter(pk=run_id).update(error=message[:5000])
