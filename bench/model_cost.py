"""What a model shape costs where the site serves it: scoring one person, explaining one.

    .venv/bin/python -m bench.model_cost [--n-items 3416] [--history 200] [--reps 7] \\
        [--shapes '{"base": {"ffn_mult": 1}, "ffn4": {"ffn_mult": 4}, "d256": {"d_model": 256, "ffn_mult": 1}}']

Builds each shape's Recommender with random weights (cost does not depend on the values),
then on one torch thread times, for random histories of ``--history`` items: the full
ranking of one person (``full_sort_predict``, as the scorer) and one person's explanation
of ten items (``explain.attribution.explain_history``, as the explain worker; its cost is
what the 1-second target is about). Prints medians over ``--reps`` and each shape's ratio
to the first, measured in the same process, so the ratios hold on a noisy machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-items", type=int, default=3416)
    parser.add_argument("--history", type=int, default=200)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--shapes", default=json.dumps({
        "default": {}, "state summary": {"summary": "state"}, "d256": {"d_model": 256}}))
    args = parser.parse_args(argv)
    if args.n_items < 20 or args.history < 2 or args.reps < 1:
        parser.error("--n-items must be at least 20, --history at least 2, --reps at least 1")

    import torch

    from explain.attribution import explain_history
    from recommender.ml.data import History
    from recommender.ml.model import ModelConfig, Recommender

    torch.set_num_threads(1)
    shapes = json.loads(args.shapes)
    gen = torch.Generator().manual_seed(0)
    # the same histories for every shape, so the ratios compare like with like
    histories = [History.of(torch.randperm(args.n_items, generator=gen)[:args.history].add(1).tolist())
                 for _ in range(args.reps)]
    rows = []
    for name, overrides in shapes.items():
        torch.manual_seed(0)
        model = Recommender(ModelConfig(n_items=args.n_items, **overrides)).eval()
        score_ms, explain_s = [], []
        for history in histories:
            seq, signals = torch.tensor([history.items]), torch.tensor([history.signals])
            with torch.no_grad():
                started = time.perf_counter()
                for _ in range(20):
                    model.full_sort_predict(seq, signals)
                score_ms.append((time.perf_counter() - started) / 20 * 1000)
            started = time.perf_counter()
            explain_history(model, history, list(range(1, 11)), exclude=history.items)
            explain_s.append(time.perf_counter() - started)
        rows.append((name, overrides, statistics.median(score_ms), statistics.median(explain_s)))
    base = rows[0]
    print(f"{args.history}-item histories, {args.n_items} items, one thread, medians of {args.reps}")
    print("| shape | overrides | score one person (ms) | explain one person's top 10 (s) |")
    print("|---|---|---:|---:|")
    for name, overrides, score, explain in rows:
        print(f"| {name} | {json.dumps(overrides)} | {score:.2f} ({score / base[2]:.2f}x) | "
              f"{explain:.3f} ({explain / base[3]:.2f}x) |")


if __name__ == "__main__":
    main()
