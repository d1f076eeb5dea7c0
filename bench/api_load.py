"""API load benchmark: GET /api/v1/recommendations/ against a bare token-authenticated DRF
endpoint (GET /api/v1/me/) in the same run, and event ingestion through batches.

gunicorn (2 sync workers) on a throwaway PostgreSQL database, Redis for cache, throttling
and broker; wrk as the load generator on the same machine at fixed concurrency; 3 runs,
medians. The recommendations endpoint is measured twice per run: as deployed (answers
cached in Redis, recommender/serving/answer_cache.py) and by a second gunicorn with the cache off,
so every request builds its answer from the database. Writes the "API load" section of
docs/benchmarks.md.

    .venv/bin/python -m bench.api_load [--connections 16] [--seconds 10] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import threading
import time
from pathlib import Path

from bench._stack import Stack, free_port, write_section

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/"
DB_NAME = "recsite_apibench"
PEOPLE, ITEMS, HISTORY, TOP_N = 16, 3000, 50, 50
BATCH = 1000


def psql(sql: str) -> None:
    subprocess.run(["psql", ADMIN_URL + "postgres", "-q", "-c", sql], check=True)


def seed() -> list[str]:
    """Store items, people with histories and recommendations; return one token per person."""
    from django.utils import timezone

    from recommender.api.tokens import token_create
    from recommender.models import Event, Genre, Item, ModelVersion, Recommendation
    from recsite.accounts.models import User

    genres = [Genre.objects.create(name=f"Genre {g}") for g in range(18)]
    items = Item.objects.bulk_create(
        [Item(external_id=f"b{n}", title=f"Film {n}", year=1950 + n % 70) for n in range(ITEMS)])
    through = Item.genres.through
    through.objects.bulk_create([through(item_id=it.pk, genre_id=genres[(it.pk + k) % 18].pk)
                                 for it in items for k in range(2)])
    version = ModelVersion.objects.create(artifact_path="/nonexistent", checksum="0" * 64,
                                          is_active=True, activated_at=timezone.now())
    now = timezone.now()
    tokens = []
    for p in range(PEOPLE):
        user = User.objects.create_user(f"bench{p}", password="bench-pass-123")
        start = p * 100
        Event.objects.bulk_create([Event(user=user, item=items[(start + h) % ITEMS], kind="view",
                                         occurred_at=now - timezone.timedelta(hours=h)) for h in range(HISTORY)])
        Recommendation.objects.bulk_create([
            Recommendation(user=user, item=items[(start + HISTORY + r) % ITEMS], rank=r + 1, score=1.0 / (r + 1),
                           model_version=version, computed_at=now) for r in range(TOP_N)])
        tokens.append(token_create(user=user, device="bench")[1])
        _explain(user, version, items[start:start + HISTORY], now)
    return tokens


def _explain(user, version, history, now) -> None:
    """Store a ready explanation of each of the person's top 10, as the explain workers
    would, so an answer built from the database carries its reasons (their real cost)."""
    from explain.models import Explanation, ExplanationStatus
    from explain.records import RECORD_FORMAT, ExplanationRecord
    from recommender.ml import signals as sig
    from recommender.models import Recommendation

    size = len(history)
    records = []
    for rec in Recommendation.objects.filter(user=user, rank__lte=10):
        weights = [1.0 / size] * size
        records.append(Explanation(
            user=user, item_id=rec.item_id, model_version=version, for_computed_at=rec.computed_at,
            status=ExplanationStatus.READY, rank=rec.rank, verified=True, computed_at=now, compute_ms=1.0,
            data=ExplanationRecord(
                format=RECORD_FORMAT, history=[i.pk for i in history], signals=[sig.RATED_5] * size,
                did=[sig.RATED_5] * size, top=[], rank=rec.rank, score=rec.score, summary=0.0, rest=0.0,
                head=[weights, weights], weights=weights, terms=weights, contribution=weights, rollout=weights,
                loo_delta=[0.01] * size, loo_rank=[rec.rank + 1] * size, faithfulness={"verified": True},
                counterfactual={"removed": [], "found": False, "rank": None, "replacement": None}, boost=None,
                reason={"items": [history[0].pk, history[1].pk], "basis": "weights",
                        "did": [sig.RATED_5, sig.RATED_5], "boost": None})))
    Explanation.objects.bulk_create(records)


WRK_LUA = """
local tokens = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "%s", {["Authorization"] = "Token " .. tokens[(n %% #tokens) + 1]})
end
"""


def wrk(base: str, path: str, tokens: list[str], connections: int, seconds: int, workdir: Path) -> dict:
    """Run wrk once; return requests, rps, p50/p99 in ms and non-2xx count."""
    script = workdir / "bench.lua"
    script.write_text(WRK_LUA % (", ".join(f'"{t}"' for t in tokens), path))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
                          "-s", str(script), base], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"), "p99": ms("99%"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def ingest(base: str, tokens: list[str], batches: int, threads: int) -> dict:
    """POST `batches` batches of BATCH new events from `threads` threads; return events/s."""
    import http.client

    item_ids = list(range(1, 1 + ITEMS))  # ids of the seeded items (fresh database)
    host, port = base.removeprefix("http://").split(":")
    bodies = []
    for b in range(batches):
        events = [{"item": item_ids[(b * 7 + e) % len(item_ids)], "kind": "view",
                   "occurred_at": "2025-01-01T00:00:00Z", "client_event_id": f"ingest-{b}-{e}"}
                  for e in range(BATCH)]
        bodies.append((tokens[b % len(tokens)], json.dumps(events).encode()))
    created, failures = [0], []
    lock = threading.Lock()
    queue = list(reversed(bodies))

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                token, body = queue.pop()
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            conn.request("POST", "/api/v1/events/", body, {"Authorization": f"Token {token}",
                                                            "Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read()
            conn.close()
            with lock:
                if response.status == 201:
                    created[0] += json.loads(answer)["created"]
                else:
                    failures.append(response.status)

    start = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    return {"events": created[0], "seconds": elapsed, "eps": created[0] / elapsed, "failures": len(failures)}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=15)  # >=1,000 requests even at ~70 req/s
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    stack = Stack(database_url=ADMIN_URL + DB_NAME)
    try:
        stack.start_redis_tcp(free_port(), persist=False)  # cache, throttle counters and broker
        # Throttling stays on (it is part of every request's cost) with a rate the load never meets.
        stack.env["RECSITE_API_USER_RATE"] = "10000000/min"
        stack.manage("migrate", "-v0")
        stack.django()
        tokens = seed()
        from django.db import connections

        connections.close_all()
        base = stack.start_web(free_port(), workers=2)
        # A second gunicorn, identical but for the answer cache, which is off.
        uncached = stack.start_web(free_port(), workers=2, name="web-uncached",
                                   env={"RECSITE_ANSWER_CACHE_SECONDS": "0"})
        # Warm every worker (imports, connections) before measuring.
        for url, path in ((base, "/api/v1/me/"), (base, "/api/v1/recommendations/"),
                          (uncached, "/api/v1/recommendations/")):
            wrk(url, path, tokens, args.connections, 2, stack.dir)
        runs = []
        for n in range(args.runs):
            recs = wrk(base, "/api/v1/recommendations/", tokens, args.connections, args.seconds, stack.dir)
            bare = wrk(base, "/api/v1/me/", tokens, args.connections, args.seconds, stack.dir)
            cold = wrk(uncached, "/api/v1/recommendations/", tokens, args.connections, args.seconds, stack.dir)
            runs.append({"recs": recs, "bare": bare, "cold": cold, "load": load_average()})
            print(f"run {n + 1}: recommendations {recs}  bare {bare}  uncached {cold}  load {runs[-1]['load']}",
                  flush=True)
        ingestion = []
        for n in range(args.runs):
            # Fresh client ids per run: every event is new and stored.
            result = ingest(base, tokens, args.batches, threads=4)
            ingestion.append(result)
            print(f"ingest {n + 1}: {result}", flush=True)
            _rename_ids(n)
    finally:
        stack.stop()
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    report = _report(args, runs, ingestion)
    print(report)
    if not args.no_write:
        write_section("API load", report)


def _rename_ids(run: int) -> None:
    """Move the stored client ids aside so the next run's identical batches are new events."""
    from recommender.models import Event

    Event.objects.filter(client_event_id__startswith="ingest-").update(client_event_id=None)


def _report(args, runs: list[dict], ingestion: list[dict]) -> str:
    med = lambda key, field: statistics.median(r[key][field] for r in runs)  # noqa: E731
    ratio = statistics.median(r["recs"]["rps"] / r["bare"]["rps"] for r in runs)
    eps = statistics.median(r["eps"] for r in ingestion)
    cold_ratio = statistics.median(r["cold"]["rps"] / r["bare"]["rps"] for r in runs)
    rows = "\n".join(
        f"| {n + 1} | {r['recs']['requests']} | {r['recs']['rps']:.0f} | {r['recs']['p50']:.1f} | "
        f"{r['recs']['p99']:.1f} | {r['bare']['requests']} | {r['bare']['rps']:.0f} | {r['bare']['p99']:.1f} | "
        f"{r['recs']['rps'] / r['bare']['rps']:.0%} | {r['cold']['rps']:.0f} | {r['cold']['p99']:.1f} | "
        f"{r['recs']['errors'] + r['bare']['errors'] + r['cold']['errors']} | {r['load']} |"
        for n, r in enumerate(runs))
    ing_rows = "\n".join(f"| {n + 1} | {r['events']} | {r['seconds']:.2f} | {r['eps']:.0f} | {r['failures']} |"
                         for n, r in enumerate(ingestion))
    return f"""Command: `.venv/bin/python -m bench.api_load --connections {args.connections} --seconds {args.seconds} --runs {args.runs} --batches {args.batches}`
(measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).

Setup: gunicorn with 2 sync workers (access log on), PostgreSQL (`{DB_NAME}`, created and dropped
by the run, persistent connections), an embedded Redis for the cache (throttle counters, kept on
with a rate the load never meets) and broker; {PEOPLE} people each with {HISTORY} events,
{TOP_N} stored recommendations over {ITEMS} items and a ready explanation of each of their top 10. Load generator: `wrk -t 2 -c {args.connections}`
on the same machine, {args.seconds} s per run, requests rotating over the {PEOPLE} people's
tokens. Within each run: `GET /api/v1/recommendations/` (k=10) as deployed, the bare
token-authenticated DRF endpoint `GET /api/v1/me/`, then the recommendations endpoint on a
second gunicorn with the answer cache off (`RECSITE_ANSWER_CACHE_SECONDS=0`: every request
reads the list, the explanations behind its reasons and their items). As deployed, each
person's answer is built once and then served from Redis until something it depends on
changes (their events, controls, list or explanations, or the catalogue); nothing changes
during these runs, so after each person's first read every request is a hit. The soak
(section "Soak") measures the endpoint while events keep retiring answers. The load
average column is `/proc/loadavg` right after each run.

| run | recs requests | recs req/s | recs p50 ms | recs p99 ms | bare requests | bare req/s | bare p99 ms | recs/bare | uncached req/s | uncached p99 ms | non-2xx | load avg |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}

**Medians**: recommendations {med('recs', 'rps'):.0f} req/s, p99 {med('recs', 'p99'):.1f} ms; bare endpoint
{med('bare', 'rps'):.0f} req/s, p99 {med('bare', 'p99'):.1f} ms; recommendations at {ratio:.0%} of the bare
endpoint's throughput. Targets: ≥300 req/s, p99 ≤100 ms, ≥80% of bare. With the cache off:
{med('cold', 'rps'):.0f} req/s, p99 {med('cold', 'p99'):.1f} ms ({cold_ratio:.0%} of bare).

Ingestion: {args.batches} batches of {BATCH} new events (each with a client event id) per run,
POST /api/v1/events/ from 4 client threads, bodies encoded before timing.

| run | events stored | seconds | events/s | failed requests |
|---|---|---|---|---|
{ing_rows}

**Median**: {eps:.0f} events/s (target ≥5,000).
"""


if __name__ == "__main__":
    main()
