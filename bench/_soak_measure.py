"""Measuring bench/soak.py's run: CPU per process group, load and queue samples during the
load, server times from gunicorn's access log, and the in-process cost of each request type."""
from __future__ import annotations

import gc
import math
import re
import resource
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import psutil

from bench._stack import Stack, percentile
from bench.api_load import load_average

# gunicorn's access log line: status, method, path, microseconds spent in the worker.
ACCESS_FORMAT = '%(s)s %(m)s "%(U)s" %(D)s'
ACCESS_LINE = re.compile(r'^(\d{3}) (\w+) "([^"]*)" (\d+)$', re.M)
SERVER_TYPES = [  # (request type, method, path pattern) for the access log
    ("GET / (home page)", "GET", re.compile(r"^/$")),
    ("GET /history/", "GET", re.compile(r"^/history/$")),
    ("GET /recommendations/[id]/why/", "GET", re.compile(r"^/recommendations/\d+/why/$")),
    ("GET /api/v1/recommendations/", "GET", re.compile(r"^/api/v1/recommendations/$")),
    ("GET /api/v1/recommendations/[id]/explanation/", "GET",
     re.compile(r"^/api/v1/recommendations/\d+/explanation/$")),
    ("POST /api/v1/events/", "POST", re.compile(r"^/api/v1/events/$")),
]


def queue_backlog(client) -> dict[str, int]:
    """Return tasks waiting per queue (kombu keeps one Redis list per queue and priority)."""
    backlog: dict[str, int] = {}
    for queue in ("training", "scoring", "explain"):
        backlog[queue] = sum(client.llen(key) for key in client.scan_iter(f"{queue}*")
                             if client.type(key) == b"list")
    return backlog


def process_groups(stack: Stack, database: str) -> dict[str, list[int]]:
    """Return {group: pids}: the stack's processes with their children, and the PostgreSQL
    backends serving `database`."""
    groups: dict[str, list[int]] = defaultdict(list)
    for name, proc in stack.procs.items():
        try:
            root = psutil.Process(proc.pid)
            groups[name] = [root.pid, *(c.pid for c in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            pass
    for p in psutil.process_iter(["cmdline"]):
        if any(database in part for part in (p.info["cmdline"] or [])):
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


def children_cpu_s() -> float:
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


def request_costs(setup: dict, people: int = 30, rounds: int = 3) -> dict:
    """Serve each request type in this process with Django's test client after the load,
    `rounds` times for each of up to `people` soak people: CPU and wall ms, database queries
    and their time, full garbage collections, and cProfile's heaviest functions for one
    "why this?" page. The first person's requests (a cold process) are reported apart."""
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
    full_gcs: list[float] = []  # CPU ms of each full (generation 2) garbage collection
    started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                started[0] = time.process_time()
            else:
                full_gcs.append((time.process_time() - started[0]) * 1000)

    from explain.plots import forget_layouts
    from recsite import memory

    # as a web process does once started (recsite.wsgi.warm): the objects alive so far, here
    # the load generator's results too, move out of the collector's way, and collections
    # are spaced out as there
    thresholds = gc.get_threshold()
    memory.settle()
    gc.callbacks.append(on_gc)
    chosen = setup["people"][:people + 1]
    for n, person in enumerate(chosen + chosen[1:] * (rounds - 1)):
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
            forget_layouts()  # each page pays its graph's layout, as a page read once does
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
    gc.callbacks.remove(on_gc)
    walked = len(gc.get_objects())  # the frozen ones are not walked, nor listed
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    return {"rows": rows, "cold": cold, "profile": profile, "full_gcs": full_gcs, "gc_objects": walked}
