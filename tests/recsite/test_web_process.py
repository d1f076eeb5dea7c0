"""The web process must never load torch: it only reads what workers stored."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys, django
django.setup()
from django.test import Client
from django.urls import get_resolver
import recsite.urls, recommender.admin, recommender.tasks, recommender.views
import recommender.training.runs, recommender.training.versions, recommender.serving.stale_lists
get_resolver().url_patterns
Client(raise_request_exception=False).get("/")
Client(raise_request_exception=False).get("/items/?q=star")
import recommender.text.selectors, recommender.api.similar
from recommender.text.selectors import query_vector
assert query_vector("space adventure with robots") is not None  # search embeds queries here
print("torch" in sys.modules)
"""


def test_web_process_never_imports_torch():
    """Loading every URL, view, admin and task module, serving a page and a search, and
    embedding a search query, loads no torch."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recsite.settings.test"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


FROZEN = """
import gc
from recsite import memory, wsgi
assert wsgi.warmed.wait(120)
import sys
print(gc.get_freeze_count() > 100_000, "explain.plots" in sys.modules, "torch" in sys.modules,
      gc.get_threshold() == memory.THRESHOLDS)
"""


def test_the_web_process_warms_up_then_freezes_its_start_up_objects():
    """The WSGI module loads the search encoder and the why page's figure code, then moves
    the start-up objects out of the collector's way (a full collection walking them cost the
    slowest pages about 150 ms) and spaces out collections (recsite.memory), all without torch."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recsite.settings.test"}
    result = subprocess.run([sys.executable, "-c", FROZEN], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True True False True"
