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
    from recommender.training.versions import model_version_active

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


class ProbeMiddleware:
    """Answer /healthz and /readyz before anything checks the host or the scheme.

    A load balancer or a supervisor probes the process directly (http://10.0.0.5:8000/healthz),
    with its own address as the host and no X-Forwarded-Proto: host validation would answer
    400 and the HTTPS redirect 301, and the probe would report a healthy process as down.
    The probes say only whether the process, database, broker and model are up.
    """

    PROBES = {"/healthz": healthz, "/readyz": readyz}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        probe = self.PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
