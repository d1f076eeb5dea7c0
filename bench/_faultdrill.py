"""The fault drill's harness: the stack under test, the people it posts as, its ledger of
every event a client was answered 2xx for, and the checks every case ends with.

Longer than the project's ~400 lines on purpose: the stack, the ledger and the checks are
parts of one harness that every case (`_faultcases.py`) drives."""
from __future__ import annotations

import http.client
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench._faultstack import FaultStack, PostgresServer, free_port, postgres_bin
from bench._stack import Browser, wait
from recsite import run

# Tiny models (as the integration tests train): a run takes seconds per epoch here.
HYPERPARAMS = {"d_model": 16, "n_layers": 1, "max_len": 20, "batch_size": 32, "max_epochs": 4,
               "patience": 4, "dropout": 0.0, "lr": 0.01}
# The drill's own settings for the stack (see the section written to docs/benchmarks.md).
STACK_ENV = {
    "RECSITE_SCORING_CHUNK": "20",      # several chunks per rescoring, so a kill lands inside one
    "RECSITE_EPOCHS_PER_CHUNK": "50",   # one task per run: a resume can only follow the kill
    "RECSITE_QUALITY_TOLERANCE": "1",   # the quality gate is not what is drilled here
    "RECSITE_TORCH_THREADS": "1",
    "RECSITE_RETRAIN_AFTER_EVENTS": "1000000000",  # the drill starts every run itself
}
SWEEP_EVERY_S = 10  # beat's sweeps, every minute in production
PASSWORD = "drill-Passw0rd-not-secret"
QUEUES = ("training", "scoring", "explain")


@dataclass
class Result:
    """One case's outcome: counts before and after, notes, and what failed."""

    name: str
    title: str
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False

    @property
    def passed(self) -> bool:
        return not self.failures

    def check(self, ok: bool, failure: str) -> bool:
        if not ok:
            self.failures.append(failure)
        return ok


class Drill:
    """The stack under test, the people the drill posts as, and its ledger of every event
    a client was answered 2xx for."""

    def __init__(self, *, keep: bool = False):
        self.keep = keep
        self.pg: PostgresServer | None = None
        self.stack: FaultStack | None = None
        self.base = ""
        self.web_port = 0
        self.people: list[tuple[int, str]] = []  # (user id, API token)
        self.web_people: list[tuple[int, Browser]] = []
        self.acked: set[tuple[int, str]] = set()            # (user id, client event id) answered 2xx
        self.web_acked: Counter = Counter()                 # (user id, item id, kind, value) answered 302
        self.ids = itertools.count(1)
        self.items: list[int] = []
        self.database = "SQLite"
        self.setup_seconds = 0.0
        self.setup_steps: list[str] = []
        self.next_person = 0

    # ---- the stack ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the servers and processes, seed the data, train the first model and wait
        until everyone is scored."""
        started = last = time.monotonic()

        def step(label: str) -> None:
            nonlocal last
            self.setup_steps.append(f"{label} {time.monotonic() - last:.0f} s")
            last = time.monotonic()

        bin_dir = postgres_bin()
        database_url = None
        if bin_dir is not None:
            self.pg = PostgresServer(bin_dir)
            self.pg.init()
            self.pg.start()
            database_url = self.pg.create_database("recsite_faults")
            self.database = f"PostgreSQL {self.pg.version()} (own cluster, port {self.pg.port})"
        self.stack = stack = FaultStack(database_url=database_url, keep=self.keep)
        stack.env.update(STACK_ENV)
        stack.start_redis()
        step("PostgreSQL and Redis")
        stack.manage("migrate", "-v0")
        stack.manage("generate_demo", "--users", "120", "--items", "200", stdout=subprocess.DEVNULL)
        stack.manage("setup_periodic_tasks", stdout=subprocess.DEVNULL)
        step("migrate and demo data")
        stack.django()
        from django_celery_beat.models import IntervalSchedule, PeriodicTask

        fast, _ = IntervalSchedule.objects.get_or_create(every=SWEEP_EVERY_S, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.filter(interval__isnull=False).update(interval=fast)
        PeriodicTask.objects.filter(crontab__isnull=False).update(enabled=False)  # no nightly run
        self._make_people()
        # The first model's run is queued before beat starts, so the sweep starts no other.
        first = self.train()
        # Workers and the web start together: on two cores each takes seconds to import.
        for name in QUEUES:
            stack.spawn(name, worker_args(name), env={})
        stack.start_beat()
        self.web_port = free_port()
        self.base = stack.start_web(self.web_port)
        for name in QUEUES:
            wait(lambda n=name: "ready." in stack.log(n), 180, f"worker {name}")
        step("workers, beat and gunicorn")
        for n, (_user_id, browser) in enumerate(self.web_people):
            browser.base = self.base
            browser.login(f"drill-web-{n}", PASSWORD)
        first = self.finished(first.pk, 600)
        if first.status != "succeeded":
            raise RuntimeError(f"the first model did not train: {first.status} {first.error}")
        problems = self.settle()
        if problems:
            raise RuntimeError(f"the stack did not settle after the first model: {problems}")
        step("first model, everyone scored and explained")
        self.setup_seconds = time.monotonic() - started

    def stop(self) -> None:
        if self.stack is not None:
            for name in list(self.stack.procs):
                proc = self.stack.procs.pop(name)
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(15)
                except ProcessLookupError:
                    pass
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
            if not self.keep:
                shutil.rmtree(self.stack.dir, ignore_errors=True)
            else:
                print(f"kept {self.stack.dir}")
        if self.pg is not None:
            if self.keep:
                self.pg.stop("fast")
                print(f"kept {self.pg.dir}")
            else:
                self.pg.remove()

    def _make_people(self) -> None:
        from recommender.api.tokens import token_create
        from recommender.models import Item
        from recsite.accounts.models import User

        self.items = list(Item.objects.order_by("id").values_list("id", flat=True))
        for n in range(80):
            user = User.objects.create_user(f"drill-{n:03d}")
            self.people.append((user.pk, token_create(user=user, device="drill")[1]))
        for n in range(2):
            user = User.objects.create_user(f"drill-web-{n}", password=PASSWORD)
            self.web_people.append((user.pk, Browser("")))

    def take_people(self, n: int) -> list[tuple[int, str]]:
        """Return `n` drill people no earlier case posted as (so nobody is already stale)."""
        taken = self.people[self.next_person:self.next_person + n]
        if len(taken) < n:
            raise RuntimeError("the drill ran out of people")
        self.next_person += n
        return taken

    # ---- clients -----------------------------------------------------------------------
    def new_events(self, n: int, tag: str) -> list[dict]:
        """Return `n` view events with fresh client event ids."""
        return [{"item": self.items[next(self.ids) % len(self.items)], "kind": "view",
                 "client_event_id": f"{tag}-{next(self.ids)}"} for _ in range(n)]

    def api(self, method: str, path: str, token: str | None, body=None, timeout: float = 60):
        """Send one API request; return (status, parsed body), status None on a broken connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        try:
            conn.request(method, path, None if body is None else json.dumps(body).encode(), headers)
            response = conn.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw)
            except ValueError:
                return response.status, raw.decode(errors="replace")[:200]
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()

    def post_events(self, person: tuple[int, str], events: list[dict], timeout: float = 60):
        """POST events as `person`; a 2xx answer enters them into the ledger."""
        user_id, token = person
        status, body = self.api("POST", "/api/v1/events/", token, events if len(events) > 1 else events[0], timeout)
        if status is not None and 200 <= status < 300:
            self.acked.update((user_id, e["client_event_id"]) for e in events)
        return status, body

    def web_rate(self, person: tuple[int, Browser], item_id: int, value: int) -> int | None:
        """Rate an item through the item page's form; a 302 enters it into the ledger."""
        user_id, browser = person
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(browser.jar), _NoRedirect())
        data = urllib.parse.urlencode({"value": value, "csrfmiddlewaretoken": browser.csrf()}).encode()
        path = f"/items/{item_id}/rate/"
        request = urllib.request.Request(self.base + path, data=data, headers={"Referer": self.base + path})
        try:
            with opener.open(request, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            return None
        if status == 302:
            self.web_acked[(user_id, item_id, "rate", float(value))] += 1
        return status

    # ---- the database, read from this process --------------------------------------------
    def db(self, fn: Callable, default=None):
        """Run a read against the drill's database, reconnecting after a restart; `default`
        if the database does not answer."""
        from django.db import DatabaseError, InterfaceError, connections

        for attempt in range(2):
            try:
                return fn()
            except (DatabaseError, InterfaceError):
                connections.close_all()
                if attempt:
                    return default
        return default

    def pending_tasks(self) -> int | None:
        """Return tasks queued or taken but not acknowledged, on every queue; None if Redis is down."""
        try:
            client = self.stack.redis()
            total = client.hlen("unacked")
            for key in client.scan_iter(count=1000):
                name = key.decode(errors="replace")
                if name.split("\x06")[0] in QUEUES and client.type(key) == b"list":
                    total += client.llen(key)
            return total
        except Exception:  # noqa: BLE001 - Redis down
            return None

    def queued(self, queue: str) -> Counter:
        """Return the names of the tasks waiting in `queue` (every priority level), counted."""
        client = self.stack.redis()
        names: Counter = Counter()
        for key in client.scan_iter(match=f"{queue}*"):
            if key.decode(errors="replace").split("\x06")[0] == queue and client.type(key) == b"list":
                for raw in client.lrange(key, 0, -1):
                    names[json.loads(raw)["headers"]["task"].rsplit(".", 1)[-1]] += 1
        return names

    def active_version(self):
        """Return (active version or None, whether exactly one is active and its artifact matches)."""
        from recommender.models import ModelVersion
        from recommender.training.versions import file_sha256

        active = list(ModelVersion.objects.filter(is_active=True))
        if len(active) != 1:
            return None, False
        version = active[0]
        path = Path(version.artifact_path)
        return version, path.is_file() and file_sha256(path) == version.checksum

    def counts(self) -> dict:
        from recommender.models import Event, Recommendation, ScoringState, TrainingRun

        def read() -> dict:
            version, verified = self.active_version()
            from recommender.models import ModelVersion

            runs = Counter(TrainingRun.objects.values_list("status", flat=True))
            return {
                "events": Event.objects.count(),
                "2xx": len(self.acked) + sum(self.web_acked.values()),
                "runs": "/".join(str(runs.get(s, 0)) for s in ("succeeded", "failed", "rejected"))
                + (f" (+{runs['queued'] + runs['running']} going)" if runs["queued"] + runs["running"] else ""),
                "versions": ModelVersion.objects.count(),
                "active": "none" if version is None else f"v{version.pk} {'verified' if verified else 'BAD'}",
                "recs": Recommendation.objects.count(),
                "stale": ScoringState.objects.filter(stale_since__isnull=False).count(),
            }

        values = self.db(read, {"events": "?", "2xx": len(self.acked), "runs": "?", "versions": "?",
                                "active": "?", "recs": "?", "stale": "?"})
        pending = self.pending_tasks()
        values["pending"] = "?" if pending is None else pending
        return values

    def invariants(self) -> list[str]:
        """Return what is wrong with the whole site now: an event answered 2xx but not stored
        exactly once, a model version whose artifact is missing or does not match, more or
        fewer than one active version, a partly written file in the model folder."""
        from django.conf import settings

        from recommender.models import Event, ModelVersion
        from recommender.training.versions import file_sha256

        problems = []
        stored = Counter(Event.objects.filter(client_event_id__startswith="drill:")
                         .values_list("user_id", "client_event_id"))
        missing = [key for key in self.acked if stored[key] != 1]
        if missing:
            problems.append(f"{len(missing)} events answered 2xx are not stored exactly once, e.g. {missing[:3]}")
        for (user_id, item_id, kind, value), n in self.web_acked.items():
            have = Event.objects.filter(user_id=user_id, item_id=item_id, kind=kind, value=value).count()
            if have < n:
                problems.append(f"person {user_id} rated item {item_id} {n}x with 302, {have} stored")
        versions = list(ModelVersion.objects.all())
        if versions and sum(v.is_active for v in versions) != 1:
            problems.append(f"{sum(v.is_active for v in versions)} active model versions")
        for v in versions:
            path = Path(v.artifact_path)
            if not path.is_file() or file_sha256(path) != v.checksum:
                problems.append(f"v{v.pk}'s artifact {path.name} is missing or does not match its checksum")
        partial = sorted(p.name for p in Path(settings.RECSITE_MODEL_DIR).glob("*.tmp"))
        if partial:
            problems.append(f"partly written files in the model folder: {partial}")
        return problems

    def settle(self, timeout: float = 150) -> list[str]:
        """Wait until no task is pending, nobody is stale and no run is going; return what
        was still stuck after `timeout` seconds."""
        from recommender.models import RunStatus, ScoringState, TrainingRun

        def state() -> tuple[int | None, int, int]:
            stale = self.db(lambda: ScoringState.objects.filter(stale_since__isnull=False).count(), -1)
            going = self.db(lambda: TrainingRun.objects.filter(
                status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).count(), -1)
            return self.pending_tasks(), stale, going

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending, stale, going = state()
            if pending == 0 and stale == 0 and going == 0:
                return []
            time.sleep(0.5)
        pending, stale, going = state()
        return [f"not settled after {timeout:.0f} s: {pending} tasks pending, {stale} people stale, "
                f"{going} runs going"]

    # ---- helpers the cases share -----------------------------------------------------------
    def train(self, hyperparams: dict | None = None):
        from recommender.training import runs

        return runs.training_run_start(hyperparams={**HYPERPARAMS, **(hyperparams or {})})

    def run(self, run_id: int):
        from recommender.models import TrainingRun

        return self.db(lambda: TrainingRun.objects.get(pk=run_id))

    def finished(self, run_id: int, timeout: float):
        return wait(lambda: (r := self.run(run_id)) is not None and r.is_finished and r, timeout,
                    f"training run {run_id}", 0.25)

    def ensure_model(self) -> None:
        """Train a first model if none is active (cases that need one call this first)."""
        version, _ok = self.active_version()
        if version is not None:
            return
        run = self.train()
        run = self.finished(run.pk, 600)
        if run.status != "succeeded":
            raise RuntimeError(f"the first model did not train: {run.status} {run.error}")
        self.settle()

    def kill_pool(self, worker: str) -> list[int]:
        """SIGKILL the pool process(es) of a worker (what the OOM killer does to a task)."""
        pids = self.stack.children(worker)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def restart_redis(self) -> None:
        self.stack.start_redis()

    def scored_since(self, user_ids: list[int], since) -> bool:
        """True once each of these people's list was computed after `since` and reflects all
        their events (their scoring state's watermark reaches their last event)."""
        from django.db.models import Max

        from recommender.models import Event, ScoringState

        def read() -> bool:
            last = dict(Event.objects.filter(user_id__in=user_ids).values("user_id")
                        .annotate(m=Max("id")).values_list("user_id", "m"))
            states = {s.user_id: s for s in ScoringState.objects.filter(user_id__in=user_ids)}
            return all(
                uid in states and states[uid].stale_since is None and states[uid].scored_at is not None
                and states[uid].scored_at >= since and states[uid].event_watermark >= last.get(uid, 0)
                for uid in user_ids)

        return bool(self.db(read, False))

    def lists_whole(self, user_ids: list[int]) -> list[str]:
        """Return the people among `user_ids` whose stored list is not one whole list from the
        active version (ranks 1..n from one scoring, n > 0)."""
        from recommender.models import Recommendation

        version, _ok = self.active_version()
        rows: dict[int, list] = {}
        for uid, rank, computed, mv in Recommendation.objects.filter(user_id__in=user_ids).values_list(
                "user_id", "rank", "computed_at", "model_version_id"):
            rows.setdefault(uid, []).append((rank, computed, mv))
        bad = []
        for uid in user_ids:
            entries = rows.get(uid, [])
            ranks = sorted(r for r, _c, _m in entries)
            if not entries or ranks != list(range(1, len(ranks) + 1)) \
                    or len({c for _r, c, _m in entries}) != 1 or {m for _r, _c, m in entries} != {version.pk}:
                bad.append(f"person {uid}: {len(entries)} rows")
        return bad


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def worker_args(name: str) -> list[str]:
    return run.worker_args(name, f"{name}@%h", "--without-gossip", "--without-mingle")


def poll(predicate: Callable, timeout: float, interval: float = 0.25):
    """Return `predicate()`'s first truthy value within `timeout` seconds, else False."""
    try:
        return wait(predicate, timeout, "condition", interval)
    except TimeoutError:
        return False


def now():
    from django.utils import timezone

    return timezone.now()


def log_since(drill: Drill, name: str, offset: int) -> str:
    return drill.stack.log(name)[offset:]
