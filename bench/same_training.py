"""Does this checkout train and evaluate exactly as another one? A check for restructurings.

    .venv/bin/python -m bench.same_training --compare /tmp/rs/old \\
        [--data ../shared/data/movielens-1m/ml-1m.txt] [--epochs 2]

Runs `bench.model` (the site's default recipe, seed 0, one torch thread, a fixed number of
epochs instead of a time budget, so nothing depends on how fast the machine is) in this
checkout and in the compared one (e.g. `git worktree add /tmp/rs/old 15f2e82`, the commit
of a recorded benchmark), side by side, and compares every figure of their results except
times: each epoch's loss, the validation and test NDCG@10 / HR@10, the cold slice, the
ablation with the attention frozen to uniform. Equal to the last bit means the figures
measured on the compared commit hold for this code. Writes the "Training unchanged by a
restructuring" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench._stack import ROOT, write_section

TIMING = ("seconds", "elapsed_s", "_ms", "users_per_s", "load_average", "finished", "command", "machine")


def differences(a: object, b: object, path: str = "") -> list[str]:
    """Return where two results differ, times left out."""
    if any(t in path for t in TIMING):
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b))
                for d in (differences(a.get(k), b.get(k), f"{path}/{k}") if k in a and k in b
                          else [f"{path}/{k}: only in one"])]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} entries against {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} against {b!r}"]


def commit(checkout: Path) -> str:
    out = subprocess.run(["git", "-C", str(checkout), "log", "-1", "--format=%h"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no", "--", "*.py"],
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + (" + uncommitted code changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", required=True, type=Path, help="the other checkout")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "movielens-1m" / "ml-1m.txt"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    started = datetime.now(timezone.utc)
    override = json.dumps({"max_epochs": args.epochs, "time_budget_s": 0})
    work = Path(tempfile.mkdtemp(prefix="same-training-"))
    runs = {}
    for name, checkout in (("this", ROOT), ("compared", args.compare.resolve())):
        out = work / f"{name}.json"
        command = [sys.executable, "-m", "bench.model", "--data", args.data, "--models", "recsite", "--seeds", "1",
                   "--threads", "1", "--time-budget-min", "0", "--override", override, "--out", str(out)]
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        runs[name] = (out, subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.DEVNULL,
                                            stderr=open(work / f"{name}.log", "w")))
    for name, (_, process) in runs.items():
        if process.wait() != 0:
            sys.exit(f"bench.model failed in the {name} checkout: see {work / (name + '.log')}")
    this, other = (json.loads(runs[n][0].read_text()) for n in ("this", "compared"))
    found = differences(this, other)
    seed = this["models"]["recsite"]["seeds"][0]
    losses = ", ".join(f"{h['loss']:.10f}" for h in seed["history"])
    verdict = ("**identical**: every figure above is equal to the last bit in both" if not found
               else f"**different** in {len(found)} places: " + "; ".join(found[:10]))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    body = f"""Two checkouts train the site's default recipe side by side (seed 0, one torch thread each,
{args.epochs} epochs instead of a time budget) and evaluate it on the full-ranking protocol of
"Model quality"; their results are compared field by field, times left out.

| | this checkout | compared checkout |
|---|---|---|
| commit | {commit(ROOT)} | {commit(args.compare)} |
| loss per epoch | {losses} | {", ".join(f"{h['loss']:.10f}" for h in other['models']['recsite']['seeds'][0]['history'])} |
| validation NDCG@10 | {seed['val_ndcg@10']!r} | {other['models']['recsite']['seeds'][0]['val_ndcg@10']!r} |
| test NDCG@10 / HR@10 | {seed['ndcg@10']!r} / {seed['hr@10']!r} | {other['models']['recsite']['seeds'][0]['ndcg@10']!r} / {other['models']['recsite']['seeds'][0]['hr@10']!r} |
| attention frozen to uniform, NDCG@10 | {seed['ablation_uniform_ndcg@10']!r} | {other['models']['recsite']['seeds'][0]['ablation_uniform_ndcg@10']!r} |

Result: {verdict}.

- Command: `.venv/bin/python -m bench.same_training --compare {args.compare} --epochs {args.epochs}` (data `{Path(args.data).resolve()}`)
- Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}; {started:%Y-%m-%d %H:%M} UTC.
"""
    print(body)
    if not args.no_write:
        write_section("Training unchanged by a restructuring", body)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
