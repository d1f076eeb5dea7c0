"""Tests for the liveness and readiness probes."""
from django.test import override_settings


def test_healthz_answers_ok(client):
    """The liveness probe answers 200 without touching the database."""
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_broker_down(client, db):
    """With an unreachable broker, readiness is 503 and names the broker."""
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "broker": False, "model": False}
