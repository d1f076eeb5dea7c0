"""How faithful and how fast are the explanations? Measured on ML-1M with a trained model.

    .venv/bin/python -m bench.explain train [--data ../shared/data/movielens-1m/ml-1m.txt] \\
        [--epochs 6] [--out var/bench/explain-ml1m.ckpt]
    .venv/bin/python -m bench.explain measure [--people 0] [--write-docs]

`train` trains the site's default model (ModelConfig/TrainConfig defaults, a bounded
number of epochs) with recommender.ml.train.Trainer and saves a checkpoint with its
test NDCG@10 / HR@10 (full ranking, leave-one-out). `measure` explains every test
person's top 10 (history = everything but the test item, history items excluded from the
ranking, as on the site) with explain.attribution on one process and one torch thread,
times each person, and times the "why this?" page over stored records; `--write-docs`
replaces the "Explanations" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "movielens-1m" / "ml-1m.txt"
CKPT = ROOT / "var" / "bench" / "explain-ml1m.ckpt"


def load_data(path: str):
    """Return (SequenceData, {external id: [genre, ...]}, {external id: title})."""
    from recommender.importing.readers import read_dataset
    from recommender.ml.data import build_sequences

    parsed = read_dataset(path, "auto")
    rows = [(e.user, e.item, e.timestamp) for e in parsed.events if e.kind != "not_interested"]
    genres = {it.external_id: list(it.genres) for it in parsed.items}
    titles = {it.external_id: it.title for it in parsed.items}
    return build_sequences(rows), genres, titles


def train(args: argparse.Namespace) -> None:
    """Train the default model for a bounded number of epochs; save it with its test metrics."""
    import torch

    from recommender.ml.checkpoint import save_checkpoint
    from recommender.ml.evaluate import model_ranks, summarize
    from recommender.ml.model import ModelConfig
    from recommender.ml.train import TrainConfig, Trainer

    torch.set_num_threads(args.threads)
    data, _genres, _titles = load_data(args.data)
    mcfg = ModelConfig(n_items=data.n_items)
    tcfg = TrainConfig(max_epochs=args.epochs, val_users=args.val_users, time_budget_s=args.budget_min * 60)

    def progress(p):
        print(f"epoch {p.epoch} loss {p.loss:.4f} val ndcg@10 {p.val_ndcg} {p.elapsed_s:.0f}s", flush=True)

    trainer = Trainer(data, mcfg, tcfg, [progress])
    resumable = Path(args.out).with_suffix(".train.ckpt")  # survives an interrupted run
    state = trainer.fit(resume_from=resumable if resumable.exists() else None,
                        checkpoint_path=resumable)
    model = state.best_model()
    test = summarize(model_ranks(model, trainer.split.test))
    metrics = {"test_ndcg@10": test["ndcg@10"], "test_hr@10": test["hr@10"],
               "val_ndcg@10": state.best_ndcg, "best_epoch": state.best_epoch,
               "epochs": state.epoch, "train_seconds": round(state.elapsed_s, 1)}
    print(json.dumps(metrics), flush=True)
    save_checkpoint(args.out, config=mcfg, item_map=data.item_map,
                    payload={"model": model.state_dict()}, metrics=metrics,
                    meta={"train_config": tcfg.to_dict(), "data": str(args.data)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", default=str(DATA))
    t.add_argument("--epochs", type=int, default=6)
    t.add_argument("--val-users", type=int, default=1000)
    t.add_argument("--budget-min", type=float, default=0.0, help="stop after the epoch crossing it")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--out", default=str(CKPT))
    m = sub.add_parser("measure")
    m.add_argument("--data", default=str(DATA))
    m.add_argument("--ckpt", default=str(CKPT))
    m.add_argument("--people", type=int, default=0, help="0 = every test person")
    m.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.command == "train":
        train(args)
    else:
        measure(args)


def measure(args: argparse.Namespace) -> None:  # filled in below
    raise NotImplementedError


if __name__ == "__main__":
    main()
