"""Soak: simulated people browse pages, read the API and send event batches for ten
minutes while a model trains in the background. Checks: no server errors or failed
requests, no lost events, and the p99 targets of GET /api/v1/recommendations/ (issue 6)
and of the "why this?" page (issue 5).

A throwaway copy of the whole site on loopback: gunicorn (2 sync workers) on a PostgreSQL
database created and dropped by the run, its own embedded Redis (append-only) as broker
and cache, Celery workers for the training (niced), scoring and explain queues, and beat.
MovieLens 100K is imported at run time from the shared data folder (never copied), the
soak's people get accounts with histories taken from it, and a first model is trained
and everyone explained before the load starts. The load is bench/locustfile.py, run by
locust headless as a subprocess. Writes the "Soak" section of docs/benchmarks.md.

    .venv/bin/python -m bench.soak [--minutes 10] [--users 40] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import math
import re
import resource
import shlex
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from bench._stack import PY, ROOT, Stack, percentile, wait, write_section
from bench.api_load import ADMIN_URL, free_port, load_average, psql

DB_NAME = "recsite_soak"
DATA = Path("/work/shared/data/movielens-100k")
HISTORY = 40  # events copied into each soak person's history
TRAINING_NICE = 10
# gunicorn's access log line: status, method, path, microseconds spent in the worker.
ACCESS_FORMAT = '%(s)s %(m)s "%(U)s" %(D)s'
ACCESS_LINE = re.compile(r'^(\d{3}) (\w+) "([^"]*)" (\d+)$', re.M)
TARGETS = {"GET /api/v1/recommendations/": 100.0, "GET /recommendations/[id]/why/": 150.0}
SERVER_TYPES = [  # (request type, method, path pattern) for the access log
    ("GET / (home page)", "GET", re.compile(r"^/$")),
    ("GET /history/", "GET", re.compile(r"^/history/$")),
    ("GET /recommendations/[id]/why/", "GET", re.compile(r"^/recommendations/\d+/why/$")),
    ("GET /api/v1/recommendations/", "GET", re.compile(r"^/api/v1/recommendations/$")),
    ("GET /api/v1/recommendations/[id]/explanation/", "GET",
     re.compile(r"^/api/v1/recommendations/\d+/explanation/$")),
    ("POST /api/v1/events/", "POST", re.compile(r"^/api/v1/events/$")),
]


def log(message: str, started: float = time.monotonic()) -> None:
    elapsed = time.monotonic() - started
    print(f"[{int(elapsed // 60):02d}:{int(elapsed % 60):02d}] {message}", flush=True)


# ---- seeding (in this process, against the stack's database) ----------------------------------
def seed(data_dir: Path, ml_people: int, people: int) -> dict:
    """Import the first `ml_people` people of MovieLens (all items), create the soak's people
    with histories, sessions and tokens, and a staff member's token; return what the
    locustfile and the run need."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from recommender.api.tokens import token_create
    from recommender.importing.loader import dataset_import
    from recommender.importing.readers import read_dataset
    from recommender.models import Event, Item
    from recsite.accounts.models import User

    parsed = read_dataset(data_dir)
    # Everyone is explained after each new model (~0.3 s a person on one core): the whole
    # of ML-100K would take the setup past the run's 20 minutes on this machine.
    keep = set(sorted({e.user for e in parsed.events}, key=int)[:ml_people])
    parsed = parsed._replace(events=[e for e in parsed.events if e.user in keep])
    imported = dataset_import(parsed, source="ml-100k")
    log(f"imported {imported.events_created:,} events of {imported.users_created:,} people "
        f"and {imported.items_created:,} items from {data_dir}")
    # Each soak person starts with the 40 first events of one MovieLens person (spread over
    # the last days), so they are recommended and explained like anyone else.
    templates = list(User.objects.filter(username__startswith="ml-100k:").order_by("pk")
                     .values_list("pk", flat=True))
    password = make_password("soak-not-a-secret-1")  # one hash: PBKDF2 costs ~0.4 s each
    sessions = import_module(settings.SESSION_ENGINE).SessionStore
    now = timezone.now()
    out = []
    for n in range(people):
        user = User.objects.create(username=f"soak{n:03d}", password=password)
        source = Event.objects.filter(user_id=templates[(n * 7) % len(templates)]).order_by("occurred_at", "pk")
        Event.objects.bulk_create([
            Event(user=user, item_id=e.item_id, kind=e.kind, value=e.value, client_event_id=f"seed-{k}",
                  occurred_at=now - timedelta(hours=HISTORY - k))
            for k, e in enumerate(source[:HISTORY])])
        # A signed-in browser session, as the login form leaves it (the password hash once).
        session = sessions()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        out.append({"id": user.pk, "username": user.username, "session": session.session_key,
                    "token": token_create(user=user, device="soak")[1]})
    staff = User.objects.create(username="soak-staff", password=password, is_staff=True)
    return {"people": out, "items": list(Item.objects.values_list("pk", flat=True)),
            "ml_events": imported.events_created,
            "session_cookie": settings.SESSION_COOKIE_NAME,
            "staff_token": token_create(user=staff, device="soak")[1]}


def queue_backlog(client) -> dict[str, int]:
    """Return tasks waiting per queue (kombu keeps one Redis list per queue and priority)."""
    backlog: dict[str, int] = {}
    for queue in ("training", "scoring", "explain"):
        backlog[queue] = sum(client.llen(key) for key in client.scan_iter(f"{queue}*")
                             if client.type(key) == b"list")
    return backlog


def first_model(people: list[dict], epochs: int, redis_client) -> dict:
    """Train the first model, then wait until everyone is scored and explained."""
    from explain.models import Explanation, ExplanationStatus
    from recommender import pipeline
    from recommender.models import Recommendation, RunStatus, TrainingRun

    started = time.monotonic()
    run = pipeline.training_run_start(hyperparams={"max_epochs": epochs})
    run = wait(lambda: TrainingRun.objects.filter(pk=run.pk, status__in=[
        RunStatus.SUCCEEDED, RunStatus.REJECTED, RunStatus.FAILED]).first(), 900, "first training", 1.0)
    if run.status != RunStatus.SUCCEEDED:
        raise RuntimeError(f"first training ended {run.status}: {run.error}")
    trained = time.monotonic() - started
    epoch_s = run.history[-1]["elapsed_s"] / max(len(run.history), 1)
    log(f"first model: {len(run.history)} epochs in {trained:.0f} s ({epoch_s:.1f} s per epoch), "
        f"val NDCG@10 {run.val_ndcg:.3f}; waiting for everyone's lists and explanations")
    ids = [p["id"] for p in people]

    def settled() -> bool:
        if any(queue_backlog(redis_client).values()) or Explanation.objects.filter(
                status__in=[ExplanationStatus.QUEUED, ExplanationStatus.RUNNING]).exists():
            return False
        have = set(Recommendation.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
        ready = set(Explanation.objects.filter(user_id__in=ids, status=ExplanationStatus.READY)
                    .values_list("user_id", flat=True))
        return have == ready == set(ids)

    wait(settled, 900, "scoring and explanations after the first model", 2.0)
    log(f"everyone scored and explained {time.monotonic() - started - trained:.0f} s after activation")
    return {"run": run.pk, "epochs": len(run.history), "epoch_s": epoch_s, "seconds": trained,
            "val_ndcg": run.val_ndcg, "test_ndcg": run.metrics.get("test_ndcg@10"),
            "explained_s": time.monotonic() - started - trained}


# ---- measuring during the soak ---------------------------------------------------------------
def process_groups(stack: Stack) -> dict[str, list[int]]:
    """Return {group: pids}: the stack's processes with their children, and the soak
    database's PostgreSQL backends."""
    groups: dict[str, list[int]] = defaultdict(list)
    for name, proc in stack.procs.items():
        try:
            root = psutil.Process(proc.pid)
            groups[name] = [root.pid, *(c.pid for c in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            pass
    for p in psutil.process_iter(["cmdline"]):
        if any(DB_NAME in part for part in (p.info["cmdline"] or [])):
            groups["postgresql (soak database)"].append(p.pid)
    return groups


class CpuMeter:
    """CPU seconds (user + system) per process group over a period, sampled so that
    processes which end inside it (PostgreSQL backends that CONN_MAX_AGE recycles) count up
    to their last sample, and processes which start inside it count in full."""

    def __init__(self, groups: Callable[[], dict[str, list[int]]]):
        self.groups = groups
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.sampled = False

    def sample(self) -> None:
        for name, pids in self.groups().items():
            for pid in pids:
                try:
                    times = psutil.Process(pid).cpu_times()
                except psutil.NoSuchProcess:
                    continue
                value = times.user + times.system
                self.first.setdefault((name, pid), value if not self.sampled else 0.0)
                self.last[(name, pid)] = value
        self.sampled = True

    def seconds(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for key, value in self.last.items():
            out[key[0]] += value - self.first[key]
        return out


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children (here: the load generator)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class Sampler(threading.Thread):
    """Every 5 s: CPU per process group, load average, queue backlogs, the run's epochs."""

    def __init__(self, redis_client, run_id: int | None, meter: CpuMeter):
        super().__init__(daemon=True)
        self.redis, self.run_id, self.meter = redis_client, run_id, meter
        self.rows: list[dict] = []
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from recommender.models import TrainingRun

        started = time.monotonic()
        while True:
            self.meter.sample()
            run = TrainingRun.objects.filter(pk=self.run_id).values("status", "history").first() or {
                "status": "none", "history": []}
            self.rows.append({"t": round(time.monotonic() - started), "load": load_average(),
                              "backlog": queue_backlog(self.redis), "epochs": len(run["history"]),
                              "status": run["status"]})
            if self.stop.wait(5.0):
                break
        self.meter.sample()
        connection.close()


# ---- results -------------------------------------------------------------------------------------
def server_times(access_log: str) -> dict[str, dict]:
    """Return per request type the server's statuses and times (ms) from gunicorn's access log."""
    out: dict[str, dict] = defaultdict(lambda: {"ms": [], "status": Counter()})
    for status, method, path, micros in ACCESS_LINE.findall(access_log):
        name = next((n for n, m, pattern in SERVER_TYPES if m == method and pattern.match(path)), "other")
        out[name]["ms"].append(int(micros) / 1000)
        out[name]["status"][status] += 1
    return out


def stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": math.nan, "p95": math.nan, "p99": math.nan, "max": math.nan}
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99), "max": max(values)}


def warm_up(base: str, setup: dict, rounds: int = 12) -> int:
    """Serve each request type `rounds` times from two threads before measuring, so both
    gunicorn workers have imported their code and built the plot structures (the cost of
    a cold process is measured on its own, by `request_costs`). Return the requests sent."""
    from concurrent.futures import ThreadPoolExecutor

    def person(n: int) -> int:
        me = setup["people"][n % len(setup["people"])]
        page = {"Cookie": f"{setup['session_cookie']}={me['session']}"}
        api = {"Authorization": f"Token {me['token']}"}

        def get(path: str, headers: dict) -> bytes:
            with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=60) as r:
                return r.read()

        items = [row["item"]["id"] for row in json.loads(get("/api/v1/recommendations/", api))["results"]]
        get("/", page)
        get("/history/", page)
        if items:
            get(f"/recommendations/{items[0]}/why/", page)
            get(f"/api/v1/recommendations/{items[0]}/explanation/", api)
        return 5

    with ThreadPoolExecutor(2) as pool:
        return sum(pool.map(person, range(rounds)))


def staff_get(base: str, token: str, path: str) -> dict:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def staff_post(base: str, token: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Token {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="load duration (default 10)")
    parser.add_argument("--users", type=int, default=40, help="simulated people (default 40)")
    parser.add_argument("--wait", type=float, nargs=2, default=(3.0, 9.0), metavar=("MIN", "MAX"),
                        help="seconds a person thinks between actions (default 3 9)")
    parser.add_argument("--data", type=Path, default=DATA, help="MovieLens 100K folder")
    parser.add_argument("--ml-people", type=int, default=300,
                        help="MovieLens people imported, with all their events (default 300 of 943)")
    parser.add_argument("--first-epochs", type=int, default=3, help="epochs of the model trained before the soak")
    parser.add_argument("--training-nice", type=int, default=TRAINING_NICE,
                        help=f"niceness of the training worker (default {TRAINING_NICE})")
    parser.add_argument("--no-training", action="store_true",
                        help="diagnosis only: no background training run, to measure its effect")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) afterwards")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    shown = [a for a in sys.argv[1:] if a not in ("--no-write", "--keep")]
    command = f"`{shlex.join(['.venv/bin/python', '-m', 'bench.soak', *shown])}`"
    wall_started, date = time.monotonic(), datetime.now(UTC)

    psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB_NAME}")
    stack = Stack(database_url=ADMIN_URL + DB_NAME, keep=args.keep)
    locust = None
    try:
        import redis

        redis_url = stack.start_redis_tcp(free_port())
        redis_client = redis.Redis.from_url(redis_url)
        # Throttling stays on at the site's default rate (1200/min per person): the soak's
        # people stay far below it, so a 429 would be a finding, not noise.
        stack.manage("migrate", "-v0")
        stack.manage("setup_periodic_tasks", "-v0")
        stack.django()
        setup = seed(args.data, args.ml_people, args.users)
        from django.db import connections

        # Training is batch work: an operator runs it niced beside the web server, with the
        # two torch threads that were ~1.5x faster than one here (PITFALLS.md).
        stack.start_worker("training", "training", threads=2, nice=args.training_nice)
        stack.start_worker("scoring", "scoring")
        stack.start_worker("explain", "explain")
        first = first_model(setup["people"], args.first_epochs, redis_client) | {"ml_events": setup["ml_events"]}
        # Beat only now: its training sweep would otherwise start a run of its own on the
        # fresh catalogue (no model yet) beside the first one.
        stack.start_beat()
        connections.close_all()

        base = stack.start_web(free_port(), workers=2, access_log_format=ACCESS_FORMAT)
        warmed = warm_up(base, setup)
        soak_s = args.minutes * 60
        # Enough epochs that the run outlasts the soak even if it had the machine to itself;
        # patience as large, so early stopping does not end it either.
        epochs = min(500, math.ceil(1.5 * soak_s / first["epoch_s"]) + 2)
        run_id = None
        if not args.no_training:
            run_id = staff_post(base, setup["staff_token"], "/api/v1/training-runs/",
                                {"hyperparams": {"max_epochs": epochs, "patience": epochs}})["id"]
            wait(lambda: staff_get(base, setup["staff_token"], f"/api/v1/training-runs/{run_id}/")["status"]
                 == "running", 120, "background training", 0.5)
            log(f"background training run {run_id} running (max {epochs} epochs, nice {args.training_nice})")
        log(f"soak of {args.users} people for {args.minutes:g} min against {base}")

        setup_file, out_file = stack.dir / "soak-setup.json", stack.dir / "soak-out.json"
        setup_file.write_text(json.dumps(setup))
        sampler = Sampler(redis_client, run_id, CpuMeter(lambda: process_groups(stack)))
        load_before, busy_before, children_before = load_average(), machine_busy_s(), _children_cpu_s()
        log_offset = len(stack.log("web"))  # warm-up and set-up requests are not counted
        soak_started = time.monotonic()
        sampler.start()
        locust = subprocess.Popen(
            [PY, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--users", str(args.users), "--spawn-rate", str(max(1.0, args.users / 20)),
             "--run-time", f"{int(soak_s)}s", "--stop-timeout", "30", "--host", base,
             "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env={**stack.env, "SOAK_SETUP": str(setup_file), "SOAK_OUT": str(out_file),
                           "SOAK_WAIT_MIN": str(args.wait[0]), "SOAK_WAIT_MAX": str(args.wait[1])},
            stdout=(stack.dir / "locust.log").open("wb"), stderr=subprocess.STDOUT)
        locust_rc = locust.wait(soak_s + 120)
        soak_wall = time.monotonic() - soak_started
        sampler.stop.set()
        sampler.join(30)
        busy_s, load_after = machine_busy_s() - busy_before, load_average()
        cpu = dict(sampler.meter.seconds(), **{"locust (load generator)": _children_cpu_s() - children_before})
        log(f"load finished (locust exit {locust_rc}); load average {load_after}")

        results = json.loads(out_file.read_text())
        run = staff_get(base, setup["staff_token"], f"/api/v1/training-runs/{run_id}/") if run_id else None
        from recommender.models import Event, TrainingRun

        stored = Event.objects.filter(client_event_id__startswith="soak-").count()
        history = TrainingRun.objects.get(pk=run_id).history if run_id else []
        costs = request_costs(setup)
        connections.close_all()
        server = server_times(stack.log("web")[log_offset:])
        worker_errors = {name: len(re.findall(r"\b(?:ERROR|CRITICAL)\b|^Traceback", stack.log(name), re.M))
                         for name in ("web", "training", "scoring", "explain", "beat")}
        report = _report(args, command, date, first | {"warmed": warmed}, run, history, epochs, results, stored, server,
                         worker_errors, cpu, busy_s, soak_wall, sampler.rows, costs,
                         load_before, load_after, time.monotonic() - wall_started)
    finally:
        if locust is not None and locust.poll() is None:
            locust.kill()
        stack.stop()
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    print(costs["profile"])
    print(report)
    if not args.no_write:
        write_section("Soak", report)


def request_costs(setup: dict, people: int = 30) -> dict:
    """Serve each request type in this process with Django's test client after the load,
    once for each of up to `people` soak people: CPU and wall ms, database queries and their
    time. Also cProfile's heaviest functions for one "why this?" page."""
    import cProfile
    import io
    import pstats

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from recommender.models import Recommendation

    rows: dict[str, list[dict]] = defaultdict(list)
    cold: dict[str, float] = {}
    profile = ""
    for n, person in enumerate(setup["people"][:people + 1]):
        item = (Recommendation.objects.filter(user_id=person["id"]).order_by("rank")
                .values_list("item_id", flat=True).first())
        if item is None:
            continue
        client = Client(HTTP_HOST="127.0.0.1")
        client.cookies[settings.SESSION_COOKIE_NAME] = person["session"]
        token = {"HTTP_AUTHORIZATION": f"Token {person['token']}"}
        calls = {
            "GET / (home page)": lambda: client.get("/"),
            "GET /history/": lambda: client.get("/history/"),
            "GET /recommendations/[id]/why/": lambda: client.get(f"/recommendations/{item}/why/"),
            "GET /api/v1/recommendations/": lambda: client.get("/api/v1/recommendations/", **token),
            "GET /api/v1/recommendations/[id]/explanation/":
                lambda: client.get(f"/api/v1/recommendations/{item}/explanation/", **token),
        }
        for name, call in calls.items():
            with CaptureQueriesContext(connection) as queries:
                cpu, wall = time.process_time(), time.perf_counter()
                response = call()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if n == 0:  # this process's first request of the kind: imports, plot structures
                cold[name] = cpu * 1000
            if n == 0 or response.status_code != 200 or b"data-explanation-status=" in response.content:
                continue  # only warm requests and stored explanations count below
            rows[name].append({"cpu": cpu * 1000, "wall": wall * 1000, "queries": len(queries),
                               "db": sum(float(q["time"]) for q in queries.captured_queries) * 1000})
        if n == 1:
            profiler = cProfile.Profile()
            profiler.runcall(client.get, f"/recommendations/{item}/why/")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
            profile = out.getvalue()
    return {"rows": rows, "cold": cold, "profile": profile}


def _client_rows(results: dict) -> tuple[list[str], int, int]:
    rows, failures, requests = [], 0, 0
    for name in sorted(results["times"]):
        st = stats([m for _t, m in results["times"][name]])
        bad = sum(n for code, n in results["status"][name].items() if not code.startswith(("2", "3")))
        failures += bad
        requests += st["n"]
        target = TARGETS.get(name)
        verdict = "" if target is None else f"≤ {target:.0f}: {'met' if st['p99'] <= target else '**missed**'}"
        rows.append(f"| {name} | {st['n']:,} | {bad} | {st['p50']:.0f} | {st['p95']:.0f} | {st['p99']:.0f} | "
                    f"{st['max']:.0f} | {verdict} |")
    return rows, failures, requests


def _minute_rows(results: dict, samples: list[dict]) -> list[str]:
    """p99 per minute of the two targeted requests beside the machine's load average."""
    recs = results["times"].get("GET /api/v1/recommendations/", [])
    why = results["times"].get("GET /recommendations/[id]/why/", [])
    last = max((t for series in results["times"].values() for t, _m in series), default=0.0)
    rows = []
    for minute in range(int(last // 60) + 1):
        def p99(series: list) -> str:
            values = [m for t, m in series if minute * 60 <= t < (minute + 1) * 60]
            return f"{percentile(values, 99):.0f}" if values else "–"
        count = sum(1 for series in results["times"].values() for t, _m in series if minute * 60 <= t < (minute + 1) * 60)
        loads = [float(s["load"].split()[0]) for s in samples if minute * 60 <= s["t"] < (minute + 1) * 60]
        backlog = max((s["backlog"]["explain"] for s in samples if minute * 60 <= s["t"] < (minute + 1) * 60), default=0)
        rows.append(f"| {minute + 1} | {count:,} | {p99(recs)} | {p99(why)} | "
                    f"{max(loads, default=math.nan):.1f} | {backlog} |")
    return rows


def _report(args, command: str, date: datetime, first: dict, run: dict | None, history: list[dict], epochs: int,
            results: dict, stored: int, server: dict, worker_errors: dict, cpu: dict, busy_s: float,
            soak_s: float, samples: list[dict], costs: dict, load_before: str, load_after: str,
            total_s: float) -> str:
    """Return the markdown of the Soak section."""
    rows, failures, requests = _client_rows(results)
    server_rows, server_5xx = [], 0
    for name, data in sorted(server.items()):
        st = stats(data["ms"])
        server_5xx += sum(n for code, n in data["status"].items() if code.startswith("5"))
        codes = ", ".join(f"{c}: {n:,}" for c, n in sorted(data["status"].items()))
        server_rows.append(f"| {name} | {st['n']:,} | {codes} | {st['p50']:.0f} | {st['p95']:.0f} | {st['p99']:.0f} |")
    cost_rows = []
    for name, values in sorted(costs["rows"].items()):
        c, w = stats([v["cpu"] for v in values]), stats([v["wall"] for v in values])
        cost_rows.append(f"| {name} | {costs['cold'].get(name, math.nan):.0f} | {c['n']} | {c['p50']:.0f} | "
                         f"{c['p99']:.0f} | {w['p50']:.0f} | {w['p99']:.0f} | "
                         f"{statistics.median(v['queries'] for v in values):.0f} | "
                         f"{statistics.median(v['db'] for v in values):.1f} |")
    tally = results["tally"]
    created = tally.get("created", 0)
    lost = created - stored
    cores = sorted(((name, seconds / soak_s) for name, seconds in cpu.items()), key=lambda kv: -kv[1])
    ours, machine = sum(c for _n, c in cores), busy_s / soak_s
    cpu_rows = "\n".join(f"| {name} | {c:.2f} |" for name, c in cores)
    loads = [float(s["load"].split()[0]) for s in samples]
    backlog_max = {q: max((s["backlog"][q] for s in samples), default=0) for q in ("scoring", "explain")}
    epochs_in_soak = samples[-1]["epochs"] - samples[0]["epochs"] if samples else 0
    last = history[-1] if history else {}
    per_epoch = last.get("elapsed_s", 0.0) / max(len(history), 1)
    recs = stats([m for _t, m in results["times"].get("GET /api/v1/recommendations/", [])])
    why = stats([m for _t, m in results["times"].get("GET /recommendations/[id]/why/", [])])
    why_all = stats([m for name, series in results["times"].items()
                     if name.startswith("GET /recommendations/[id]/why/") for _t, m in series])
    checks = [
        ("server errors (5xx in gunicorn's access log)", server_5xx == 0, f"{server_5xx}"),
        ("failed requests (locust: non-2xx/3xx or network error)", failures == 0, f"{failures}"),
        ("events lost (created in 201 answers − stored)",
         lost == 0 and tally.get("unacknowledged_batches", 0) == 0, f"{created:,} − {stored:,} = {lost}"),
        ("p99 GET /api/v1/recommendations/ ≤ 100 ms", recs["p99"] <= 100, f"{recs['p99']:.0f} ms"),
        ('p99 "why this?" page (stored explanation) ≤ 150 ms', why["p99"] <= 150, f"{why['p99']:.0f} ms"),
    ]
    training = "**Background training**: none (`--no-training`, a diagnostic run: not a soak)" if run is None else (
        f"**Background training**: run {run['id']}, started through `POST /api/v1/training-runs/` with "
        f"max_epochs = patience = {epochs} so that neither ends it during the load; {epochs_in_soak} epochs "
        f"during the load ({per_epoch:.0f} s per epoch on average, against {first['epoch_s']:.0f} s for the "
        f"first model before the load); status at the end `{run['status']}`, error: {run.get('error') or 'none'}; "
        "it was stopped with the stack (its checkpoint and lease would let a worker resume it)")
    check_rows = "\n".join(f"| {what} | {value} | {'pass' if ok else '**FAIL**'} |" for what, ok, value in checks)
    failure_list = "\n".join(f"- `{f}`" for f in results["failures"][:10]) or "- none"
    nl = "\n"
    return f"""Command: {command}; one command from a clean clone, {total_s / 60:.1f} min in all
(set-up, {soak_s / 60:.1f} min of load, tear-down). Measured {date.strftime('%Y-%m-%d %H:%M UTC')}.
Machine: 2 cores, no GPU, **shared** with other engineers' work: load average {load_before} before the
load, {load_after} at its end; 1-minute load {min(loads, default=math.nan):.1f}–{max(loads, default=math.nan):.1f}
during it; the whole machine was busy {machine:.2f} of its 2 cores on average, the soak's own
processes (load generator included) {ours:.2f}.

**Stack** (real processes on loopback): gunicorn, 2 sync workers, on PostgreSQL (`{DB_NAME}`,
created and dropped by the run; persistent connections); its own embedded Redis on a TCP
port with append-only persistence (`appendfsync everysec`) as broker, cache and throttle
store (site default rate, 1200/min per person); one Celery worker process each for
`training` (under `nice -n {args.training_nice}`, two torch threads: batch work yields the CPU to
the web, as an operator would run it), `scoring` and `explain` (one torch thread each, normal
priority: a person's refresh and its explanations are user-facing); beat with the database
scheduler (the sweeps every minute).

**Data**: MovieLens 100K read at run time from the shared data folder (never copied): all
1,682 items and the first {args.ml_people} people with all their ratings ({first['ml_events']:,} events),
plus {args.users} soak people, each with their own account, signed-in browser session and API
token, and a history of the first {HISTORY} events of one MovieLens person. Before the load a
first model was trained ({first['epochs']} epochs, {first['seconds']:.0f} s, validation NDCG@10
{first['val_ndcg']:.3f}) and activated, and everyone was rescored and explained
({first['explained_s']:.0f} s).

**Load**: locust {_locust_version()} headless (`bench/locustfile.py`, FastHttpUser) on the same
machine: {args.users} people, each thinking {args.wait[0]:g}–{args.wait[1]:g} s between actions, all
started within 20 s. Actions by weight: API list 4; home page 3; home page, 0.5–2 s reading,
then one card's "why this?" page 3 (a page still being prepared reloads after 3 s, as its meta
refresh does); event batch 2 (1–20 events of view/click/rate/like, each with a client event id;
5% of sends repeat the previous batch whole, as a client that lost an answer does; a 5xx or
network error is retried with the same ids); API list then one explanation 1 (a 202 is asked
again after 2 s); history page 1. Before the load, {first['warmed']} warm-up requests of every kind
from two threads let both web workers import their code and build the plot structures; they
are not counted (a cold process's first request of each kind is measured on its own below).
**Achieved {requests / soak_s:.1f} requests/s** ({requests:,}
requests in {soak_s:.0f} s).

Client-side times (ms, request sent to last byte read, measured by locust):

| request | count | failed | p50 | p95 | p99 | max | p99 target |
|---|---:|---:|---:|---:|---:|---:|---|
{nl.join(rows)}

All "why this?" answers together (stored or being prepared): p50 {why_all['p50']:.0f}, p95
{why_all['p95']:.0f}, p99 {why_all['p99']:.0f} ms.

Server-side times (ms, gunicorn's `%(D)s`: request read to answer written inside a worker;
waiting for a free worker is not in it):

| request type | count | statuses | p50 | p95 | p99 |
|---|---:|---|---:|---:|---:|
{nl.join(server_rows)}

Per minute of load (p99 in ms, client side; highest 1-minute load average and explain
backlog of that minute's samples):

| minute | requests | p99 API list | p99 "why this?" | load | explain backlog |
|---:|---:|---:|---:|---:|---:|
{nl.join(_minute_rows(results, samples))}

**Events**: {tally.get('new_events', 0):,} sent in new batches and {tally.get('resent_events', 0):,} in
repeated batches; 201 answers counted **{created:,} created** and {tally.get('duplicates', 0):,}
duplicates (= the repeated events); **{stored:,} stored** in the database afterwards;
{results['acked_ids']:,} distinct client ids acknowledged. Batches retried:
{tally.get('retried_batches', 0)}; refused (4xx): {tally.get('refused_batches', 0)}; never acknowledged:
{tally.get('unacknowledged_batches', 0)}.

{training}. Queue backlog (sampled every 5 s): scoring at most {backlog_max['scoring']}, explain at most
{backlog_max['explain']}. Log lines at ERROR or worse: {', '.join(f'{k} {v}' for k, v in worker_errors.items())}.

CPU during the load (cores, user + system, from /proc):

| process | cores |
|---|---:|
{cpu_rows}
| the soak's processes | {ours:.2f} |
| whole machine (other engineers' work included) | {machine:.2f} |

Cost of one request, served in-process by Django's test client after the load (each soak
person once, stored explanations only; CPU = this process's CPU time, DB = time in queries):

| request | CPU, first in a process | n | CPU p50 | CPU p99 | wall p50 | wall p99 | queries | DB ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
{nl.join(cost_rows)}

**Checks**:

| check | value | verdict |
|---|---|---|
{check_rows}

First failures: {nl + failure_list}
"""


def _locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


if __name__ == "__main__":
    main()
