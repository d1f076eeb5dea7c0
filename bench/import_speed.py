"""How fast does `import_data` load ML-1M (ml-1m.txt, 999,611 events) into SQLite and PostgreSQL?

Each run imports into a freshly migrated database (a new SQLite file; PostgreSQL database
`recsite_bench`, created and dropped here, when the server answers). The timed part is
what `manage.py import_data` does after start-up: read and validate the files, then write.
Reports medians and writes the "Import speed" section of docs/benchmarks.md.

    .venv/bin/python -m bench.import_speed [--data ../shared/data/movielens-1m] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432/"
PG_DATABASE = "recsite_bench"
TARGET_S, TARGET_RATE = 60.0, 20_000


def worker(data: str, source: str) -> None:
    """Import `data` once into DATABASE_URL and print the timings as JSON (child process)."""
    import django

    django.setup()
    from recommender.importing.loader import dataset_import
    from recommender.importing.readers import read_dataset

    started = time.perf_counter()
    parsed = read_dataset(data)
    read_s = time.perf_counter() - started
    result = dataset_import(parsed, source=source)
    total_s = time.perf_counter() - started
    print(json.dumps({"read_s": read_s, "total_s": total_s, "events": len(parsed.events),
                      "created": result.events_created, "users": result.users_created}))


def _child_env(database_url: str) -> dict[str, str]:
    # DEBUG off as in production: no query log, no debug cursor wrapper.
    return {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "false",
            "DJANGO_SETTINGS_MODULE": "recsite.settings.local", "DJANGO_LOG_LEVEL": "WARNING"}


def import_once(database_url: str, data: str) -> dict:
    """Migrate the (fresh) database, import once, and return the worker's timings."""
    env = _child_env(database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    run = subprocess.run([sys.executable, "-m", "bench.import_speed", "--worker", data], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def reimport(database_url: str, data: str) -> dict:
    """Import again into a database that already holds the data set."""
    run = subprocess.run([sys.executable, "-m", "bench.import_speed", "--worker", data], cwd=ROOT,
                         env=_child_env(database_url), check=True, capture_output=True, text=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def bench_sqlite(data: str, runs: int) -> tuple[list[dict], dict]:
    """Return per-run timings on fresh SQLite files, and one re-import timing."""
    results, again = [], {}
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="recsite-import-") as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            results.append(import_once(url, data))
            if run == runs - 1:
                again = reimport(url, data)
        print(f"sqlite run {run + 1}: {results[-1]['total_s']:.1f} s", flush=True)
    return results, again


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_SERVER + "postgres", autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


def pg_version() -> str | None:
    """Return the PostgreSQL server version, or None when no server answers."""
    try:
        import psycopg

        with psycopg.connect(PG_SERVER + "postgres", connect_timeout=3) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # any failure means "not reachable": the SQLite figures still stand
        return None


def bench_postgresql(data: str, runs: int) -> tuple[list[dict], dict]:
    """Return per-run timings on a freshly created database, and one re-import timing."""
    results, again = [], {}
    url = PG_SERVER + PG_DATABASE
    try:
        for run in range(runs):
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
            _pg_admin(f"CREATE DATABASE {PG_DATABASE}")
            results.append(import_once(url, data))
            if run == runs - 1:
                again = reimport(url, data)
            print(f"postgresql run {run + 1}: {results[-1]['total_s']:.1f} s", flush=True)
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
    return results, again


def _row(name: str, results: list[dict], again: dict) -> str:
    total = statistics.median(r["total_s"] for r in results)
    read = statistics.median(r["read_s"] for r in results)
    events = results[0]["created"]
    runs = ", ".join(f"{r['total_s']:.1f}" for r in results)
    return (f"| {name} | {events:,} | **{total:.1f}** | **{events / total:,.0f}** | {read:.1f} | "
            f"{runs} | {again.get('total_s', float('nan')):.1f} |")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "movielens-1m"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--worker", metavar="DATA", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, "ml-1m")
        return
    load = os.getloadavg()[0]
    sqlite_results, sqlite_again = bench_sqlite(args.data, args.runs)
    rows = [_row("SQLite (WAL, file on local disk)", sqlite_results, sqlite_again)]
    version = pg_version()
    if version:
        pg_results, pg_again = bench_postgresql(args.data, args.runs)
        rows.append(_row(f"PostgreSQL {version.split()[0]} (local, default config)", pg_results, pg_again))
    else:
        rows.append(f"| PostgreSQL | not reachable at {PG_SERVER} | | | | | |")
    body = f"""
`import_data` on ML-1M as the SASRec file `ml-1m.txt` with `movies.dat` and the id maps
(999,611 events, 6,040 placeholder people, 3,883 items), each run into a freshly migrated
database. Time = reading and validating the files plus writing, in one process after
Django start-up (median of {args.runs} runs). Target: at most {TARGET_S:.0f} s, at least
{TARGET_RATE:,} events/s.

| database | events | median s | events/s | of which reading s | runs (s) | re-import, adds nothing (s) |
|---|---:|---:|---:|---:|---|---:|
{chr(10).join(rows)}

- Command: `.venv/bin/python -m bench.import_speed --data {args.data} --runs {args.runs}`
- Machine: {machine()}; load average {load:.1f} when it started. Measured
  {datetime.now():%Y-%m-%d %H:%M}.
- How: one transaction; items and people with `bulk_create`; events with one `executemany`
  per 20,000 rows on SQLite (page cache raised to 256 MiB for the import) and binary `COPY`
  on PostgreSQL. From 100,000 new events on, PostgreSQL drops the events' two foreign keys
  and re-adds them after the COPY (one validating join instead of two million deferred
  row checks at commit, which took 12 of 32 s), then runs `ANALYZE`; this locks events,
  people and items until the import commits. Re-imports skip stored events by their
  client event id.
"""
    print(body)
    if not args.no_write:
        from bench._stack import write_section

        write_section("Import speed", body.strip() + "\n")


if __name__ == "__main__":
    main()
