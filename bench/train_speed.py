"""Training speed: seconds per ML-1M training step of the default model, with and without
the CPU operations of ``recommender/ml/ops.py``.

    .venv/bin/python -m bench.train_speed [--data ../shared/data/movielens-1m/ml-1m.txt] [--reps 3]

Each variant runs in a process of its own (the allocator setting is process-wide), two
torch threads, on the same 22 batches of the first training epoch (after 3 warm-up steps);
a repetition is one pass over them, and the variants take turns so that the machine's
load falls on all of them alike. Reported: the median over repetitions of the mean
seconds per step, and the ratio to torch's own operations measured in the same run.
Writes the "Training speed" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "movielens-1m" / "ml-1m.txt"
VARIANTS = {
    "torch": "torch's nn.Dropout and F.cross_entropy, default allocator",
    "ops": "ops.Dropout and ops.linear_cross_entropy, default allocator",
    "ops+memory": "ops.Dropout, ops.linear_cross_entropy and ops.keep_freed_memory (the default)",
}


def one(data_path: str, variant: str) -> float:
    """Return the mean seconds of one pass of training steps in this process."""
    import time

    import torch
    import torch.nn.functional as F

    from bench.model import load
    from recommender.ml import model as model_module
    from recommender.ml import ops
    from recommender.ml.data import leave_one_out, training_batches
    from recommender.ml.model import ModelConfig, Recommender

    torch.set_num_threads(2)
    if variant == "torch":
        model_module.Dropout = torch.nn.Dropout
        model_module.linear_cross_entropy = lambda h, W, t: F.cross_entropy(h @ W.t(), t)
    if variant == "ops+memory":
        ops.keep_freed_memory()
    data = load(data_path, "auto")
    torch.manual_seed(0)
    model = Recommender(ModelConfig(n_items=data.n_items)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    batches = []
    for n, batch in enumerate(training_batches(leave_one_out(data).train, max_len=200, batch_size=64,
                                               seed=0, epoch=0)):
        batches.append(batch)
        if n == 24:
            break

    def step(batch):
        loss = model.calculate_loss(*batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for batch in batches[:3]:
        step(batch)
    started = time.perf_counter()
    for batch in batches[3:]:
        step(batch)
    return (time.perf_counter() - started) / len(batches[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--one", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.data, args.one)))
        return
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for rep in range(args.reps):
        for variant in VARIANTS:
            out = subprocess.run([sys.executable, "-m", "bench.train_speed", "--data", args.data, "--one", variant],
                                 cwd=ROOT, check=True, capture_output=True, text=True).stdout
            times[variant].append(json.loads(out.strip().splitlines()[-1]))
            print(f"rep {rep + 1}: {variant} {times[variant][-1]:.3f} s/step", flush=True)
    base = statistics.median(times["torch"])
    rows = "\n".join(
        f"| {v} | {what} | {statistics.median(times[v]):.3f} | {', '.join(f'{t:.3f}' for t in times[v])} "
        f"| {statistics.median(times[v]) / base:.2f} |" for v, what in VARIANTS.items())
    text = f"""
Command: `.venv/bin/python -m bench.train_speed --reps {args.reps}` (finished
{datetime.now(UTC).isoformat(timespec='minutes')}; machine: {platform.machine()}, {os.cpu_count()} cores,
{platform.processor() or 'cpu'}; load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}).
The default model (d=128, 2 blocks, readout and head) on ML-1M, two torch threads, the same 22
batches of 64 people (mean length 136 entries) per repetition, each variant in its own process.

| variant | what | median s/step | repetitions | vs torch's |
|---|---|---:|---|---:|
{rows}
"""
    print(text)
    if not args.no_write:
        from bench._stack import write_section

        write_section("Training speed", text)


if __name__ == "__main__":
    main()
