"""Model quality benchmark: train, evaluate (full ranking, leave-one-out) and time the scorer.

    .venv/bin/python -m bench.model --data ../shared/data/movielens-1m/ml-1m.txt \\
        [--format auto] [--models recsite,sasrec,popularity] [--seeds 3] \\
        [--time-budget-min 30] --out results.json

Reads any supported data set through recommender.importing.readers (no Django), trains
each model with its default configuration per seed, evaluates on the test split (last
item per person; history excluded; rank = 1 + items scored strictly higher), prints a
table and writes JSON. The "Model quality" section of docs/benchmarks.md records runs of it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import torch

from recommender.importing.readers import FORMATS, read_dataset
from recommender.ml.data import SequenceData, build_sequences, genre_matrix
from recommender.ml.evaluate import evaluate_model, evaluate_popularity
from recommender.ml.metrics import mean_std
from recommender.ml.model import ModelConfig, Recommender
from recommender.ml.scorer import Scorer
from recommender.ml.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = (
    "leave-one-out by time (last item = test, second-last = validation), full ranking over "
    "all items, history items excluded, rank = 1 + items scored strictly higher, "
    "NDCG@10 / HR@10, mean and sample std over seeds"
)


def load(path: str, fmt: str, signals: bool = True, text: bool = False) -> SequenceData:
    """Read a data set and return per-person histories with what each event was
    (``signals=False``: every event a plain interaction, as the literature's protocol);
    ``text``: with each item's text vector from the site's text encoder (title, year,
    genres, tags, as the site embeds them)."""
    parsed = read_dataset(path, fmt)
    data = _sequences(parsed, signals)
    genres = genre_matrix({it.external_id: it.genres for it in parsed.items}, data.item_map)
    if genres is not None:  # as the site trains: a new person's genre lift (signals.py)
        data = replace(data, item_genres=genres)
    if text:
        data = replace(data, item_text=text_matrix(parsed.items, data))
    return data


def text_matrix(items, data: SequenceData):
    """Return the items' text vectors aligned to the data's item map: (n_items + 1, dim)."""
    import numpy as np

    from recommender.text.encoder import TextEncoder
    from recommender.text.itemtext import item_text

    by_id = {it.external_id: it for it in items}
    ids = data.item_map.external_ids
    texts = [item_text(title=by_id[i].title, year=by_id[i].year, genres=by_id[i].genres,
                       tags=getattr(by_id[i], "tags", ())) if i in by_id else i for i in ids]
    vectors = TextEncoder(threads=1).encode(texts)
    return np.vstack([np.zeros((1, vectors.shape[1]), dtype=np.float32), vectors.astype(np.float32)])


def _sequences(parsed, signals: bool) -> SequenceData:
    if signals:
        rows = [(e.user, e.item, e.timestamp, e.kind, e.value) for e in parsed.events]
    else:
        rows = [(e.user, e.item, e.timestamp, "rate", None) for e in parsed.events
                if e.kind != "not_interested"]
    return build_sequences(rows)


def default_configs(data: SequenceData, scoring: str, seed: int, budget_s: float | None = None):
    """Return the default (ModelConfig, TrainConfig) of a model, as the site trains it
    (``budget_s`` None: the default time budget); with the data's text vectors when it has them."""
    text_dim = 0 if data.item_text is None else data.item_text.shape[1]
    n_genres = 0 if data.item_genres is None else data.item_genres.shape[1]
    mcfg = ModelConfig(n_items=data.n_items, scoring=scoring, text_dim=text_dim, n_genres=n_genres)
    tcfg = TrainConfig(seed=seed)
    if budget_s is not None:
        tcfg = replace(tcfg, time_budget_s=budget_s)
    return mcfg, tcfg


def with_overrides(mcfg: ModelConfig, tcfg: TrainConfig, overrides: dict):
    """Return (mcfg, tcfg) with every override applied to the config that has the field."""
    return (replace(mcfg, **{k: v for k, v in overrides.items() if hasattr(mcfg, k)}),
            replace(tcfg, **{k: v for k, v in overrides.items() if hasattr(tcfg, k)}))


def train_one(data, scoring, seed, budget_s, overrides, log):
    """Train one model for one seed; return (best model, trainer, state, seconds)."""
    mcfg, tcfg = with_overrides(*default_configs(data, scoring, seed, budget_s), overrides)

    def progress(p):
        val = "" if p.val_ndcg is None else f" val ndcg@10 {p.val_ndcg:.4f} hr@10 {p.val_hr:.4f}"
        log(f"  [{scoring} seed {seed}] epoch {p.epoch} loss {p.loss:.4f}{val} {p.elapsed_s:.0f}s")

    trainer = Trainer(data, mcfg, tcfg, [progress])
    t0, c0 = time.perf_counter(), time.process_time()
    state = trainer.fit()
    # CPU seconds show how much of the wall time this process actually got on a shared box
    state.cpu_seconds = time.process_time() - c0
    return state.best_model(), trainer, state, time.perf_counter() - t0


def cold_slice(model, trainer, below: int = 10) -> dict:
    """Return NDCG@10 / HR@10 on the test people whose target had fewer than ``below``
    training interactions (the cold slice), and how many they are."""
    from recommender.ml.evaluate import popularity_scores

    counts = popularity_scores(trainer.split.train, trainer.data.n_items)
    pairs = [pair for pair in trainer.split.test if counts[pair[1]] < below]
    if not pairs:
        return {"ndcg@10": None, "hr@10": None, "n": 0}
    return evaluate_model(model, pairs)


def time_scorer(model: Recommender, data: SequenceData, trainer: Trainer, n: int = 300) -> dict:
    """Return p50/p99 ms of one person's top 10 (one thread) and batched people per second."""
    threads = torch.get_num_threads()
    ids = data.item_map.external_ids
    scorer = Scorer(model, ids)
    histories = [[(ids[i - 1], s) for i, s in zip(h.items, h.signals)] for h, _ in trainer.split.test]
    g = torch.Generator().manual_seed(0)
    pick = torch.randint(len(histories), (n,), generator=g).tolist()
    torch.set_num_threads(1)
    try:
        for p in pick[:20]:
            scorer.recommend(histories[p], 10)  # warm up
        times = []
        for p in pick:
            t = time.perf_counter()
            scorer.recommend(histories[p], 10)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        batch = 256
        sample = histories[: min(len(histories), 2048)]
        t = time.perf_counter()
        for s in range(0, len(sample), batch):
            scorer.recommend_many(sample[s:s + batch], 10)
        per_s = len(sample) / (time.perf_counter() - t)
    finally:
        torch.set_num_threads(threads)
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))],
        "users_per_s": per_s,
        "threads": 1,
        "batch_size": batch,
        "people_timed": len(times),
    }


def run(args) -> dict:
    """Run the benchmark and return the JSON-ready results."""
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    data = load(args.data, args.format, not args.no_signals, text=args.text)
    log(f"data: {len(data.sequences)} people, {data.n_items} items, "
        f"{sum(map(len, data.sequences))} interactions ({time.perf_counter() - t0:.1f}s)")
    overrides = json.loads(args.override) if args.override else {}
    budget_s = args.time_budget_min * 60
    results: dict = {"models": {}}
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    scorer_stats, ablation = None, []
    first_stage_rows: dict[int, dict] = {}  # seed -> recsite's first stage, scored alone
    if args.sasrec_from_first_stage:
        if "recsite" not in models:
            raise SystemExit("--sasrec-from-first-stage needs recsite among --models")
        if "sasrec" in models:  # its rows come from recsite's runs, so it goes after them
            models.remove("sasrec")
            models.insert(models.index("recsite") + 1, "sasrec")
    for name in models:
        ndcg, hr, secs, epochs, best_epochs, per_seed = [], [], [], [], [], []
        for seed in range(args.seeds):
            if name == "popularity":
                from recommender.ml.data import leave_one_out
                split = leave_one_out(data)
                t = time.perf_counter()
                m = evaluate_popularity(split.train, split.test, data.n_items)
                secs.append(time.perf_counter() - t)
                ndcg.append(m["ndcg@10"]), hr.append(m["hr@10"]), epochs.append(0)
                best_epochs.append(0)
                per_seed.append({"seed": seed, **m})
                break  # deterministic: one run is every seed
            if name == "sasrec" and args.sasrec_from_first_stage:
                row = first_stage_rows[seed]
                log(f"  [sasrec seed {seed}] (recsite's first stage) test ndcg@10 "
                    f"{row['ndcg@10']:.4f} hr@10 {row['hr@10']:.4f}")
                ndcg.append(row["ndcg@10"]), hr.append(row["hr@10"])
                secs.append(row["train_seconds"]), epochs.append(row["epochs"])
                best_epochs.append(row["best_epoch"]), per_seed.append(row)
                continue
            scoring = {"recsite": "head", "sasrec": "last"}[name]
            model, trainer, state, took = train_one(data, scoring, seed, budget_s, overrides, log)
            m = evaluate_model(model, trainer.split.test)
            m["cold"] = cold_slice(model, trainer)
            row = {"seed": seed, **m, "train_seconds": took, "train_cpu_seconds": state.cpu_seconds,
                   "history": state.history, "epochs": state.epoch,
                   "best_epoch": state.best_epoch, "val_ndcg@10": state.best_ndcg}
            if name == "recsite":
                u = evaluate_model(model, trainer.split.test, uniform=True)
                row["ablation_uniform_ndcg@10"] = u["ndcg@10"]
                row["ablation_uniform_hr@10"] = u["hr@10"]
                ablation.append(u["ndcg@10"])
                if args.sasrec_from_first_stage:
                    # the head trains on a detached encoder, so the encoder and item vectors
                    # got exactly SASRec's gradients: without the head this is plain SASRec
                    first = copy.deepcopy(model)
                    first.head = None
                    f = evaluate_model(first, trainer.split.test)
                    first_stage_rows[seed] = {
                        **{k: v for k, v in row.items() if not k.startswith("ablation")},
                        **f, "cold": cold_slice(first, trainer), "first_stage_of": "recsite",
                    }
                if scorer_stats is None:
                    scorer_stats = time_scorer(model, data, trainer)
                    log(f"  scorer: {scorer_stats}")
            log(f"  [{name} seed {seed}] test ndcg@10 {m['ndcg@10']:.4f} hr@10 {m['hr@10']:.4f}")
            ndcg.append(m["ndcg@10"]), hr.append(m["hr@10"]), secs.append(took)
            epochs.append(state.epoch), best_epochs.append(state.best_epoch)
            per_seed.append(row)
            if args.checkpoint_dir:
                trainer.save(state, Path(args.checkpoint_dir) / f"{name}-seed{seed}.ckpt")
        colds = [r["cold"]["ndcg@10"] for r in per_seed if r.get("cold", {}).get("ndcg@10") is not None]
        results["models"][name] = {
            "ndcg@10": mean_std(ndcg), "hr@10": mean_std(hr),
            "cold_ndcg@10": mean_std(colds) if colds else None,
            "cold_people": per_seed[0].get("cold", {}).get("n") if per_seed else None,
            "train_seconds": statistics.mean(secs), "epochs": statistics.mean(epochs),
            "best_epoch": statistics.mean(best_epochs), "seeds": per_seed,
        }
    if scorer_stats is not None:
        results["scorer"] = scorer_stats
    if ablation:
        results["ablation_uniform"] = {"ndcg@10": mean_std(ablation)}
    results.update({
        "data": {"path": str(args.data), "format": args.format, "signals": not args.no_signals,
                 "people": len(data.sequences), "signal_counts": data.signal_counts(),
                 "items": data.n_items, "interactions": sum(map(len, data.sequences))},
        "protocol": PROTOCOL,
        "command": "python -m bench.model " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "overrides": overrides,
        "time_budget_min_per_seed": args.time_budget_min,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "threads": args.threads,
                    "load_average_at_end": os.getloadavg()},
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": time.perf_counter() - t0,
    })
    return results


def table(results: dict) -> str:
    """Return a Markdown table of the results."""
    lines = ["| model | NDCG@10 | HR@10 | cold slice NDCG@10 (people) | train s / seed | epochs (best) | seeds |",
             "|---|---|---|---|---:|---|---:|"]
    for name, r in results["models"].items():
        cold = r.get("cold_ndcg@10")
        cold_text = f"{cold['mean']:.4f} ± {cold['std']:.4f} ({r['cold_people']})" if cold else "—"
        lines.append(
            f"| {name} | {r['ndcg@10']['mean']:.4f} ± {r['ndcg@10']['std']:.4f} "
            f"| {r['hr@10']['mean']:.4f} ± {r['hr@10']['std']:.4f} | {cold_text} | {r['train_seconds']:.0f} "
            f"| {r['epochs']:.1f} ({r['best_epoch']:.1f}) | {len(r['seeds'])} |"
        )
    if "ablation_uniform" in results:
        a = results["ablation_uniform"]["ndcg@10"]
        base = results["models"]["recsite"]["ndcg@10"]["mean"]
        drop = 100 * (1 - a["mean"] / base) if base else 0.0
        lines.append(f"| recsite, head weights frozen to uniform | {a['mean']:.4f} ± {a['std']:.4f} "
                     f"| | | | ({drop:.0f}% lower NDCG@10) |")
    if "scorer" in results:
        s = results["scorer"]
        lines.append("")
        lines.append(f"Scorer (one thread): top 10 for one person p50 {s['p50_ms']:.2f} ms, "
                     f"p99 {s['p99_ms']:.2f} ms; batched ({s['batch_size']} per call) "
                     f"{s['users_per_s']:.0f} people/s.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--format", default="auto", choices=("auto",) + FORMATS)
    parser.add_argument("--models", default="recsite,sasrec,popularity")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-budget-min", type=float, default=30.0,
                        help="training budget per model and seed (stops after the epoch crossing it)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--text", action="store_true",
                        help="give the model the items' text vectors (the site's text encoder)")
    parser.add_argument("--no-signals", action="store_true",
                        help="read every event as a plain interaction (ignore kinds and ratings)")
    parser.add_argument("--override", default="", help='JSON of config fields, e.g. {"lr": 0.002}')
    parser.add_argument("--checkpoint-dir", default="")
    parser.add_argument(
        "--sasrec-from-first-stage", action="store_true",
        help="report recsite's own first stage (its encoder scoring e_i . h_last) as the "
             "sasrec row instead of training SASRec separately: the same budget, half the time",
    )
    args = parser.parse_args(argv)
    results = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\n{results['protocol']}\n{results['command']}")


if __name__ == "__main__":
    main()
