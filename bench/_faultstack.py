"""Servers the fault drill may kill and restart without disturbing anybody else on the
machine: a PostgreSQL cluster and a Redis of its own on free ports, and a `Stack` whose
process logs pass through pipes (so a process may be denied disk writes and still log)."""
from __future__ import annotations

import os
import pwd
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from glob import glob
from pathlib import Path

from bench._stack import PY, ROOT, Stack, _get_ok, _ping, free_port, wait
from recsite.run import beat_args, redis_args


def postgres_bin() -> Path | None:
    """Return the newest PostgreSQL server's bin folder, or None if none is installed."""
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster: initdb into a temp folder, a postmaster on a free
    port (unix socket in the same folder), run as the `postgres` OS user when we are root.

    The postmaster is our own child, so it can be stopped and started at will."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="recsite-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def init(self) -> None:
        subprocess.run([*self._as_owner(), str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
                       check=True, capture_output=True, cwd=self.dir)

    def start(self) -> None:
        """Start the postmaster and wait until it accepts connections."""
        self.starts += 1
        log = (self.dir / "postgres.log").open("ab")
        owner = {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}
        self.process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.dir),
             "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100",
             "-c", "shared_buffers=64MB", "-c", "fsync=on"],
            cwd=self.dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **owner)
        wait(self.ready, 60, "postgres", 0.1)

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def stop(self, mode: str = "fast") -> None:
        """Stop the postmaster: "fast" (SIGINT: roll back and shut down cleanly) or
        "immediate" (SIGQUIT: every process exits at once, recovery on next start, like a crash)."""
        if self.process is None:
            return
        sig = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT, "smart": signal.SIGTERM}[mode]
        try:
            os.kill(self.process.pid, sig)
            self.process.wait(60)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def version(self) -> str:
        out = subprocess.run([str(self.bin / "postgres"), "--version"], capture_output=True, text=True)
        return out.stdout.split(")", 1)[-1].split()[0]  # "postgres (PostgreSQL) 15.20 (Debian ...)"

    def remove(self) -> None:
        self.stop("fast")
        shutil.rmtree(self.dir, ignore_errors=True)


class FaultStack(Stack):
    """A `Stack` the drill can take apart: a Redis on a TCP port that it may SIGKILL and
    restart with its append-only file, and every process's output read through a pipe
    into its log file (so a process refused disk writes still logs)."""

    def __init__(self, *, database_url: str | None = None, keep: bool = False):
        super().__init__(database_url=database_url, keep=keep)
        self.redis_port = free_port()
        self.env["REDIS_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
        self.env.pop("RECSITE_REDIS_SOCKET", None)
        self._copiers: list[threading.Thread] = []

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        path = self.dir / f"{name}.log"
        if path.exists():  # a restart: keep the earlier life's log beside the new one
            n = len(list(self.dir.glob(f"{name}.*.log"))) + 1
            path.rename(self.dir / f"{name}.{n}.log")
        proc = subprocess.Popen(args, cwd=ROOT, env={**self.env, **(env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        copier = threading.Thread(target=_copy, args=(proc.stdout, path), daemon=True)
        copier.start()
        self._copiers.append(copier)
        self.procs[name] = proc
        return proc

    def start_redis(self) -> None:  # noqa: D102 - TCP instead of the parent's unix socket
        import redis

        self.spawn("redis", redis_args(self.dir, port=self.redis_port))
        wait(lambda: _ping(self.redis()), 20, "redis")

    def redis(self):
        import redis

        return redis.Redis(port=self.redis_port, socket_timeout=2, socket_connect_timeout=2)

    def start_beat(self) -> None:
        self.spawn("beat", [*beat_args(), "--pidfile", str(self.dir / "beat.pid"),
                            "-s", str(self.dir / "beat-schedule")])
        wait(lambda: "beat: Starting" in self.log("beat"), 120, "beat")

    def start_web(self, port: int, workers: int = 2) -> str:  # noqa: D102 - no collectstatic
        self.spawn("web", [PY, "-m", "gunicorn", "recsite.wsgi", "-b", f"127.0.0.1:{port}",
                           "-w", str(workers), "--access-logfile", "-", "--graceful-timeout", "5"],
                   env={"DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"})
        url = f"http://127.0.0.1:{port}"
        wait(lambda: _get_ok(url + "/healthz"), 120, "web")
        return url

    def children(self, name: str) -> list[int]:
        """Return the pids of the direct children of process `name` (a worker's pool
        processes, gunicorn's workers)."""
        return children_of(self.procs[name].pid)

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None


def _copy(stream, path: Path) -> None:
    with path.open("ab") as out:
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            out.write(chunk)
            out.flush()


def children_of(pid: int) -> list[int]:
    """Return the pids of the live processes whose parent is `pid` (read from /proc)."""
    found = []
    for stat in glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()  # state, ppid, ...
        if int(fields[1]) == pid and fields[0] != "Z":  # a dead child not yet reaped is gone
            found.append(int(stat.split("/")[2]))
    return sorted(found)


def limit_file_size(pid: int, size: int | None) -> None:
    """Make the disk refuse process `pid`'s writes beyond `size` bytes of any file
    (RLIMIT_FSIZE: write() fails with EFBIG, which Python ignores as a signal and raises
    as OSError); None lifts the limit."""
    soft = resource.RLIM_INFINITY if size is None else size
    _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


def server_socket_owner(pids: list[int], server_port: int, client_port: int) -> int | None:
    """Return which of `pids` holds the server end of the loopback TCP connection from
    `client_port` to `server_port` (the gunicorn worker handling that request), or None."""
    want_local, want_remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1] == want_local and parts[2] == want_remote:
            inode = parts[9]
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))
