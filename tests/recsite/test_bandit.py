"""Security lint: bandit finds no high-severity issue in the project's code."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["recsite", "recommender", "explain", "bench"]


def test_bandit_finds_no_high_severity_issue():
    """`bandit -lll` over every package reports nothing (a `# nosec` needs its rule and a reason)."""
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "--quiet", "--recursive", "-lll", "--format", "json", *PACKAGES],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    report = json.loads(result.stdout)
    assert report["errors"] == [], report["errors"]
    scanned = {Path(name).parts[0] for name in report["metrics"] if name != "_totals"}
    assert scanned == set(PACKAGES), scanned  # every package was read, none silently skipped
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]]
    assert findings == [], "\n".join(findings)
    assert result.returncode == 0, result.stderr
