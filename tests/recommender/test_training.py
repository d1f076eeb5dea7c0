"""Tests of the worker side of training (recommender/training.py), in this process."""
from datetime import timedelta

from django.utils import timezone

from recommender.training import runner
from recommender.models import Event, Genre, RunStatus, TrainingRun

TINY = {"d_model": 16, "n_layers": 1, "max_len": 10, "batch_size": 8, "max_epochs": 1, "patience": 1}


def test_a_chunk_removes_the_partial_files_a_killed_worker_left(make_user, make_item, settings, tmp_path):
    """A worker killed mid-write leaves a checkpoint's temp file; the chunk that takes the
    run over deletes the run's temp files (and no other run's) and finishes the run."""
    settings.RECSITE_MODEL_DIR = tmp_path
    items = [make_item() for _ in range(6)]
    start = timezone.now() - timedelta(days=1)
    for p in range(4):
        person = make_user(f"p{p}")
        Event.objects.bulk_create([Event(user=person, item=items[(p + t) % 6], kind="view",
                                         occurred_at=start + timedelta(minutes=t)) for t in range(5)])
    run = TrainingRun.objects.create(hyperparams=TINY)
    leftovers = [tmp_path / f"run-{run.pk}.train.ckpt.k1ll3d.tmp", tmp_path / f"model-run-{run.pk}.ckpt.k1ll3d.tmp"]
    other = tmp_path / f"run-{run.pk}0.train.ckpt.busy.tmp"
    for path in [*leftovers, other]:
        path.write_bytes(b"RECSITE-CHECKPOINT\nhalf")

    assert runner.run_chunk(run.pk, owner="task-2") == RunStatus.SUCCEEDED
    assert not any(path.exists() for path in leftovers)
    assert other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other.name, f"model-run-{run.pk}.ckpt"])


def test_people_with_short_histories_train_to_finite_weights(make_user, make_item, settings, tmp_path):
    """Histories shorter than the head's training positions (a newcomer's few clicks) train
    to a model with finite weights instead of ending in a NaN loss."""
    import torch

    from recommender.ml.checkpoint import load_checkpoint

    settings.RECSITE_MODEL_DIR = tmp_path
    settings.RECSITE_EPOCHS_PER_CHUNK = 3
    items = [make_item() for _ in range(8)]
    start = timezone.now() - timedelta(days=1)
    for p in range(12):
        person = make_user(f"p{p}")
        Event.objects.bulk_create([Event(user=person, item=items[(p + t) % 8], kind="view",
                                         occurred_at=start + timedelta(minutes=t)) for t in range(4 + p % 3)])
    run = TrainingRun.objects.create(hyperparams={**TINY, "max_epochs": 3, "patience": 3})

    assert runner.run_chunk(run.pk, owner="task-1") == RunStatus.SUCCEEDED
    run.refresh_from_db()
    weights = load_checkpoint(run.model_version.artifact_path).payload["model"]
    assert all(torch.isfinite(w).all() for w in weights.values())
    # the records the staff pages and the benchmarks read are the declared ones
    from recommender.ml.records import EpochRecord, VersionMetrics

    assert set(run.metrics) == set(run.model_version.metrics) == set(VersionMetrics.__annotations__)
    assert run.history and all(set(h) == set(EpochRecord.__annotations__) for h in run.history)


def test_a_retry_after_progress_takes_the_run_back(db):
    """A chunk that fails after it reported an epoch is retried by Celery with the same task
    id and arguments: the retry retakes the lease; another task's stale duplicate may not."""
    run = TrainingRun.objects.create()
    assert runner.lease_acquire(run.pk, "task-1", 0)
    TrainingRun.objects.filter(pk=run.pk).update(epoch=1)  # progress, then the chunk raised
    runner.run_error(run.pk, "OSError: [Errno 28] No space left on device")

    assert runner.lease_acquire(run.pk, "task-1", 0)
    assert not runner.lease_acquire(run.pk, "task-2", 0)
    assert TrainingRun.objects.get(pk=run.pk).error.startswith("OSError")


def test_the_sites_default_run_trains_the_benchmarked_recipe(make_user, make_item, settings):
    """A run with no hyper-parameters gets exactly the configuration bench.model measures
    (docs/benchmarks.md), time budget and schedule included; the site's horizon settings
    and a run's own hyper-parameters override it."""
    from bench.model import default_configs

    items = [make_item() for _ in range(6)]
    start = timezone.now() - timedelta(days=1)
    for p in range(4):
        person = make_user(f"p{p}")
        Event.objects.bulk_create([Event(user=person, item=items[(p + t) % 6], kind="rate", value=4.0,
                                         occurred_at=start + timedelta(minutes=t)) for t in range(5)])
    run = TrainingRun.objects.create()
    run.event_watermark = Event.objects.order_by("-id").first().pk
    data = runner.run_data(run)
    site = runner.configs(run, data)
    assert site == default_configs(data, "head", seed=0)
    assert site[1].time_budget_s == 1800.0 and site[1].lr_schedule == "wsd"
    settings.RECSITE_TRAIN_TIME_BUDGET_S = 600.0
    assert runner.configs(run, data)[1].time_budget_s == 600.0
    run.hyperparams = {"time_budget_s": 60.0, "d_model": 32}
    model_cfg, train_cfg = runner.configs(run, data)
    assert train_cfg.time_budget_s == 60.0 and model_cfg.d_model == 32


def test_a_run_reads_the_items_genres_for_a_new_persons_lift(make_user, make_item):
    """The run's data carries each item's genres in the model's item order, and the model
    it configures reads them (ModelConfig.n_genres)."""
    items = [make_item(genres=g) for g in (("Drama",), ("Comedy", "Drama"), ("Horror",), ())]
    start = timezone.now() - timedelta(days=1)
    for p in range(3):
        person = make_user(f"p{p}")
        Event.objects.bulk_create([Event(user=person, item=items[(p + t) % 4], kind="rate", value=4.0,
                                         occurred_at=start + timedelta(minutes=t)) for t in range(4)])
    run = TrainingRun.objects.create(event_watermark=Event.objects.order_by("-id").first().pk)
    data = runner.run_data(run)
    names = {i.pk: {g.name for g in i.genres.all()} for i in items}
    columns = [g.name for g in Genre.objects.order_by("pk")]  # a column per genre, in id order
    by_pk = {pk: set() for pk in names}
    for row, ext in enumerate(data.item_map.external_ids, start=1):
        by_pk[int(ext)] = {columns[k] for k, on in enumerate(data.item_genres[row]) if on}
    assert by_pk == names and not data.item_genres[0].any()
    assert runner.configs(run, data)[0].n_genres == 3


def _progress(**changes):
    from recommender.ml.train import Progress

    values = {"epoch": 2, "loss": 5.0, "val_ndcg": None, "val_hr": None, "elapsed_s": 120.0, "best_epoch": 2,
              "done": False, "horizon": 0.0}
    return Progress(**{**values, **changes})


def test_progress_estimates_from_the_runs_horizon_when_it_has_one(db):
    """With a horizon (a time budget, shortened by a plateau) the estimate is the epochs it
    still plans at the pace so far, and progress is against it; the run keeps the horizon."""
    run = TrainingRun.objects.create(lease_owner="task-1")
    runner._report(run.pk, "task-1", max_epochs=200)(_progress(horizon=6.0))
    run.refresh_from_db()
    assert (run.horizon, run.eta_s, round(run.progress, 4)) == (6.0, 240.0, round(2 / 6, 4))


def test_progress_without_a_horizon_is_a_bound_from_max_epochs(db):
    """No horizon: the estimate assumes every epoch up to max_epochs and is stored as a
    bound (horizon None); a finished run has nothing left."""
    run = TrainingRun.objects.create(lease_owner="task-1")
    report = runner._report(run.pk, "task-1", max_epochs=10)
    report(_progress())
    run.refresh_from_db()
    assert (run.horizon, run.eta_s, run.progress) == (None, 480.0, 0.2)
    report(_progress(epoch=4, elapsed_s=240.0, done=True))
    run.refresh_from_db()
    assert (run.eta_s, run.progress) == (0.0, 1.0)


def test_the_trainer_passes_its_horizon_to_the_callbacks(make_user, make_item):
    """A "wsd" run reports the horizon it plans (max_epochs, or what its time budget holds);
    a "constant" run, which stops by patience, reports none."""
    from recommender.ml.model import ModelConfig
    from recommender.ml.train import TrainConfig, Trainer

    items = [make_item() for _ in range(6)]
    start = timezone.now() - timedelta(days=1)
    for p in range(5):
        person = make_user(f"h{p}")
        Event.objects.bulk_create([Event(user=person, item=items[(p + t) % 6], kind="rate", value=4.0,
                                         occurred_at=start + timedelta(minutes=t)) for t in range(5)])
    data = runner.build_sequences(list(runner.sequences.interaction_rows(watermark=10**9)), min_length=3)
    seen = []
    for budget, schedule in ((0.0, "constant"), (0.0, "wsd"), (3600.0, "wsd")):
        cfg = TrainConfig(max_epochs=3, batch_size=8, time_budget_s=budget, lr_schedule=schedule)
        trainer = Trainer(data, ModelConfig(n_items=data.n_items, d_model=16, n_layers=1, max_len=10), cfg,
                          callbacks=[seen.append])
        trainer.train_epochs(trainer.init_state(), 1)
    assert [p.horizon for p in seen] == [0.0, 3.0, 3.0]
