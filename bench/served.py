"""The model people are served: imported, trained and activated by the site itself.

Imports a data set with `manage.py import_data` into a throwaway site (SQLite or the
`--database-url` given, an embedded Redis), starts the training worker exactly as
`make run` does (one Celery worker on the `training` queue, two torch threads), starts
the site's default training run (`runs.training_run_start()`, no hyper-parameters),
waits for its activation, and then evaluates the *activated version's artifact* on the
site's own data (`recommender.training.runner.run_data`, the histories the run trained on) with
the fixed protocol: leave-one-out by time, full ranking over all items, history
excluded, rank = 1 + items scored strictly higher. For the SASRec file it also checks
that the site's histories are the file's histories, so the figure is comparable with
`bench.model` and the literature. Writes the "Served model" section of
docs/benchmarks.md and keeps the artifact and the site's histories in `--out` for
`bench.explain measure --served OUT` and `bench.scenarios --served OUT`.

    .venv/bin/python -m bench.served --data ../shared/data/movielens-1m --out var/served-ml1m
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from bench._stack import ROOT, Stack, wait, write_section

PROTOCOL = ("leave-one-out by time (last chosen item = test, the one before = validation), full "
            "ranking over all items, history items excluded, rank = 1 + items scored strictly higher")


def _same_histories(site, data_path: Path) -> bool | None:
    """Return whether the site's histories are the SASRec file's, item for item (None when
    the data is not the SASRec file)."""
    from recommender.importing.readers import read_dataset
    from recommender.ml.data import build_sequences
    from recommender.models import Item

    sequence = data_path / "ml-1m.txt" if data_path.is_dir() else data_path
    if sequence.name != "ml-1m.txt":
        return None
    parsed = read_dataset(data_path)
    file_data = build_sequences((e.user, e.item, e.timestamp, e.kind, e.value) for e in parsed.events)
    source = {str(pk): ext.split(":", 1)[1] for pk, ext in Item.objects.values_list("pk", "external_id")}
    site_histories = sorted(tuple(source[site.item_map.external(i)] for i in h.items) for h in site.histories)
    file_histories = sorted(tuple(file_data.item_map.external(i) for i in h.items) for h in file_data.histories)
    return site_histories == file_histories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "movielens-1m"))
    parser.add_argument("--database-url", default=None, help="default: SQLite in the stack's folder")
    parser.add_argument("--out", default=str(ROOT / "var" / "served"))
    parser.add_argument("--timeout-min", type=float, default=60)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stack = Stack(database_url=args.database_url)
    result: dict = {"data": args.data, "database": "PostgreSQL" if args.database_url else "SQLite"}
    try:
        stack.manage("migrate", "-v0")
        began = time.monotonic()
        stack.manage("import_data", args.data, "--no-progress")
        result["import_s"] = round(time.monotonic() - began, 1)
        stack.start_redis()
        stack.start_worker("training", "training", threads=2)
        stack.django()
        import torch

        from recommender.training import runner, runs
        from recommender.ml.checkpoint import load_checkpoint
        from recommender.ml.evaluate import evaluate_model
        from recommender.ml.data import leave_one_out
        from recommender.ml.records import VersionMetrics
        from recommender.models import ModelVersion, RunStatus, TrainingRun

        load_before = os.getloadavg()
        run = runs.training_run_start()
        began = time.monotonic()

        def ended():
            run.refresh_from_db()
            return run.status in (RunStatus.SUCCEEDED, RunStatus.REJECTED, RunStatus.FAILED)

        wait(ended, args.timeout_min * 60, "the training run", interval=5)
        wall = time.monotonic() - began
        if run.status != RunStatus.SUCCEEDED:
            raise SystemExit(f"run {run.pk} ended {run.status}: {run.error}\n{stack.log('training')[-3000:]}")
        version = ModelVersion.objects.get(is_active=True)
        assert version.pk == run.model_version_id
        ckpt = load_checkpoint(version.artifact_path)
        model = ckpt.build_model()
        data = runner.run_data(TrainingRun.objects.get(pk=run.pk))
        assert ckpt.item_map == data.item_map
        split = leave_one_out(data)
        torch.set_num_threads(2)
        test = evaluate_model(model, split.test)
        uniform = evaluate_model(model, split.test, uniform=True)
        first = type(model)(model.cfg)
        first.load_state_dict(model.state_dict())
        first.head = None
        first_stage = evaluate_model(first.eval(), split.test)
        metrics: VersionMetrics = run.metrics
        result.update({
            "run": run.pk, "version": version.pk, "training_wall_s": round(wall, 1),
            "training_epoch_s": metrics["train_seconds"], "epochs": metrics["epochs"],
            "best_epoch": metrics["best_epoch"], "val_ndcg@10": metrics["val_ndcg@10"],
            "run_metrics": metrics, "test": test, "first_stage": first_stage,
            "uniform_ndcg@10": uniform["ndcg@10"], "config": version.config,
            "people": len(data.users), "items": data.n_items,
            "same_histories_as_file": _same_histories(data, Path(args.data)),
            "load_average_before": load_before, "load_average_after": os.getloadavg(),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__},
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        })
        shutil.copy(version.artifact_path, out / "model.ckpt")
        if not args.database_url:  # the whole site, for bench.scenarios: a consistent copy
            import sqlite3

            site = out / "site"
            shutil.rmtree(site, ignore_errors=True)
            shutil.copytree(stack.dir / "models", site / "models",
                            ignore=shutil.ignore_patterns("*.tmp", "*.train.ckpt"))
            with sqlite3.connect(stack.dir / "db.sqlite3") as src, sqlite3.connect(site / "db.sqlite3") as dst:
                src.backup(dst)
        from recommender.models import Item

        items = {str(i.pk): {"title": i.title, "genres": [g.name for g in i.genres.all()]}
                 for i in Item.objects.prefetch_related("genres")}
        with (out / "data.pickle").open("wb") as f:
            pickle.dump({"data": data, "items": items}, f)
    finally:
        stack.stop()
    (out / "served.json").write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k not in ("config", "run_metrics")}, indent=2, default=str))
    if not args.no_write:
        write_docs(result, args)


def write_docs(r: dict, args) -> None:
    t, f = r["test"], r["first_stage"]
    drop = 100 * (1 - r["uniform_ndcg@10"] / t["ndcg@10"]) if t["ndcg@10"] else 0.0
    train = r["config"]["train"]
    write_section("Served model", f"""
What people are served, measured where it is served: `.venv/bin/python -m bench.served --data {args.data}`
(finished {r['finished']}; machine: {r['machine']['platform']}, {r['machine']['cpus']} cores, torch
{r['machine']['torch']}; load average before / after: {', '.join(f'{x:.1f}' for x in r['load_average_before'])} /
{', '.join(f'{x:.1f}' for x in r['load_average_after'])}).

`manage.py import_data` ({r['import_s']} s, {r['database']}), then the site's default training run
(`runs.training_run_start()`, no hyper-parameters: time budget {train['time_budget_s']:.0f} s,
"{train['lr_schedule']}" schedule) on one Celery training worker with two torch threads, as
`make run` starts it; the activated version's artifact evaluated on the site's own histories.
Protocol: {PROTOCOL}. The site's histories are the SASRec file's: {r['same_histories_as_file']}.

| | NDCG@10 | HR@10 | target |
|---|---:|---:|---|
| activated version | **{t['ndcg@10']:.4f}** | **{t['hr@10']:.4f}** | ≥ 0.180 / ≥ 0.310 |
| its first stage alone (the summary term) | {f['ndcg@10']:.4f} | {f['hr@10']:.4f} | |
| uniform attention weights (ablation) | {r['uniform_ndcg@10']:.4f} ({drop:.0f}% lower) | | |

Training: {r['training_wall_s'] / 60:.1f} min from the run's start to its activation (target ≤ 35 min), of
which {r['training_epoch_s']} s in epochs; {r['epochs']} epochs, best {r['best_epoch']}, validation
NDCG@10 {r['val_ndcg@10']:.4f}; {r['people']:,} people, {r['items']:,} items.
""")


if __name__ == "__main__":
    main()
