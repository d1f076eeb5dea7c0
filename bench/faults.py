"""Fault drill: break a real stack on purpose and check that nothing is lost.

Starts a PostgreSQL cluster and a Redis (append-only, fsync every second) of the drill's
own on free ports, gunicorn (2 workers), one Celery worker per queue (training, scoring,
explain) and beat, seeds the demo catalogue, then runs each case of the catalogue: a
fault, the site's own recovery, and checks. Every case prints the counts before and after
and a verdict; after every case the drill also checks that every event a client got a
2xx for is stored exactly once and that every model version's artifact is whole and
verified. Writes the "Fault drill" section of docs/benchmarks.md. The harness is in
bench/_faultdrill.py, the cases in bench/_faultcases.py, the servers in bench/_faultstack.py.

    .venv/bin/python -m bench.faults [--cases a,b,...] [--short] [--no-write] [--keep]
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone as dt_timezone
from pathlib import Path

from bench._faultcases import CASES
from bench._faultdrill import HYPERPARAMS, STACK_ENV, SWEEP_EVERY_S, Drill, Result
from bench._stack import write_section

__all__ = ["CASES", "main", "run_drill"]


def run_case(d: Drill, name: str, title: str, fn: Callable[[Drill, Result], None]) -> Result:
    """Run one case: counts before, the fault and its checks, settling, invariants, counts after."""
    result = Result(name, title)
    print(f"\n== {name}: {title}", flush=True)
    result.before = d.counts()
    print("   before: " + fmt_counts(result.before), flush=True)
    started = time.monotonic()
    try:
        fn(d, result)
    except Exception as exc:  # noqa: BLE001 - a case that breaks is a failed case
        result.failures.append(f"{type(exc).__name__}: {exc}")
    if not result.skipped:
        result.failures.extend(d.settle())
        result.failures.extend(d.db(d.invariants, ["database unreadable"]))
    result.seconds = time.monotonic() - started
    result.after = d.counts()
    print("   after:  " + fmt_counts(result.after), flush=True)
    for note in result.notes:
        print(f"   - {note}", flush=True)
    for failure in result.failures:
        print(f"   ! {failure}", flush=True)
    print(f"   {verdict(result).strip('*').upper()} ({result.seconds:.1f} s)", flush=True)
    return result


def verdict(result: Result) -> str:
    return "skipped" if result.skipped else "pass" if result.passed else "**FAIL**"


def fmt_counts(c: dict) -> str:
    return (f"events={c['events']} 2xx={c['2xx']} runs ok/failed/rejected={c['runs']} versions={c['versions']} "
            f"active={c['active']} recs={c['recs']} stale={c['stale']} pending={c['pending']}")


def select_cases(names: str | None, short: bool) -> list[tuple]:
    known = {c[0] for c in CASES}
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        unknown = set(wanted) - known
        if unknown:
            raise SystemExit(f"unknown cases {sorted(unknown)}; known: {', '.join(c[0] for c in CASES)}")
        return [c for c in CASES if c[0] in wanted]
    return [c for c in CASES if c[2] or not short]


def run_drill(names: str | None = None, *, short: bool = False, keep: bool = False) -> tuple[Drill, list[Result]]:
    """Start the stack, run the selected cases in catalogue order, stop the stack."""
    cases = select_cases(names, short)
    drill = Drill(keep=keep)
    results: list[Result] = []
    try:
        drill.start()
        print(f"stack up in {drill.setup_seconds:.0f} s ({', '.join(drill.setup_steps)}): {drill.database}, "
              f"Redis on port {drill.stack.redis_port}, gunicorn on {drill.base}", flush=True)
        for name, title, _short, fn in cases:
            results.append(run_case(drill, name, title, fn))
    finally:
        drill.stop()
    return drill, results


def delta(before, after) -> str:
    return f"{before}" if before == after else f"{before} → {after}"


def table(results: list[Result]) -> str:
    rows = ["| case | events stored | events answered 2xx | runs ok/failed/rejected | model versions "
            "| active version | recommendation rows | tasks pending | result | s |",
            "|---|---:|---:|---|---:|---|---:|---:|---|---:|"]
    for x in results:
        b, a = x.before, x.after
        rows.append(f"| {x.title} | {delta(b['events'], a['events'])} | {delta(b['2xx'], a['2xx'])} "
                    f"| {delta(b['runs'], a['runs'])} | {delta(b['versions'], a['versions'])} "
                    f"| {delta(b['active'], a['active'])} | {delta(b['recs'], a['recs'])} "
                    f"| {delta(b['pending'], a['pending'])} | {verdict(x)} "
                    f"| {x.seconds:.0f} |")
    return "\n".join(rows)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    return f"{os.cpu_count()} cores ({cpu}), no GPU, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all, or the --short set)")
    parser.add_argument("--short", action="store_true", help="only the CI subset: " + ", ".join(
        c[0] for c in CASES if c[2]))
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folders and logs")
    args = parser.parse_args(argv)
    # Stopped from outside (a CI timeout): unwind, so the stack's processes are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load = Path("/proc/loadavg").read_text().split()[:3]
    started = time.monotonic()
    drill, results = run_drill(args.cases, short=args.short, keep=args.keep)
    total = time.monotonic() - started
    print("\n" + table(results))
    passed = sum(x.passed for x in results)
    print(f"\n{passed} of {len(results)} cases passed in {total:.0f} s", flush=True)
    if not args.no_write:
        command = ".venv/bin/python -m bench.faults" + (" --short" if args.short else "") + (
            f" --cases {args.cases}" if args.cases else "")
        write_section("Fault drill", section(command, drill, results, total, load))
    return 0 if passed == len(results) else 1


def section(command: str, drill: Drill, results: list[Result], total: float, load: list[str]) -> str:
    details = "\n".join(
        f"- **{x.title}** ({x.name}): " + "; ".join(x.notes + [f"FAILED: {f}" for f in x.failures])
        for x in results)
    date = datetime.now(dt_timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""
Command: `{command}` (one command from a clean clone; {total / 60:.1f} minutes in all, of which
{drill.setup_seconds:.0f} s starting the stack). Machine: {machine()}; load average {' '.join(load)}
when it started; {date}.

Stack, all started and stopped by the drill: {drill.database}; its own Redis (append-only
file, `appendfsync everysec`) on a free port as broker and cache; gunicorn with 2 sync
workers; one Celery worker per queue (training, scoring, explain), one process each;
beat with the database scheduler. The machine's own PostgreSQL and Redis are never
touched. Data: `generate_demo --users 120 --items 200` plus 80 drill people posting
through the API and 2 through the pages. Drill settings: tiny models
({", ".join(f"{k}={v}" for k, v in HYPERPARAMS.items())}), one training task per run,
scoring chunks of {STACK_ENV['RECSITE_SCORING_CHUNK']} people, the quality gate off, beat's
sweeps every {SWEEP_EVERY_S} s instead of every minute.

After every case the drill waits until no task is pending, nobody's list is stale and no
run is going, then checks that every event a client was answered 2xx for is stored
exactly once, that exactly one model version is active, that every version's artifact
exists and matches its sha256, and that no partly written file is in the model folder.
Counts are before → after each case ("2xx" counts the drill's own events, the stored
total includes the demo's).

{table(results)}

{details}

Found by this drill and fixed, each in a commit of its own with a test:
- A replacement Celery pool process imports torch before it reports up, which took longer
  than Celery's default 4 s (`worker_proc_alive_timeout`) on this busy machine: after a
  SIGKILL the worker killed every replacement in a loop, and the redelivered training
  chunk never ran. The worker now waits up to 60 s (`recsite/celery.py`).
- A worker killed while writing a checkpoint left its temp file in the model folder for
  good. A chunk now deletes its run's partly written files before it starts.
- People with a few events (histories shorter than the head's 8 training positions) gave
  the head's attention NaN weights for the padding positions it picked; left out of the
  loss, they still made every gradient of the head NaN, so training on the drill's data
  ended in a NaN loss (with a single batch, in a model of NaN weights). Such queries now
  get zero weights.
- A training chunk that failed after it had reported an epoch released its lease, so
  Celery's retry (same task id, same arguments) was refused as a stale duplicate and the
  run stalled until the sweep resumed it two minutes later. The lease now stays with the
  task while it retries.

Not drilled: SIGKILL of a whole worker (its main process too, as when a machine is lost).
Its unacknowledged task then stays in Redis until the visibility timeout (1 h) before it
is delivered again; a training run is resumed earlier, by the sweep, once its lease
expires (15 min).
"""


if __name__ == "__main__":
    sys.exit(main())
