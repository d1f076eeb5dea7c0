"""The fault drill's catalogue: each case breaks one thing, lets the site recover by
itself, and records what it saw in a `Result` (the harness then checks the invariants).

Longer than the project's ~400 lines on purpose: the catalogue of cases reads in one place,
each case a short function; the harness is `_faultdrill.py`."""
from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench._faultdrill import (
    QUEUES,
    STACK_ENV,
    SWEEP_EVERY_S,
    Drill,
    Result,
    log_since,
    now,
    poll,
    worker_args,
)
from bench._faultstack import limit_file_size, server_socket_owner
from bench._stack import _get_ok, wait


def case_worker_kill_training(d: Drill, r: Result) -> None:
    """SIGKILL the training worker's pool process mid-run: the task is delivered again, the
    run resumes from its last epoch checkpoint and finishes; one active model, verified."""
    from django.conf import settings

    epochs = 8  # the kill comes at epoch 2: six epochs of margin on a fast, quiet machine
    log_at = len(d.stack.log("training"))
    run = d.train({"max_epochs": epochs, "patience": epochs})
    at = wait(lambda: (x := d.run(run.pk)) and x.epoch >= 2 and x, 600, "epoch 2", 0.05)
    pids = d.kill_pool("training")
    r.notes.append(f"run {run.pk}: SIGKILLed pool process {pids} at epoch {at.epoch} of {epochs}")
    run = d.finished(run.pk, 600)
    log = log_since(d, "training", log_at)
    resumed = [line for line in log.splitlines() if f"resuming run {run.pk} from epoch" in line]
    discarded = [line.split("discarding checkpoint: ")[-1] for line in log.splitlines()
                 if f"run {run.pk}: discarding checkpoint" in line]
    if discarded:  # e.g. the model's code changed on disk between the two pool processes
        r.notes.append(f"checkpoint discarded: {discarded[0]}")
    r.notes.append(f"run {run.pk} {run.status} after {run.attempts} chunk starts; "
                   + (resumed[0].split("INFO ")[-1].split(": ")[-1] if resumed else "no resume logged"))
    r.check(run.status == "succeeded", f"run ended {run.status}: {run.error}")
    r.check(run.attempts >= 2, "the task was not delivered again")
    r.check(bool(resumed) and not resumed[0].endswith("from epoch 0"),
            "the run did not resume from a checkpoint")
    r.check("WorkerLostError" in log or "signal 9" in log, "the worker did not report losing the task")
    version, verified = d.active_version()
    r.check(version is not None and run.model_version_id == version.pk and verified,
            "the run's model is not the one active, verified version")
    leftover = Path(settings.RECSITE_MODEL_DIR) / f"run-{run.pk}.train.ckpt"
    r.check(bool(poll(lambda: not leftover.exists(), 15)), f"{leftover.name} left behind")
    r.check(len(d.stack.children("training")) == 1, "the worker did not replace its pool process")


def case_worker_kill_scoring(d: Drill, r: Result) -> None:
    """SIGKILL the scoring worker's pool process while it rescores everyone in chunks (and
    refreshes people who just acted): every stale person ends with one whole new list."""
    from recommender.training import versions
    from recommender.models import Event, ScoringState

    d.ensure_model()
    since = now()
    log_at = len(d.stack.log("scoring"))
    version, _ok = d.active_version()
    versions.model_version_activate(version=version)  # as a rollback would: everyone is rescored
    for person in d.take_people(10):  # their refreshes queue behind the rescoring's chunks
        d.post_events(person, d.new_events(1, "drill:score"))
    everyone = list(Event.objects.order_by().values_list("user_id", flat=True).distinct())
    lost_line = "Task handler raised error: WorkerLostError"

    def scored(after) -> int:
        return d.db(lambda: ScoringState.objects.filter(
            user_id__in=everyone, scored_at__gte=after).count(), 0)

    def next_chunk(after, seen: int) -> str | None:
        n = scored(after)
        return "done" if n >= len(everyone) else ("chunk" if n > seen else None)

    kills, rescorings, attempt_since = 0, 1, since
    while kills < 3 and rescorings <= 5:  # until a kill lands inside a task
        # right after a chunk commits, the worker is inside the next one, unless that chunk
        # was the last: then start another rescoring, or the kill could only miss
        seen = scored(attempt_since)
        if wait(lambda: next_chunk(attempt_since, seen), 120, "a chunk committed", 0.02) == "done":
            attempt_since = now()
            versions.model_version_activate(version=version)
            rescorings += 1
            continue
        d.kill_pool("scoring")
        kills += 1
        if poll(lambda: lost_line in log_since(d, "scoring", log_at), 15, 0.1):
            break
        wait(lambda: len(d.stack.children("scoring")) == 1, 60, "new pool process")
    lost = log_since(d, "scoring", log_at).count(lost_line)
    r.notes.append(f"{len(everyone)} people rescored in chunks of {STACK_ENV['RECSITE_SCORING_CHUNK']} "
                   f"after v{version.pk} was activated again ({rescorings}x), 10 of them also with a new event; "
                   f"pool process SIGKILLed {kills}x, {lost} task(s) lost with it")
    r.check(lost >= 1, "no kill landed inside a scoring task")
    r.check(bool(poll(lambda: d.scored_since(everyone, since), 180, 0.5)), "not everyone was scored")
    bad = d.db(lambda: d.lists_whole(everyone), ["database unreadable"])
    r.check(not bad, f"lists not whole: {bad[:5]}")
    r.notes.append(f"all {len(everyone)} people scored after the kill, each with one whole list from "
                   f"v{version.pk}" if not bad else f"{len(bad)} people without one whole list")


def case_redis_kill_queued(d: Drill, r: Result) -> None:
    """With the scoring worker stopped, queue refresh tasks, SIGKILL Redis and start it again
    from its append-only file: the tasks are still queued and run once a worker is back."""
    people = d.take_people(15)
    d.stack.kill("scoring", signal.SIGTERM)  # warm shutdown: nobody consumes the queue
    since = now()
    for person in people:
        d.post_events(person, d.new_events(2, "drill:rkill"))
    poll(lambda: d.queued("scoring")["scoring_refresh_user"] >= len(people), 10, 0.1)
    time.sleep(1.5)  # appendfsync everysec: what was queued a second ago is on disk
    queued = d.queued("scoring")["scoring_refresh_user"]
    d.stack.kill("redis", signal.SIGKILL)
    killed_at = time.monotonic()
    time.sleep(2)  # down long enough for every process to lose its connections
    d.restart_redis()
    after = d.queued("scoring")["scoring_refresh_user"]
    r.notes.append(f"{queued} refresh tasks queued for {len(people)} people; Redis SIGKILLed and restarted "
                   f"({time.monotonic() - killed_at:.1f} s down); {after} still queued")
    r.check(queued == len(people), f"{queued} refresh tasks queued for {len(people)} people")
    r.check(after == queued, f"{queued - after} queued tasks lost with Redis")
    late = d.take_people(1)
    status, _ = d.post_events(late[0], d.new_events(1, "drill:rkill"))
    sent = status == 201 and poll(lambda: d.queued("scoring")["scoring_refresh_user"] > after, 5, 0.1)
    r.notes.append(f"an event posted right after the restart: {status}, "
                   + ("its refresh queued at once" if sent else "no refresh queued (left to the sweep)"))
    d.stack.spawn("scoring", worker_args("scoring"), env={})
    wait(lambda: "ready." in d.stack.log("scoring"), 180, "scoring worker")
    started = time.monotonic()
    everyone = [uid for uid, _t in people + late]
    r.check(bool(poll(lambda: d.scored_since(everyone, since), 120)), "the queued tasks did not run")
    took = time.monotonic() - started
    r.notes.append(f"all {len(everyone)} people scored {took:.1f} s after the worker started"
                   + (" (by their own tasks, before the sweep's 30 s threshold)" if took < 25 else ""))


def case_redis_down_posts(d: Drill, r: Result) -> None:
    """Post events through the API and the pages while Redis is down: every 2xx is stored,
    every other answer is a clear 5xx with nothing stored; the sweep scores everyone once
    Redis is back."""
    people = d.take_people(8)
    since = now()
    d.stack.kill("redis", signal.SIGKILL)
    answers: Counter = Counter()
    refused: list[list[str]] = []
    slowest = 0.0
    for person in people:
        for events in (d.new_events(3, "drill:rdown"), d.new_events(1, "drill:rdown")):
            started = time.monotonic()
            status, body = d.post_events(person, events)
            slowest = max(slowest, time.monotonic() - started)
            answers[f"API {status}"] += 1
            if status is None or not 200 <= status < 300:
                refused.append([e["client_event_id"] for e in events])
                r.check(status is not None and status >= 500,
                        f"API answered {status} ({str(body)[:80]}) while Redis was down")
    for n, person in enumerate(d.web_people):
        for k in range(2):
            started = time.monotonic()
            status = d.web_rate(person, d.items[(7 * n + k) % len(d.items)], 1 + k)
            slowest = max(slowest, time.monotonic() - started)
            answers[f"page {status}"] += 1
            r.check(status == 302 or (status is not None and status >= 500),
                    f"rating page answered {status} while Redis was down")
    status, ready = d.api("GET", "/readyz", None)
    health, _ = d.api("GET", "/healthz", None)
    reads, _ = d.api("GET", "/api/v1/recommendations/", people[0][1])
    r.notes.append(f"answers while Redis was down: {dict(sorted(answers.items()))}; slowest {slowest:.2f} s; "
                   f"/readyz {status} {ready.get('checks') if isinstance(ready, dict) else ready}, "
                   f"/healthz {health}, GET recommendations {reads}")
    r.check(status == 503 and isinstance(ready, dict) and ready["checks"]["broker"] is False,
            "/readyz did not report the broker down")
    r.check(health == 200, "/healthz failed")
    r.check(slowest < 5, f"a request took {slowest:.1f} s")
    from recommender.models import Event

    half = [ids for ids in refused if Event.objects.filter(client_event_id__in=ids).exists()]
    r.check(not half, f"{len(half)} refused requests stored events anyway")
    d.restart_redis()
    back = time.monotonic()
    everyone = [uid for uid, _t in people] + [uid for uid, _b in d.web_people]
    done = poll(lambda: d.scored_since(everyone, since), 150, 0.5)
    r.check(bool(done), "the sweep did not score everyone after Redis returned")
    r.notes.append(f"Redis back: the sweep scored all {len(everyone)} people within "
                   f"{time.monotonic() - back:.0f} s (sweep every {SWEEP_EVERY_S} s, flags older than 30 s)")


def case_postgres_restart_ingest(d: Drill, r: Result) -> None:
    """Crash PostgreSQL (immediate shutdown) while clients post batches, start it again:
    every 201 is stored, every failure is a 5xx with none of its batch stored, the site
    serves again by itself and a retry stores each failed batch exactly once."""
    from recommender.models import Event

    if d.pg is None:
        r.notes.append("skipped: no PostgreSQL server binaries on this machine")
        r.skipped = True
        return
    people = d.take_people(3)
    log: list[tuple[float, int | None, tuple[int, str], list[dict]]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client(person) -> None:
        while not stop.is_set():
            events = d.new_events(20, "drill:pg")
            status, _body = d.post_events(person, events, timeout=30)
            with lock:
                log.append((time.monotonic(), status, person, events))
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(p,)) for p in people]
    for t in threads:
        t.start()
    time.sleep(3)
    crashed = time.monotonic()
    d.pg.stop("immediate")
    time.sleep(3)
    d.pg.start()
    up = time.monotonic()
    wait(lambda: any(t > up and s == 201 for t, s, _p, _e in list(log)), 60, "a 201 after the restart", 0.1)
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(60)
    statuses = Counter(s for _t, s, _p, _e in log)
    first_ok = min(t for t, s, _p, _e in log if t > up and s == 201)
    r.notes.append(f"{len(log)} batches of 20: {dict(statuses)}; down {up - crashed:.1f} s; first 201 "
                   f"{first_ok - up:.1f} s after the restart")
    failed = [(p, e) for _t, s, p, e in log if s != 201]
    for _t, s, _p, _e in log:
        if s != 201:
            r.check(s is not None and s >= 500, f"a failed batch was answered {s}")
    partial = 0
    for _person, events in failed:
        ids = [e["client_event_id"] for e in events]
        stored = d.db(lambda ids=ids: Event.objects.filter(client_event_id__in=ids).count(), -1)
        partial += stored not in (0, len(ids))
    r.check(partial == 0, f"{partial} failed batches were partly stored")
    retried = Counter()
    for person, events in failed:
        status, body = d.post_events(person, events)
        retried[status] += 1
    r.check(set(retried) <= {201}, f"retries answered {dict(retried)}")
    r.notes.append(f"{len(failed)} failed batches retried with the same ids: {dict(retried)}")
    for name in ("web", *QUEUES, "beat"):
        r.check(d.stack.alive(name), f"{name} died with the database")
    status, _ = d.api("GET", "/readyz", None)
    r.check(status == 200, f"/readyz answered {status} after the restart")


def case_gunicorn_kill_post(d: Drill, r: Result) -> None:
    """SIGKILL the gunicorn worker handling a 1000-event batch at several moments: the batch
    is stored whole or not at all, and the client's retry stores each event exactly once."""
    from recommender.models import Event

    calibration = d.take_people(1)[0]
    started = time.monotonic()
    status, _body = d.post_events(calibration, d.new_events(1000, "drill:gkill"))
    took = time.monotonic() - started
    r.check(status == 201, f"an undisturbed batch was answered {status}")
    outcomes = [f"an undisturbed batch of 1000 took {took * 1000:.0f} ms; kills at 0, 35, 70 and 95% of that"]
    for delay in (0.0, 0.35 * took, 0.7 * took, 0.95 * took):
        person = d.take_people(1)[0]
        events = d.new_events(1000, "drill:gkill")
        ids = [e["client_event_id"] for e in events]
        result: dict = {}
        conn = http.client.HTTPConnection("127.0.0.1", d.web_port, timeout=60)
        conn.connect()
        client_port = conn.sock.getsockname()[1]

        def send() -> None:
            try:
                conn.request("POST", "/api/v1/events/", json.dumps(events).encode(),
                             {"Authorization": f"Token {person[1]}", "Content-Type": "application/json"})
                response = conn.getresponse()
                result["status"] = response.status
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                result["error"] = type(exc).__name__

        sender = threading.Thread(target=send)
        sender.start()
        workers = d.stack.children("web")
        owner = wait(lambda: server_socket_owner(workers, d.web_port, client_port), 10, "the worker", 0.001)
        time.sleep(delay)
        os.kill(owner, signal.SIGKILL)
        sender.join(60)
        conn.close()
        if result.get("status") == 201:
            d.acked.update((person[0], i) for i in ids)
        stored = Event.objects.filter(user_id=person[0], client_event_id__in=ids).count()
        r.check(stored in (0, len(ids)), f"killed after {delay} s: {stored} of {len(ids)} stored")
        wait(lambda: len(d.stack.children("web")) == 2 and _get_ok(d.base + "/healthz"), 60, "gunicorn")
        status, body = d.post_events(person, events)
        again = Event.objects.filter(user_id=person[0], client_event_id__in=ids).count()
        r.check(status == 201 and isinstance(body, dict) and body["created"] + body["duplicates"] == len(ids)
                and body["created"] == len(ids) - stored, f"retry answered {status} {str(body)[:100]}")
        r.check(again == len(ids), f"after the retry {again} of {len(ids)} stored")
        outcomes.append(f"{delay * 1000:.0f} ms: client got {result.get('status') or result.get('error')}, "
                        f"{stored} stored; retry {status} {body if isinstance(body, dict) else ''}")
    r.notes.extend(outcomes)


def case_concurrent_same_batch(d: Drill, r: Result) -> None:
    """Send one 300-event batch 10 times at once: each event is stored once, and the
    answers' counts add up (created once in total, duplicates everywhere else)."""
    from recommender.models import Event

    person = d.take_people(1)[0]
    events = d.new_events(300, "drill:same")
    barrier = threading.Barrier(10)
    answers: list = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        answer = d.post_events(person, events)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = Counter(s for s, _b in answers)
    created = sum(b["created"] for s, b in answers if s == 201)
    r.check(statuses == Counter({201: 10}), f"answers {dict(statuses)}")
    r.check(all(b["created"] + b["duplicates"] == len(events) for s, b in answers if s == 201),
            "an answer's counts do not add up to the batch")
    r.check(created == len(events), f"created {created} in total, expected {len(events)}")
    ids = [e["client_event_id"] for e in events]
    stored = Event.objects.filter(user_id=person[0], client_event_id__in=ids).count()
    r.check(stored == len(events), f"{stored} stored")
    r.notes.append(f"10 concurrent sends of {len(events)} events: {dict(statuses)}, created "
                   f"{sorted((b['created'] for s, b in answers if s == 201), reverse=True)}; {stored} stored")


def case_failing_task(d: Drill, r: Result) -> None:
    """A training run whose every attempt raises is retried with growing back-off a bounded
    number of times, then ends failed; the active model and everything else carry on."""
    from recommender.tasks import MAX_TRAINING_RETRIES

    d.ensure_model()
    before, _ok = d.active_version()
    log_at = len(d.stack.log("training"))
    run = d.train({"d_model": 10, "n_heads": 3})  # widths the heads cannot split: raises every time
    person = d.take_people(1)[0]
    since = now()
    d.post_events(person, d.new_events(1, "drill:fail"))
    refreshed = poll(lambda: d.scored_since([person[0]], since), 60)
    run = d.finished(run.pk, 300)
    log = log_since(d, "training", log_at)
    delays = [line.split("Retry in ")[1].split(":")[0] for line in log.splitlines() if "Retry in " in line]
    r.notes.append(f"run {run.pk} {run.status} after {run.attempts} attempts, retries after {delays}; "
                   f"error: {run.error[:90]}")
    r.check(run.status == "failed", f"run ended {run.status}")
    r.check(run.attempts == MAX_TRAINING_RETRIES + 1, f"{run.attempts} attempts")
    r.check(f"Gave up after {MAX_TRAINING_RETRIES + 1} attempts" in run.error, "no clear error recorded")
    r.check(delays == ["1s", "2s", "4s"][:MAX_TRAINING_RETRIES], f"back-off {delays}")
    r.check(bool(refreshed), "a person's refresh did not run while training kept failing")
    after, ok = d.active_version()
    r.check(after is not None and after.pk == before.pk and ok, "the active model changed or fails its check")


def case_disk_refuses_write(d: Drill, r: Result) -> None:
    """For one run the disk refuses the training worker's file writes beyond 16 KiB (as a
    full disk would): the run fails clearly, the active model stays active and verified,
    and no partial file is left."""
    from django.conf import settings

    from recommender.models import ModelVersion
    from recommender.tasks import MAX_TRAINING_RETRIES

    d.ensure_model()
    before, _ok = d.active_version()
    versions = ModelVersion.objects.count()
    folder = Path(settings.RECSITE_MODEL_DIR)
    files_before = sorted(p.name for p in folder.iterdir())
    pool = d.stack.children("training")
    for pid in pool:
        limit_file_size(pid, 16 * 1024)
    try:
        run = d.train()
        run = d.finished(run.pk, 300)
    finally:
        for pid in pool:
            limit_file_size(pid, None)
    files_after = sorted(p.name for p in folder.iterdir())
    r.notes.append(f"run {run.pk} {run.status} after {run.attempts} attempts: {run.error[:110]}")
    r.check(run.status == "failed", f"run ended {run.status}")
    r.check(run.attempts == MAX_TRAINING_RETRIES + 1, f"{run.attempts} attempts")
    r.check("File too large" in run.error or "No space" in run.error, "the error does not say the write failed")
    after, ok = d.active_version()
    r.check(after is not None and after.pk == before.pk and ok, "the active model changed or fails its check")
    r.check(ModelVersion.objects.count() == versions, "a model version was recorded")
    r.check(files_after == files_before, f"files changed in the model folder: {set(files_after) ^ set(files_before)}")
    r.notes.append(f"model folder unchanged ({len(files_after)} files); v{after.pk} still active and verified")


# (name, title, part of --short, function)
CASES: list[tuple[str, str, bool, Callable[[Drill, Result], None]]] = [
    ("worker_kill_training", "worker killed during training", True, case_worker_kill_training),
    ("worker_kill_scoring", "worker killed during scoring", True, case_worker_kill_scoring),
    ("redis_kill_queued", "Redis killed with queued tasks", True, case_redis_kill_queued),
    ("redis_down_posts", "Redis down while events are posted", True, case_redis_down_posts),
    ("postgres_restart_ingest", "PostgreSQL restarted during ingestion", False, case_postgres_restart_ingest),
    ("gunicorn_kill_post", "gunicorn worker killed during a POST", False, case_gunicorn_kill_post),
    ("concurrent_same_batch", "same batch sent 10x concurrently", False, case_concurrent_same_batch),
    ("failing_task", "a task that always fails", False, case_failing_task),
    ("disk_refuses_write", "disk refuses the artifact writes", False, case_disk_refuses_write),
]
