"""The encoder's last block for removal experiments: every tail position, or the last only.

    .venv/bin/python -m bench.explain_last_position --served var/served-ml1m [--people 30]

A removal experiment needs the encoder's state after the last read entry of each variant
of a history. ``Recommender.state_continued`` computes the last block at that position
alone (``last_only``; keys and values still for every position, which the position reads).
This times ``explain_history`` on the served model for the test people with the longest
histories, both ways, interleaved in one process with one torch thread, so that the ratio
holds on a noisy machine. Writes the "Explanations: the encoder's last block" section of
docs/benchmarks.md.
"""
from __future__ import annotations

import os
import pickle
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

def main() -> None:
    import torch

    from explain.attribution import explain_history
    from recommender.ml.checkpoint import load_checkpoint
    from recommender.ml.data import leave_one_out
    from recommender.ml.model import Recommender

    from bench._stack import served_parser

    args = served_parser(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(1)
    model = load_checkpoint(Path(args.served) / "model.ckpt").build_model()
    with open(Path(args.served) / "data.pickle", "rb") as f:
        data = pickle.load(f)["data"]
    tests = sorted(leave_one_out(data).test, key=lambda pair: -len(pair[0]))[:args.people]
    whole = Recommender._encode

    def every_position(self, *a, last_only=False, **k):
        return whole(self, *a, **k)

    times: dict[str, list[float]] = {"every tail position": [], "last position only": []}
    for n, (history, _target) in enumerate(tests):
        history = history[-model.cfg.max_len:]
        with torch.no_grad():
            full = model.full_sort_predict(torch.tensor([history.items]), torch.tensor([history.signals]))
        full[0, list(history.items)] = float("-inf")
        top = full[0].topk(10).indices.tolist()
        for way in (list(times) if n % 2 else list(times)[::-1]):
            Recommender._encode = every_position if way == "every tail position" else whole
            start = time.perf_counter()
            explain_history(model, history, top, exclude=history.items)
            times[way].append(time.perf_counter() - start)
    Recommender._encode = whole
    old, new = times["every tail position"], times["last position only"]
    ratio = statistics.median(b / a for a, b in zip(old, new))
    rows = [f"| {way} | {statistics.median(v):.3f} s | {max(v):.3f} s |" for way, v in times.items()]
    text = f"""
Command: `.venv/bin/python -m bench.explain_last_position --served {args.served} --people {args.people}`
(finished {datetime.now(UTC).isoformat(timespec='minutes')}; machine: {platform.machine()}, {os.cpu_count()} cores;
load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}). `explain_history` (top 10, one torch
thread) on the served model for the {len(tests)} test people with the longest histories
({len(tests[-1][0])}–{len(tests[0][0])} entries, the last {model.cfg.max_len} read), both ways interleaved in one process:

| the encoder's last block in removal experiments | median per person | slowest |
|---|---:|---:|
{chr(10).join(rows)}

Median per-person ratio, last position only / every tail position: **{ratio:.2f}**.
"""
    print(text)
    if not args.no_write:
        from bench._stack import write_section

        write_section("Explanations: the encoder's last block", text)


if __name__ == "__main__":
    main()
