"""The shortened fault drill (bench/faults.py --short) against a real stack of its own.

The drill starts its own PostgreSQL cluster (or SQLite where no server binaries are
installed) and its own Redis on free ports, gunicorn, a worker per queue and beat, then
kills a training worker, a scoring worker and Redis (with tasks queued, and while events
are posted), and checks that nothing was lost. It runs as a subprocess: it sets Django up
against its own database, not the test database.
"""
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.faults import CASES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_short_fault_drill_loses_nothing():
    """Worker killed during training and during scoring, Redis killed with queued tasks and
    down while events are posted: every case passes its checks and the drill's invariants."""
    short = [name for name, _title, in_short, _fn in CASES if in_short]
    assert {"worker_kill_training", "worker_kill_scoring", "redis_down_posts"} <= set(short)
    drill = subprocess.Popen([sys.executable, "-m", "bench.faults", "--short", "--no-write"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = drill.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        drill.send_signal(signal.SIGTERM)  # the drill stops its stack's processes on the way out
        output, _ = drill.communicate(timeout=120)
        pytest.fail(f"the drill took over 15 minutes:\n{output[-6000:]}")
    assert drill.returncode == 0, output[-6000:]
    assert f"{len(short)} of {len(short)} cases passed" in output, output[-6000:]
    for name in short:
        assert f"== {name}:" in output
