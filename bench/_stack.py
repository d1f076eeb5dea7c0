"""A throwaway copy of the whole site for benchmarks and drills: its own database, an
embedded Redis, Celery workers and a web server, all real processes on this machine."""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from recsite.run import beat_args, redis_args, worker_args
from recsite.run import wait_for as wait  # noqa: F401 - the benchmarks import it from here

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


class Stack:
    """Processes sharing one database and broker; `stop()` ends them all."""

    def __init__(self, *, database_url: str | None = None, keep: bool = False, prefix: str = "recsite-bench-"):
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = keep
        self.socket = self.dir / "redis.sock"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "recsite.settings.local",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": database_url or f"sqlite:///{self.dir / 'db.sqlite3'}",
            "REDIS_URL": "",
            "RECSITE_MODEL_DIR": str(self.dir / "models"),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        # An embedded Redis of the stack's own, not the one `make run` keeps in var/.
        self.env["RECSITE_REDIS_SOCKET"] = str(self.socket)
        self.procs: dict[str, subprocess.Popen] = {}

    # ---- processes ------------------------------------------------------------------------
    def manage(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=self.env, check=check, **kw)

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(args, cwd=ROOT, env={**self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_redis(self) -> None:
        import redis

        self.spawn("redis", redis_args(self.dir, socket=self.socket))
        client = redis.Redis(unix_socket_path=str(self.socket))
        wait(lambda: _ping(client), 10, "redis")

    def start_redis_tcp(self, port: int, persist: bool = True) -> str:
        """Start an embedded Redis on a loopback port, with append-only persistence unless
        `persist` is False, and point the stack's broker, cache and throttling at it;
        return its URL.

        One URL serves Celery and Django's Redis cache alike (a unix socket needs two
        spellings), so the web's cache is shared by its workers as in production.
        """
        import redis

        self.spawn("redis", redis_args(self.dir, port=port, persist=persist))
        wait(lambda: _ping(redis.Redis(port=port)), 10, "redis")
        self.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        return self.env["REDIS_URL"]

    def start_worker(self, name: str, queues: str, threads: int = 1, nice: int = 0, idle: bool = False) -> None:
        """Start one worker process for `queues`; `nice` > 0 lowers its CPU priority, `idle`
        runs it under SCHED_IDLE and the idle I/O class (it gets only the CPU and disk time
        nothing else wants), as deploy/systemd/recsite-worker-training.service runs batch
        training beside a web server."""
        prefix = (["chrt", "--idle", "0", "ionice", "-c", "3"] if idle else []) + (
            ["nice", "-n", str(nice)] if nice else [])
        self.spawn(name, [*prefix, *worker_args(queues, f"{name}@%h", "--without-gossip", "--without-mingle")],
                   env={"RECSITE_TORCH_THREADS": str(threads)})
        wait(lambda: "ready." in self.log(name), 120, f"worker {name}")

    def start_beat(self) -> None:
        """Start Celery beat with the database scheduler (run `setup_periodic_tasks` first)."""
        self.spawn("beat", beat_args())
        wait(lambda: "beat: Starting" in self.log("beat"), 60, "beat")

    def start_web(self, port: int, workers: int = 2, access_log_format: str | None = None,
                  name: str = "web", env: dict[str, str] | None = None) -> str:
        """Start gunicorn as process `name`, with `env` added to the stack's environment;
        `access_log_format` replaces its default access-log line (for example with
        `%(D)s`, the server's time per request in microseconds)."""
        self.manage("collectstatic", "--no-input", "-v0", check=False)
        log_format = ["--access-logformat", access_log_format] if access_log_format else []
        self.spawn(name, [PY, "-m", "gunicorn", "recsite.wsgi", "-b", f"127.0.0.1:{port}",
                          "-w", str(workers), "--access-logfile", "-", *log_format],
                   env={"DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", **(env or {})})
        url = f"http://127.0.0.1:{port}"
        wait(lambda: _get_ok(url + "/healthz"), 60, name)
        return url

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, sig)
        proc.wait(30)

    def stop(self) -> None:
        for name in list(self.procs):
            try:
                self.kill(name, signal.SIGTERM)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- Django in this process, against the stack's database ------------------------------
    def django(self):
        """Set Django up in this process against the stack's database and broker."""
        os.environ.update(self.env)
        import django

        django.setup()


def demo_site_with_person(stack: Stack, username: str, password: str, *, max_epochs: int):
    """Bring `stack` up as `make run` does on the demo catalogue (Redis; training, scoring and
    explanation workers; Django in this process), create the login `username` with a copy of
    a demo person's first 15 events, train a first model of `max_epochs` and wait for the
    person's first list; return the person."""
    stack.manage("migrate", "-v0")
    stack.manage("generate_demo")
    stack.start_redis()
    stack.start_worker("training", "training", threads=2)
    stack.start_worker("scoring", "scoring")
    stack.start_worker("explain", "explain")
    stack.django()

    from recommender.training import runs
    from recommender.models import Event, ModelVersion, Recommendation
    from recommender.activity.services import EventInput, event_record
    from recsite.accounts.models import User

    person = User.objects.create_user(username, password=password)
    template = Event.objects.values("user_id").order_by("user_id").first()["user_id"]
    for event in Event.objects.filter(user_id=template).order_by("occurred_at")[:15]:
        event_record(user=person, data=EventInput(item=event.item, kind=event.kind, value=event.value))
    runs.training_run_start(hyperparams={"max_epochs": max_epochs})
    wait(lambda: ModelVersion.objects.filter(is_active=True).exists(), 1800, "first model", 1.0)
    wait(lambda: Recommendation.objects.filter(user=person).exists(), 300, "first list", 0.5)
    return person

class Browser:
    """A cookie-keeping HTTP client that logs in through the site's own forms."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def post(self, path: str, data: dict) -> int:
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.csrf()}).encode()
        request = urllib.request.Request(self.base + path, data=body,
                                          headers={"Referer": self.base + path})
        with self.opener.open(request, timeout=30) as response:
            return response.status

    def login(self, username: str, password: str) -> None:
        self.get("/accounts/login/")
        self.post("/accounts/login/", {"username": username, "password": password})
        if "logout" not in self.get("/").lower():
            raise RuntimeError("login failed")


def recommended_ids(html: str) -> tuple[str | None, list[int]]:
    """Return (computed-at marker, item ids) of the home page's "Recommended" section."""
    match = re.search(r'data-computed-at="([^"]*)"(.*?)</section>', html, re.S)
    if not match:
        return None, []
    return match.group(1), [int(i) for i in re.findall(r'href="/items/(\d+)/"', match.group(2))]


def _ping(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except Exception:  # noqa: BLE001
        return False


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def write_section(title: str, body: str) -> None:
    """Replace (or append) the `## title` section of docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nEvery figure here was measured by the command shown with it.\n"
    header = f"## {title}\n"
    section = header + body.rstrip() + "\n"
    if header in text:
        start = text.index(header)
        nxt = text.find("\n## ", start + len(header))
        text = text[:start] + section + (text[nxt:] if nxt != -1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


def served_parser(description: str, *, people: int = 30) -> argparse.ArgumentParser:
    """The arguments of a benchmark that reads the site's served model: `--served` (the folder
    `bench.served` left), `--people`, `--no-write`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--served", default=str(ROOT / "var" / "served"), help="the folder bench.served wrote")
    parser.add_argument("--people", type=int, default=people)
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser
