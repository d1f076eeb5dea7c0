"""Test settings: fast password hashing, in-memory email, a fixed key."""
import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-only-secret-key-not-for-production")
# PBKDF2 costs ~370 ms per check here; tests hash many passwords.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Serve static files straight from the finders: tests never run collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Tasks queued by page and service tests go to kombu's in-process broker, which nobody
# consumes; integration tests point the app at a real Redis and start a real worker.
CELERY_BROKER_URL = env("RECSITE_TEST_BROKER_URL", default="memory://")
# Short, so a test can watch Redis redeliver the task of a worker killed outright.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("RECSITE_VISIBILITY_TIMEOUT", default=3600)}

# Worker subprocesses in integration tests must see the test database, so SQLite's test
# database is a file rather than pytest-django's default in-memory one; one per test
# session (by process id), so concurrent runs never share it.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"recsite-test-{os.getpid()}.sqlite3")
    }

# API throttles high enough that the schemathesis sweep never meets them; the tests of
# throttling lower a rate themselves.
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min", "auth": "100000/min"},
}

# The answer cache retires a person's answer when their change commits; a test inside a
# transaction never commits, so with the cache on (CI's REDIS_URL) a control would seem to
# change nothing. Tests of the cache turn it on with a real Redis and transactions
# (tests/integration/test_answer_cache.py).
RECSITE_ANSWER_CACHE_SECONDS = env.int("RECSITE_ANSWER_CACHE_SECONDS", default=0)

# A cache shared with other runs (CI's Redis) must not hand one run's cached answers to the
# next, whose fresh test database reuses the same ids: keys are private to this run, and
# shared with the worker subprocesses it starts (they inherit the environment).
os.environ.setdefault("RECSITE_TEST_CACHE_PREFIX", f"test-{os.getpid()}")
CACHES["default"]["KEY_PREFIX"] = os.environ["RECSITE_TEST_CACHE_PREFIX"]  # noqa: F405
