"""How soon after rating an item does a person see recomputed recommendations?

Starts a throwaway stack (SQLite, embedded Redis, a training and a scoring worker,
gunicorn), trains on the demo catalogue, logs in as a real account through the login
form, then for each trial rates an item from the home page's list and polls the home page
until it shows a list computed after the rating. Writes the "Freshness" section of
docs/benchmarks.md.

    .venv/bin/python -m bench.freshness [--trials 50] [--port 8765]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import datetime

from bench._stack import Browser, Stack, demo_site_with_person, percentile, recommended_ids, wait, write_section

PASSWORD = "bench-Passw0rd-not-secret"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    stack = Stack()
    try:
        demo_site_with_person(stack, "bench", PASSWORD, max_epochs=30)

        base = stack.start_web(args.port)
        browser = Browser(base)
        browser.login("bench", PASSWORD)
        latencies: list[float] = []
        for trial in range(args.trials):
            marker, ids = recommended_ids(browser.get("/"))
            if not ids:
                raise RuntimeError("home page shows no recommendations")
            started = time.monotonic()
            browser.post(f"/items/{ids[0]}/rate/", {"value": 1 + trial % 5})
            wait(lambda: recommended_ids(browser.get("/"))[0] not in (None, marker), 60,
                 f"trial {trial}", interval=0.05)
            latencies.append(time.monotonic() - started)
            time.sleep(0.2)
    finally:
        stack.stop()

    p50, p95 = statistics.median(latencies), percentile(latencies, 95)
    print(f"{len(latencies)} trials: p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(latencies):.2f} s")
    if not args.no_write:
        write_section("Freshness: a rating shows in the home page's list", f"""
Command: `.venv/bin/python -m bench.freshness --trials {args.trials}`
Machine: {platform.machine()}, 2 cores, 24 GiB, no GPU (this project's development machine),
{datetime.now().strftime('%Y-%m-%d')}. Stack: SQLite, embedded Redis on a unix socket,
a training worker (two torch threads), a scoring worker and an explanation worker (one
torch thread each), as `make run` starts them; gunicorn with 2 workers; demo catalogue.

Each trial rates the top item of the home page through the item page's form, then polls
the home page every 50 ms until it shows a list computed after the rating (the worker's
refresh, not the page hiding the rated item). Load average at the end (1, 5, 15 min):
{", ".join(f"{x:.1f}" for x in os.getloadavg())}.

| trials | p50 | p95 | max | target |
|---:|---:|---:|---:|---|
| {len(latencies)} | {p50:.2f} s | {p95:.2f} s | {max(latencies):.2f} s | p95 ≤ 5 s |
""")


if __name__ == "__main__":
    main()
