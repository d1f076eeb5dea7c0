"""Configuration sweep: train several variants side by side and log every epoch's validation.

    .venv/bin/python -m bench.sweep --data ../shared/data/movielens-1m/ml-1m.txt \\
        --variants bench/sweeps/ml1m.json --out sweep.json [--parallel 4] [--wall-limit-min 10]

The variants file maps a name to config overrides (any ModelConfig or TrainConfig field)
plus ``epochs``; an entry ``_base`` holds overrides every variant starts from. Each variant trains in its own process for exactly that many epochs (no
early stopping; the learning-rate schedule's horizon is ``epochs``), logging per epoch the
validation NDCG@10 of the final order (the head's) and of the first stage alone; at the end
the best-validation weights are scored on the test split, with the head's weights frozen to
uniform as well. The parent merges what the children have logged into ``--out`` every few
seconds, so a sweep cut short still leaves its curves. It answers "which recipe, at how
many epochs" questions; ``bench.model`` is the benchmark of record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from recommender.importing.readers import FORMATS
from recommender.ml.evaluate import evaluate_model

from .model import default_configs, load, with_overrides


def evaluate_first_stage(model, pairs) -> dict:
    """Return the metrics of the model's first stage alone (the head set aside)."""
    head = model.head
    model.head = None
    try:
        return evaluate_model(model, pairs)
    finally:
        model.head = head


def run_variant(args) -> None:
    """Train one variant, appending one JSON line per epoch (and one at the end) to --log."""
    from recommender.ml.train import Trainer

    torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("high")  # TF32 on a GPU; no effect on the CPU
    spec = json.loads(args.override)
    epochs = int(spec.pop("epochs"))
    data = load(args.data, args.format, not spec.pop("no_signals", False))
    mcfg, tcfg = with_overrides(*default_configs(data, spec.pop("scoring", "head"), args.seed, 0.0), spec)
    unknown = [k for k in spec if not hasattr(mcfg, k) and not hasattr(tcfg, k)]
    if unknown:
        raise SystemExit(f"unknown config fields: {unknown}")
    tcfg = replace(tcfg, max_epochs=epochs, patience=epochs + 1, device=args.device)
    trainer = Trainer(data, mcfg, tcfg)
    state = trainer.init_state()
    log = Path(args.log).open("a")

    def write(row: dict) -> None:
        log.write(json.dumps(row) + "\n")
        log.flush()

    while not state.done:
        t = time.perf_counter()
        trainer.train_epochs(state, 1)
        h = state.history[-1]
        row = {"epoch": h["epoch"], "loss": h["loss"], "lr": h["lr"], "val": h["val_ndcg@10"],
               "epoch_s": time.perf_counter() - t}
        if state.model.head is not None:
            row["val_first"] = evaluate_first_stage(state.model, trainer.valid)["ndcg@10"]
        if args.test_every_epoch:  # to see where test peaks; never used to choose weights
            row["test"] = evaluate_model(state.model.eval(), trainer.split.test)["ndcg@10"]
        write(row)
    model = state.best_model()
    test = evaluate_model(model, trainer.split.test)
    final = {"final": True, "best_epoch": state.best_epoch, "best_val": state.best_ndcg,
             "test_ndcg": test["ndcg@10"], "test_hr": test["hr@10"]}
    if model.head is not None:
        first = evaluate_first_stage(model, trainer.split.test)
        uniform = evaluate_model(model, trainer.split.test, uniform=True)
        final.update(test_first_ndcg=first["ndcg@10"], test_first_hr=first["hr@10"],
                     test_uniform_ndcg=uniform["ndcg@10"])
    write(final)


def merge(variants: dict, logdir: Path, out: Path, started: float) -> dict:
    """Collect every variant's log lines into one JSON document at ``out``."""
    result = {"variants": {}, "wall_s": time.perf_counter() - started}
    for name, spec in variants.items():
        path = logdir / f"{name}.jsonl"
        rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
        err = logdir / f"{name}.err"
        tail = err.read_text()[-1500:] if err.exists() else ""
        result["variants"][name] = {
            "spec": spec, "epochs": [r for r in rows if not r.get("final")],
            "final": next((r for r in rows if r.get("final")), None), "stderr_tail": tail,
        }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(out)
    return result


def markdown(result: dict) -> str:
    """Return a Markdown table of a merged sweep: one row per variant."""
    rows = ["| variant | overrides | epochs run | best val (epoch) | val, first stage | "
            "test NDCG@10 / HR@10 | test, first stage | test, uniform weights |",
            "|---|---|---:|---|---:|---|---:|---:|"]
    for name, v in result["variants"].items():
        ep, f = v["epochs"], v["final"] or {}
        spec = ", ".join(f"{k}={x}" for k, x in v["spec"].items() if k != "epochs") or "defaults"
        if not ep:  # it failed before its first epoch: say why
            why = v["stderr_tail"].strip().splitlines()[-1:] or ["no output"]
            rows.append(f"| {name} | {spec} | 0 | | | {why[0]} | | |")
            continue
        best = max(ep, key=lambda r: r["val"] or -1)
        first = max(r.get("val_first") or -1 for r in ep)
        test = f"{f['test_ndcg']:.4f} / {f['test_hr']:.4f}" if f else "(cut at the wall limit)"
        cells = [f"{first:.4f}" if first >= 0 else "", test,
                 *(f"{f[k]:.4f}" if k in f else "" for k in ("test_first_ndcg", "test_uniform_ndcg"))]
        rows.append(f"| {name} | {spec} | {len(ep)} of {v['spec']['epochs']} | "
                    f"{best['val']:.4f} ({best['epoch']}) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--format", default="auto", choices=("auto",) + FORMATS)
    parser.add_argument("--variants", help="JSON file: name -> overrides with 'epochs'")
    parser.add_argument("--only", default="", help="comma-separated variant names to run")
    parser.add_argument("--out", help="merged JSON results")
    parser.add_argument("--logdir", default="", help="per-variant logs (default: beside --out)")
    parser.add_argument("--parallel", type=int, default=1, help="variants trained at once")
    parser.add_argument("--wall-limit-min", type=float, default=0.0, help="stop all after (0 = none)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per variant")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-every-epoch", action="store_true",
                        help="also log each epoch's test NDCG@10 (exploration only: the "
                             "reported weights are still the best validation epoch's)")
    # one variant (the parent starts these)
    parser.add_argument("--override", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    parser.add_argument("--report", help="print a merged sweep JSON as a Markdown table")
    args = parser.parse_args(argv)
    if args.report:
        print(markdown(json.loads(Path(args.report).read_text())))
        return
    if args.override:
        run_variant(args)
        return
    if not args.data or not args.variants or not args.out:
        parser.error("--data, --variants and --out are required")
    variants = json.loads(Path(args.variants).read_text())
    base = {k: v for k, v in variants.pop("_base", {}).items() if not k.startswith("_")}
    variants = {name: {**base, **spec} for name, spec in variants.items()}
    if args.only:
        variants = {k: variants[k] for k in args.only.split(",")}
    out = Path(args.out)
    logdir = Path(args.logdir) if args.logdir else out.parent / (out.stem + "-logs")
    logdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pending, running = list(variants.items()), {}
    while pending or running:
        while pending and len(running) < args.parallel:
            name, spec = pending.pop(0)
            cmd = [sys.executable, "-m", "bench.sweep", "--data", args.data, "--format",
                   args.format, "--override", json.dumps(spec), "--log",
                   str(logdir / f"{name}.jsonl"), "--threads", str(args.threads),
                   "--device", args.device, "--seed", str(args.seed)]
            cmd += ["--test-every-epoch"] if args.test_every_epoch else []
            err = (logdir / f"{name}.err").open("w")
            running[name] = subprocess.Popen(cmd, stderr=err, stdout=err, env=os.environ.copy())
        time.sleep(5)
        for name, proc in list(running.items()):
            if proc.poll() is not None:
                del running[name]
        if args.wall_limit_min and time.perf_counter() - started > args.wall_limit_min * 60:
            for proc in running.values():
                proc.terminate()
            pending, running = [], {}
        merge(variants, logdir, out, started)
    print(markdown(merge(variants, logdir, out, started)))


if __name__ == "__main__":
    main()
