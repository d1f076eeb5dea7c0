"""How much memory and time do the importers' readers need: a 200 MB file that is one line,
and the MovieLens data sets, measured as the peak resident memory of a child process that
only reads (no database), median of several runs.

    .venv/bin/python -m bench.reader_memory [--data ../shared/data] [--runs 3] [--compare DIR]

`--compare DIR` runs the same reads with the readers of another checkout too (e.g.
`git archive main | tar -x -C /tmp/main`), side by side. Writes the "Reader memory"
section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from bench.import_speed import machine

ROOT = Path(__file__).resolve().parent.parent
HUGE_MB = 200

# Runs in the child, with the checkout under test as its working directory (so its
# `recommender` package is the one imported).
CHILD = r"""
import json, resource, sys, time
from recommender.importing.readers import ImportFormatError, read_dataset
fmt = sys.argv[2]
started = time.perf_counter()
try:
    if sys.argv[1] == "-":
        outcome = "nothing read"
    else:
        parsed = read_dataset(sys.argv[1], fmt)
        outcome = f"read {len(parsed.events):,} events"
except ImportFormatError as exc:
    outcome = "refused: " + exc.reason
print(json.dumps({"s": time.perf_counter() - started, "outcome": outcome,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def read_once(code: Path, path: Path, fmt: str) -> dict:
    """Read `path` in a fresh interpreter with the readers of checkout `code`."""
    run = subprocess.run([sys.executable, "-c", CHILD, str(path), fmt], cwd=code, check=True,
                         capture_output=True, text=True, timeout=1800)
    return json.loads(run.stdout.strip().splitlines()[-1])


def one_line_file(directory: Path) -> Path:
    """Write a sequence file of HUGE_MB megabytes on a single line: one user, ~100M items."""
    path = directory / "one-line.txt"
    block = b" 2" * (1 << 20)
    with path.open("wb") as handle:
        handle.write(b"1")
        for _ in range(HUGE_MB * 10**6 // len(block)):
            handle.write(block)
        handle.write(b"\n")
    return path


def measure(codes: list[tuple[Path, int]], cases: list[tuple[str, Path, str]]) -> list[list[dict]]:
    """Return, per checkout, the median of each case; runs of the checkouts take turns, so
    that a change in the machine's load weighs on both alike."""
    rows: list[list[dict]] = [[] for _ in codes]
    for name, path, fmt in cases:
        results: list[list[dict]] = [[] for _ in codes]
        for run in range(max(runs for _, runs in codes)):
            for n, (code, runs) in enumerate(codes):
                if run < runs:
                    results[n].append(read_once(code, path, fmt))
        for n, (code, _runs) in enumerate(codes):
            rows[n].append({"case": name, "outcome": results[n][0]["outcome"],
                            "rss_mb": statistics.median(r["rss_mb"] for r in results[n]),
                            "s": statistics.median(r["s"] for r in results[n])})
            print(f"{code}: {name}: {rows[n][-1]}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", metavar="DIR", help="another checkout to measure beside this one")
    parser.add_argument("--compare-runs", type=int, help="runs for the other checkout (default: --runs)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    data = Path(args.data)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="recsite-reader-") as tmp:
        cases = [("(the interpreter with the readers imported)", Path("-"), "auto"),
                 (f"one line of {HUGE_MB} MB (sequence)", one_line_file(Path(tmp)), "sequence"),
                 ("ML-1M `ml-1m.txt` + `movies.dat` + id maps", data / "movielens-1m", "auto"),
                 ("ML-100K `u.data` + `u.item` + `u.user`", data / "movielens-100k", "auto")]
        compare_runs = args.compare_runs or args.runs
        codes = [(ROOT, args.runs)] + ([(Path(args.compare), compare_runs)] if args.compare else [])
        mine, *rest = measure(codes, cases)
        other = rest[0] if rest else None
    head = "| file | this checkout: outcome | peak RSS MB | s |"
    rule = "|---|---|---:|---:|"
    if other:
        head += " compared checkout: outcome | peak RSS MB | s |"
        rule += "---|---:|---:|"
    lines = [head, rule]
    for n, row in enumerate(mine):
        line = f"| {row['case']} | {row['outcome']} | **{row['rss_mb']:.0f}** | {row['s']:.2f} |"
        if other:
            o = other[n]
            line += f" {o['outcome']} | {o['rss_mb']:.0f} | {o['s']:.2f} |"
        lines.append(line)
    compared = f" beside `{args.compare}`" if args.compare else ""
    body = f"""
Peak resident memory (`ru_maxrss`) and time of a fresh Python process that only reads and
validates a data set with `read_dataset` (no Django, no database), median of {args.runs} runs{
    f" ({compare_runs} for the compared checkout)" if args.compare else ""}.
Readers read a file in blocks of 1 MiB, decode the whole lines of a block at once, and refuse
a line over 4 MiB: a file that is one huge line costs a few MiB before it is refused, instead
of the whole file, its decoded copy and its split lines (and, for a valid sequence line of
100 million items, every event it names).{
    f" The compared checkout is {_describe(Path(args.compare))}." if args.compare else ""}

{chr(10).join(lines)}

- Command: `.venv/bin/python -m bench.reader_memory --data {args.data} --runs {args.runs}{
    f" --compare {args.compare} --compare-runs {compare_runs}" if args.compare else ""}`{compared}
- Machine: {machine()}; load average {load:.1f} when it started. Measured {datetime.now():%Y-%m-%d %H:%M}.
"""
    print(body)
    if not args.no_write:
        from bench._stack import write_section

        write_section("Reader memory", body.strip() + "\n")


def _describe(checkout: Path) -> str:
    """Return "commit <hash> (<subject's start>)" for a git checkout, else its path."""
    out = subprocess.run(["git", "-C", str(checkout), "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        return f"`{checkout}`"
    commit, _, subject = out.stdout.strip().partition(" ")
    return f"commit {commit} ({subject[:80]}{'...' if len(subject) > 80 else ''})"


if __name__ == "__main__":
    main()
