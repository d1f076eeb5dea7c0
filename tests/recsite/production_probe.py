"""Ask the production settings what they send: Django under `recsite.settings.production`
in a subprocess (its own settings, its own environment), answering a few requests."""
import functools
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# /healthz, the language switch, redirects and the API errors probed touch neither the database
# nor the static manifest (which exists only after collectstatic), so the probe needs nothing set up.
PROBE = r"""
import json
import django
django.setup()
from django.conf import settings
from django.test import Client

client = Client(HTTP_HOST="example.com")
secure = client.get("/i18n/setlang/", secure=True)
plain = client.get("/")
probe = Client(HTTP_HOST="10.1.2.3").get("/healthz")  # a supervisor's own address, plain HTTP
language = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"}, secure=True)
cookie = language.cookies[settings.LANGUAGE_COOKIE_NAME]
answers = Client(HTTP_HOST="example.com", raise_request_exception=False)


def api_error(response):
    body = response.json() if response["Content-Type"] == "application/json" else {}
    return [response.status_code, response["Content-Type"], "detail" in body]


deep = b"[" * 30_000 + b"]" * 30_000  # under the sign-in endpoint's 64 KiB
print(json.dumps({
    "api_errors": {
        "docs_options": api_error(answers.options("/api/docs/", secure=True)),
        "deep_json": api_error(answers.generic("POST", "/api/v1/auth/token/", deep,
                                               content_type="application/json", secure=True)),
        "bad_host": api_error(Client(HTTP_HOST="evil.example", raise_request_exception=False)
                              .get("/api/v1/items/", secure=True)),
    },
    "headers": dict(secure.headers),
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location"),
    "probe_status": probe.status_code,
    "probe_body": probe.content.decode(),
    "language_cookie": {"secure": bool(cookie["secure"]), "httponly": bool(cookie["httponly"]),
                        "samesite": cookie["samesite"]},
    "settings": {name: getattr(settings, name) for name in (
        "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
        "PASSWORD_HASHERS", "AUTH_PASSWORD_VALIDATORS", "AXES_ENABLED", "AXES_FAILURE_LIMIT")},
}))
"""


@functools.cache
def production_probe() -> dict:
    """Return the headers, redirect, cookie flags and settings that production uses (once per run)."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "recsite.settings.production",
                   "DJANGO_SECRET_KEY": secrets.token_urlsafe(60), "DJANGO_ALLOWED_HOSTS": "example.com"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
