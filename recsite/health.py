"""Liveness and readiness probes."""
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process can serve requests at all."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


def broker_ok() -> bool:
    """Return True if the Celery broker answers a ping within half a second."""
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith("redis+socket://"):
            client = redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"),
                                 socket_timeout=0.5, socket_connect_timeout=0.5)
        else:
            client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


def _model_ok() -> bool:
    from recommender.pipeline import model_version_active

    try:
        version = model_version_active()
        return version is not None and Path(version.artifact_path).is_file()
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and the broker answer and an active model's artifact
    is in place; 503 naming what is not."""
    checks = {"database": _database_ok(), "broker": broker_ok(), "model": _model_ok()}
    ready = all(checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status=200 if ready else 503)
