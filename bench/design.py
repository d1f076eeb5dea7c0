"""Design comparison: variants of the model trained side by side for a fixed number of
epochs, then accuracy, the uniform-weights ablation and faithfulness on the same people.

    .venv/bin/python -m bench.design train --data ../shared/data/movielens-1m/ml-1m.txt \\
        --name readout --override '{"summary": "readout"}' --epochs 8 --out var/design
    .venv/bin/python -m bench.design measure --data ... --name readout --out var/design [--people 40]

`train` uses the default recipe with the overrides and an epoch horizon (no time budget, so
variants get equal epochs whatever the machine's load), validation on 2,000 seeded people,
one torch thread; it saves the training checkpoint. `measure` reports, for the best
weights: test NDCG@10 / HR@10 (full ranking, leave-one-out on chosen items, history
excluded), the first stage alone, the uniform-weights ablation, and on a seeded sample of
test people's top 10: the share of checked explanations, Kendall τ of the shown
contributions against leave-one-out on the final score, counterfactuals within 5 removals,
and explanation compute time (one thread). The "Attention over items" section of
docs/benchmarks.md records runs of it.
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import time
from pathlib import Path


def _trainer(args):
    from bench.model import default_configs, load, with_overrides
    from recommender.ml.train import Trainer

    data = load(args.data, "auto")
    overrides = {"val_users": 2000, "max_epochs": args.epochs, **json.loads(args.override)}
    mcfg, tcfg = with_overrides(*default_configs(data, "head", args.seed, 0.0), overrides)
    return Trainer(data, mcfg, tcfg, [lambda p: print(
        f"  epoch {p.epoch} loss {p.loss:.4f} val {p.val_ndcg} {p.elapsed_s:.0f}s", flush=True)])


def train(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    trainer = _trainer(args)
    path = Path(args.out) / f"{args.name}.ckpt"
    path.parent.mkdir(parents=True, exist_ok=True)
    state = trainer.fit(resume_from=path if path.exists() else None, checkpoint_path=path)
    print(f"{args.name}: {state.epoch} epochs, best validation {state.best_ndcg:.4f} at {state.best_epoch}")


def measure(args) -> None:
    import torch

    from explain.attribution import explain_history
    from recommender.ml.data import batch_of
    from recommender.ml.evaluate import evaluate_model, exclusion_mask

    torch.set_num_threads(args.threads)
    trainer = _trainer(args)
    state = trainer.load(Path(args.out) / f"{args.name}.ckpt")
    model = state.best_model()
    test = evaluate_model(model, trainer.split.test)
    first = copy.deepcopy(model)
    first.head = None
    first_stage = evaluate_model(first, trainer.split.test)
    uniform = evaluate_model(model, trainer.split.test, uniform=True)
    torch.set_num_threads(1)
    people = random.Random(0).sample(range(len(trainer.split.test)), args.people)
    tau, checked, found, seconds = [], [], [], []
    for p in people:
        history = trainer.split.test[p][0][-model.cfg.max_len:]
        items, signals = batch_of([history], model.cfg.max_len)
        mask = exclusion_mask([set(history.items)], model.cfg.n_items + 1)
        started = time.perf_counter()
        with torch.no_grad():
            top = model.full_sort_predict(items, signals, exclude=mask)[0].topk(10).indices.tolist()
        person = explain_history(model, history, top, exclude=set(history.items))
        seconds.append(time.perf_counter() - started)
        for e in person.items:
            tau.append(e.faithfulness["kendall_tau"])
            checked.append(e.faithfulness["verified"])
            found.append(e.counterfactual["found"])
    seconds.sort()
    row = {"name": args.name, "override": json.loads(args.override), "epochs": state.epoch,
           "best_epoch": state.best_epoch, "val_ndcg@10": state.best_ndcg,
           "test_ndcg@10": test["ndcg@10"], "test_hr@10": test["hr@10"],
           "first_stage_ndcg@10": first_stage["ndcg@10"], "uniform_ndcg@10": uniform["ndcg@10"],
           "people": args.people, "kendall_tau": statistics.fmean(tau),
           "checked": statistics.fmean(checked), "counterfactual": statistics.fmean(found),
           "compute_p50_s": statistics.median(seconds),
           "compute_p95_s": seconds[max(0, round(0.95 * (len(seconds) - 1)))]}
    print(json.dumps(row))
    with (Path(args.out) / "design.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


LABELS = {
    "state": "head over items + the encoder's state as its own term (`summary=\"state\"`)",
    "readout-ln-1head": "readout over items, layer norm, 1 head",
    "readout-ln-2heads": "**readout over items, layer norm, 2 heads (the default)**",
    "readout-ln-4heads": "readout over items, layer norm, 4 heads",
    "readout-linear-1head": "readout over items, linear, 1 head",
    "readout-linear-4heads": "readout over items, linear, 4 heads",
}


def report(args) -> None:
    """Write the "Attention over items" section of docs/benchmarks.md from design.jsonl."""
    import os
    import platform

    from bench._stack import write_section

    rows = {}
    for line in (Path(args.out) / "design.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[row["name"]] = row  # the last measurement of each variant
    lines = ["| variant | val NDCG@10 | test NDCG@10 / HR@10 | first stage | uniform weights | checked | τ | counterfactual | compute p50 / p95 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in [n for n in LABELS if n in rows] + [n for n in rows if n not in LABELS]:
        r = rows[name]
        drop = 100 * (1 - r["uniform_ndcg@10"] / r["test_ndcg@10"])
        lines.append(f"| {LABELS.get(name, name)} | {r['val_ndcg@10']:.4f} | {r['test_ndcg@10']:.4f} / {r['test_hr@10']:.4f} "
                     f"| {r['first_stage_ndcg@10']:.4f} | {r['uniform_ndcg@10']:.4f} (−{drop:.0f}%) | {r['checked']:.1%} "
                     f"| {r['kendall_tau']:.2f} | {r['counterfactual']:.1%} | {r['compute_p50_s']:.2f} / {r['compute_p95_s']:.2f} s |")
    table = "\n".join(lines)
    write_section("Attention over items: the design compared", f"""
The options of issue 17 measured against each other on ML-1M (`ml-1m.txt`), seed 0, exactly
{next(iter(rows.values()))['epochs']} epochs each ("wsd" decay over the last fifth, validation on 2,000 seeded people), one
torch thread per run, two runs side by side:
`.venv/bin/python -m bench.design train --data ../shared/data/movielens-1m/ml-1m.txt --name NAME
--override JSON --epochs 8`, then `bench.design measure ... --people {next(iter(rows.values()))['people']}` for each (machine:
{platform.machine()}, {os.cpu_count()} cores; other work shared the machine during training, which changes
the time, not the figures). Full ranking, leave-one-out on chosen items, history excluded.
Faithfulness on {next(iter(rows.values()))['people']} seeded test people's top 10 with today's attribution: "checked" = the
shown top 3 beat 3 random removals and removing them does not raise the item; τ = Kendall
τ of the shown contributions against leave-one-out on the final score; counterfactual =
found within 5 removals; compute = one person's top 10, one thread.

{table}

- The first design attended over encoder states; its head put 0.87–0.99 of the weight on
  the last state (the whole-history summary) and credited whatever came last.
- Keeping the encoder's state as its own term keeps SASRec's accuracy but leaves the
  largest part of the score to no item, and removal moves it in ways the shown weights do
  not: τ stays low and a third of the explanations fail the check.
- Making that term itself attention over single items (the readout) attributes the whole
  score to history entries; the shown contributions are the exact removal effects with
  the encoder's state held, and agree with real removal. A purely linear readout loses
  about 0.01 NDCG@10; the layer norm and a second head win it back to the state summary's
  validation level.
- Ten epochs or fewer rank designs, not final figures: the served model and the 3-seed
  benchmark below train to the 30-minute budget.
""")
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("train", "measure", "report"))
    parser.add_argument("--data", default="")
    parser.add_argument("--name", default="")
    parser.add_argument("--override", default="{}")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="var/design")
    args = parser.parse_args()
    {"train": train, "measure": measure, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
