"""Low ratings: can rating data teach "against", and what the policy costs.

    .venv/bin/python -m bench.low_ratings [--data ../shared/data/movielens-100k] [--budget-min 3]

Trains the default model on a data set with rating values (ML-100K, ML-latest-small), as
`bench.model` does (one seed, the time budget given, two threads), then on its test people
whose history holds a rating of 2 stars or less:

- **what comes next**: the cosine of the model's item vectors between each person's test
  item and (a) their films rated 2 stars or less, (b) their films rated 4 or 5 stars, (c)
  random items of the catalogue. If (a) is close to (b) and far above (c), what people
  watch next resembles what they rated low about as much as what they rated high: the
  data records watching, not wanting, and a model trained on it cannot learn "against".
- **what the policy costs**: test NDCG@10 / HR@10 (full ranking, leave-one-out, history
  excluded) of those people and of everyone, with the policy's push (``signals.POLICY``)
  and with it set to 0 (a low rating then does nothing).

Writes the "Low ratings" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "movielens-100k"


def main() -> None:
    import torch
    import torch.nn.functional as F

    from bench.model import load, train_one
    from recommender.ml import signals as sig
    from recommender.ml.evaluate import evaluate_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--budget-min", type=float, default=3.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = load(args.data, "auto")
    model, trainer, state, took = train_one(data, "head", 0, args.budget_min * 60, {}, print)
    E = F.normalize(model.item_vectors().detach()[1:], dim=-1)  # (N, d), index i - 1
    rng = random.Random(0)
    low_next, high_next, random_next = [], [], []
    with_low = []
    for history, target in trainer.split.test:
        lows = [i for i, s in zip(history.items, history.signals) if s in sig.NEGATIVE]
        highs = [i for i, s in zip(history.items, history.signals) if s in (sig.RATED_4, sig.RATED_5)]
        if not lows or not highs:
            continue
        with_low.append((history, target))
        t = E[target - 1]
        low_next.append(float((E[[i - 1 for i in lows]] @ t).mean()))
        high_next.append(float((E[[i - 1 for i in highs]] @ t).mean()))
        random_next.append(float((E[[rng.randrange(data.n_items) for _ in range(50)]] @ t).mean()))

    push = float(model.head.policy[sig.RATED_LOW])
    rows = []
    for label, value in ((f"{push:g} (the policy)", push), ("0 (a low rating does nothing)", 0.0)):
        model.head.policy[sig.RATED_LOW] = value
        them, everyone = evaluate_model(model, with_low), evaluate_model(model, trainer.split.test)
        rows.append(f"| {label} | {them['ndcg@10']:.4f} / {them['hr@10']:.4f} | "
                    f"{everyone['ndcg@10']:.4f} / {everyone['hr@10']:.4f} |")
    model.head.policy[sig.RATED_LOW] = push

    def m(xs):
        return f"{statistics.fmean(xs):.3f} (median {statistics.median(xs):.3f})"

    name = Path(args.data).name
    text = f"""
Command: `.venv/bin/python -m bench.low_ratings --data {args.data} --budget-min {args.budget_min:g}`
(finished {datetime.now(UTC).isoformat(timespec='minutes')}; machine: {platform.machine()},
{os.cpu_count()} cores; load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}).
{name}: the default model, one seed, {args.budget_min:g} minutes ({state.epoch} epochs, best
{state.best_epoch}), two threads. {len(with_low)} of {len(trainer.split.test)} test people have both a
film rated 2★ or less and one rated 4★ or more in their history.

**What comes next** resembles what they rated low about as much as what they rated high.
Mean cosine of the model's item vectors between each such person's test item and:

| their films rated ≤ 2★ | their films rated 4–5★ | 50 random items |
|---:|---:|---:|
| {m(low_next)} | {m(high_next)} | {m(random_next)} |

So a model trained to predict what people watch next learns that a low-rated film points
*towards* what comes next; nothing in the data says "less of this". The push of a low rating
is therefore a policy (docs/design.md), and this is what it costs on the same test:

| push of a low rating | NDCG@10 / HR@10, those {len(with_low)} people | NDCG@10 / HR@10, all {len(trainer.split.test)} |
|---|---|---|
{chr(10).join(rows)}
"""
    print(text)
    if not args.no_write:
        from bench._stack import write_section

        write_section("Low ratings", text)


if __name__ == "__main__":
    main()
