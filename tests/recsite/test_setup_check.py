"""scripts/setup-check.sh: what `make test` and `make run` check before anything runs.

Nothing here installs anything: a missing Chromium is a path that does not exist, and the
package manager is a stand-in on PATH that fails.
"""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "setup-check.sh"
VENV = str(ROOT / ".venv")


def check(target: str, tmp_path: Path, path: str | None = None, **env) -> subprocess.CompletedProcess:
    variables = {**os.environ, "VENV": VENV, "CHROMIUM": str(tmp_path / "no-chromium"), **env}
    if path is not None:
        variables["PATH"] = path
    return subprocess.run(["sh", str(SCRIPT), target], cwd=ROOT, env=variables, capture_output=True,
                          text=True, timeout=60)


def test_without_chromium_and_no_installing_it_stops_with_the_one_command_to_run(tmp_path):
    done = check("test", tmp_path, SYSTEM_INSTALL="no")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "apt-get install -y chromium" in lines[0] and "make test" in lines[0]


def test_a_dry_run_says_what_it_would_install_and_installs_nothing(tmp_path):
    done = check("test", tmp_path, SYSTEM_INSTALL="dry-run")
    assert done.returncode == 1
    assert "Would run:" in done.stderr and "chromium" in done.stderr and "nothing was installed" in done.stderr


def test_run_needs_no_browser(tmp_path):
    done = check("run", tmp_path, SYSTEM_INSTALL="no")
    assert done.returncode == 0 and done.stderr == ""


def test_with_everything_there_it_says_nothing(tmp_path):
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    done = check("test", tmp_path, SYSTEM_INSTALL="no", CHROMIUM=str(chromium))
    assert done.returncode == 0, done.stderr


def test_when_installing_fails_it_stops_with_one_clear_line(tmp_path):
    """A package manager that cannot reach its mirrors: the last line says what to run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("apt-get", "sudo"):
        fake = bin_dir / tool
        fake.write_text("#!/bin/sh\necho 'E: could not reach the mirror' >&2\nexit 100\n")
        fake.chmod(0o755)
    done = check("test", tmp_path, path=f"{bin_dir}:{os.environ['PATH']}", SYSTEM_INSTALL="auto")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "apt-get install -y chromium" in last and "make test" in last, done.stderr
