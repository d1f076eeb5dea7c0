"""Soak: simulated people browse pages, read the API and send event batches for ten
minutes while a model trains in the background. Checks: no server errors or failed
requests, no lost events, and the p99 targets of GET /api/v1/recommendations/ (issue 6)
and of the "why this?" page (issue 5).

A throwaway copy of the whole site on loopback, run as deployed: gunicorn (2 x cores + 1
sync workers) on a PostgreSQL database created and dropped by the run, its own embedded
Redis (append-only) as broker and cache, Celery workers for the training (SCHED_IDLE),
scoring and explain (nice 5) queues, and beat.
MovieLens 100K is imported at run time from the shared data folder (never copied), the
soak's people get accounts with histories taken from it, and a first model is trained
and everyone explained before the load starts. The load is bench/locustfile.py, run by
locust headless as a subprocess. Writes the "Soak" section of docs/benchmarks.md.

    .venv/bin/python -m bench.soak [--minutes 10] [--users 40] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._soak_measure import (
    ACCESS_FORMAT, CpuMeter, Sampler, children_cpu_s, machine_busy_s, process_groups, queue_backlog,
    request_costs, server_times,
)
from bench._soak_report import soak_section
from bench._stack import PY, ROOT, Stack, free_port, wait, write_section
from bench.api_load import ADMIN_URL, load_average, psql

DB_NAME = "recsite_soak"
DATA = Path("/work/shared/data/movielens-100k")
HISTORY = 40  # events copied into each soak person's history
TRAINING_NICE = 10
EXPLAIN_NICE = 5  # deploy/systemd/recsite-worker-explain.service
BACKGROUND_RUN = {"max_epochs": 500, "patience": 100, "d_model": 256, "n_layers": 4}

def log(message: str, started: float = time.monotonic()) -> None:
    elapsed = time.monotonic() - started
    print(f"[{int(elapsed // 60):02d}:{int(elapsed % 60):02d}] {message}", flush=True)


def seed(data_dir: Path, ml_people: int, people: int) -> dict:
    """Import the first `ml_people` people of MovieLens (all items), create the soak's people
    with histories, sessions and tokens, and a staff member's token; return what the
    locustfile and the run need."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Permission
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
    # an operator who may start training runs and read them, as the staff API asks (staff.py)
    staff = User.objects.create(username="soak-staff", password=password, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(
        content_type__app_label="recommender", codename__in=["add_trainingrun", "view_trainingrun"]))
    return {"people": out, "items": list(Item.objects.values_list("pk", flat=True)),
            "ml_events": imported.events_created,
            "session_cookie": settings.SESSION_COOKIE_NAME,
            "staff_token": token_create(user=staff, device="soak")[1]}



def first_model(people: list[dict], epochs: int, redis_client) -> dict:
    """Train the first model, then wait until everyone is scored and explained."""
    from explain.models import Explanation, ExplanationStatus
    from recommender.training import runs
    from recommender.models import Recommendation, RunStatus, TrainingRun

    started = time.monotonic()
    run = runs.training_run_start(hyperparams={"max_epochs": epochs})
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



def warm_up(base: str, setup: dict, workers: int) -> int:
    """Serve each request type 6 times per gunicorn worker, from as many threads as workers,
    before measuring, so every worker has imported its code and built the plot structures
    (the cost of a cold process is measured on its own, by `request_costs`). Return the
    requests sent."""
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

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(person, range(6 * workers)))


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
    parser.add_argument("--web-workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn sync workers (default: deploy/gunicorn.conf.py's 2 x cores + 1; "
                        "2 before 2026-12-07)")
    parser.add_argument("--explain-nice", type=int, default=EXPLAIN_NICE,
                        help=f"niceness of the explain worker (default {EXPLAIN_NICE}, as its unit; 0 before 2026-12-07)")
    parser.add_argument("--training-policy", choices=["idle", "nice"], default="idle",
                        help="idle (default): the training worker under SCHED_IDLE as the deployed unit "
                        "runs it; nice: only --training-nice (the soak's set-up before 2026-12-07)")
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
    # A prefix of its own: a clean-up of other benchmarks' leftover recsite-bench-* folders
    # deleted a soak's folder (logs, Redis's append-only file, model artifacts) mid-run once.
    stack = Stack(database_url=ADMIN_URL + DB_NAME, keep=args.keep, prefix="recsite-soak-")
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

        # Training is batch work: it runs as deploy/systemd/recsite-worker-training.service
        # runs it beside the web server (SCHED_IDLE, idle I/O, niced), with the two torch threads that
        # were ~1.5x faster than one here.
        stack.start_worker("training", "training", threads=2, nice=args.training_nice,
                           idle=args.training_policy == "idle")
        stack.start_worker("scoring", "scoring")
        stack.start_worker("explain", "explain", nice=args.explain_nice)
        first = first_model(setup["people"], args.first_epochs, redis_client) | {"ml_events": setup["ml_events"]}
        # Beat only now: its training sweep would otherwise start a run of its own on the
        # fresh catalogue (no model yet) beside the first one.
        stack.start_beat()
        connections.close_all()

        base = stack.start_web(free_port(), workers=args.web_workers, access_log_format=ACCESS_FORMAT)
        warmed = warm_up(base, setup, args.web_workers)
        soak_s = args.minutes * 60
        # A larger candidate than the served model: its epochs (~6x the cost of a d=64 one)
        # keep it training through the load, where a d=64 run on this data met early stopping
        # (patience is at most 100 epochs) after about six minutes and was activated mid-soak.
        run_id = None
        if not args.no_training:
            run_id = staff_post(base, setup["staff_token"], "/api/v1/training-runs/",
                                {"hyperparams": BACKGROUND_RUN})["id"]
            wait(lambda: staff_get(base, setup["staff_token"], f"/api/v1/training-runs/{run_id}/")["status"]
                 == "running", 120, "background training", 0.5)
            log(f"background training run {run_id} running ({BACKGROUND_RUN}, nice {args.training_nice}, "
                f"policy {args.training_policy})")
        log(f"soak of {args.users} people for {args.minutes:g} min against {base}")

        setup_file, out_file = stack.dir / "soak-setup.json", stack.dir / "soak-out.json"
        setup_file.write_text(json.dumps(setup))
        sampler = Sampler(redis_client, run_id, CpuMeter(lambda: process_groups(stack, DB_NAME)))
        load_before, busy_before, children_before = load_average(), machine_busy_s(), children_cpu_s()
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
        cpu = dict(sampler.meter.seconds(), **{"locust (load generator)": children_cpu_s() - children_before})
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
        facts = first | {"warmed": warmed, "database": DB_NAME, "history": HISTORY}
        report = soak_section(args, command, date, facts, run, BACKGROUND_RUN, history, results, stored, server,
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



if __name__ == "__main__":
    main()
