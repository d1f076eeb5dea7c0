"""Tests for the JSON log formatter used by the production settings."""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from recsite.logging import JsonFormatter


def _record(msg: str, args=(), exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("recommender.tasks", logging.INFO, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_a_record_is_one_json_line_with_its_extras():
    """The message is formatted, and fields passed with `extra=` become JSON fields."""
    chunk = {"chunk": "abc", "people": 5, "worker": "scoring-1@host"}
    line = JsonFormatter().format(_record("done chunk=%(chunk)s people=%(people)d", chunk, **chunk))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "done chunk=abc people=5"
    assert entry["level"] == "INFO" and entry["logger"] == "recommender.tasks"
    assert (entry["chunk"], entry["people"], entry["worker"]) == ("abc", 5, "scoring-1@host")
    assert entry["time"].endswith("+00:00")


def test_an_exception_and_odd_values_stay_on_one_line():
    """A traceback is a field of the same line; values JSON cannot encode become strings."""
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info(), obj=object())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exc_info"]
    assert entry["obj"].startswith("<object object")


def test_production_settings_log_json():
    """The production LOGGING block formats the root logger's output with JsonFormatter."""
    code = ("import django, logging; django.setup(); "
            "logging.getLogger('recsite.check').warning('hello %s', 'there', extra={'k': 1})")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recsite.settings.production",
           "DJANGO_SECRET_KEY": "x" * 60, "DJANGO_ALLOWED_HOSTS": "example.com"}
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            env=env, capture_output=True, text=True, timeout=60)
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello there" and entry["k"] == 1 and entry["level"] == "WARNING"
