"""Tests for the production settings."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

from .production_probe import production_probe

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "recsite.settings.production", **env}
    environment.pop("DJANGO_SECRET_KEY", None) if "DJANGO_SECRET_KEY" not in env else None
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean():
    """Production settings with a key and hosts pass `check --deploy` with no warnings."""
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60), DJANGO_ALLOWED_HOSTS="example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_key():
    """Production settings without DJANGO_SECRET_KEY fail loudly."""
    result = _manage("check", DJANGO_ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_sends_the_security_headers():
    """HTTPS only (redirect and HSTS with preload), no sniffing, no framing, same-origin
    referrers and opener, and the site's CSP without unsafe-eval or inline scripts."""
    probe = production_probe()
    headers = probe["headers"]
    assert probe["plain_status"] == 301 and probe["plain_location"] == "https://example.com/"
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in headers["Content-Security-Policy"]


def test_probes_answer_a_supervisor_on_plain_http_at_its_own_address():
    """/healthz answers 200 to a probe at an address outside ALLOWED_HOSTS, without HTTPS:
    neither the host check (400) nor the HTTPS redirect (301) stands in its way."""
    probe = production_probe()
    assert probe["probe_status"] == 200 and '"ok"' in probe["probe_body"]


def test_production_cookies_passwords_and_lockout():
    """Secure cookies, the password validators and a slow hasher on, lockout enabled."""
    probe = production_probe()
    settings = probe["settings"]
    assert settings["DEBUG"] is False
    assert settings["SESSION_COOKIE_SECURE"] and settings["SESSION_COOKIE_HTTPONLY"] and settings["CSRF_COOKIE_SECURE"]
    assert probe["language_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert len(settings["AUTH_PASSWORD_VALIDATORS"]) == 4
    assert "MD5" not in settings["PASSWORD_HASHERS"][0] and "PBKDF2" in settings["PASSWORD_HASHERS"][0]
    assert settings["AXES_ENABLED"] and settings["AXES_FAILURE_LIMIT"] == 10


def test_only_the_test_settings_hash_passwords_fast():
    """The fast MD5 hasher is the test settings' alone; base and local keep Django's default."""
    from recsite.settings import base, local, test

    assert test.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert not hasattr(base, "PASSWORD_HASHERS") and not hasattr(local, "PASSWORD_HASHERS")


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                    "Cross-Origin-Opener-Policy")


def test_static_files_get_the_same_security_headers_as_pages(client, db):
    """WhiteNoise answers static files itself; the headers middleware runs before it, so an
    SVG or a script cannot be framed or sniffed where a page could not."""
    page = client.get("/accounts/login/")
    for path in ["/static/img/favicon.svg", "/static/css/site.css", "/static/js/site.js"]:
        static = client.get(path)
        assert static.status_code == 200, path
        assert {h: static.get(h) for h in SECURITY_HEADERS} == {h: page.get(h) for h in SECURITY_HEADERS}, path
        assert all(static.get(h) for h in SECURITY_HEADERS), path


def test_production_answers_api_errors_in_json():
    """Under production settings (DEBUG off, no database needed): OPTIONS on the docs page, a
    body nested 30,000 deep (a RecursionError before) and a refused Host answer JSON with `detail`, not HTML."""
    errors = production_probe()["api_errors"]
    assert errors["docs_options"] == [200, "application/json", False]
    assert errors["deep_json"][:2] == [400, "application/json"] and errors["deep_json"][2]
    assert errors["bad_host"][:2] == [400, "application/json"] and errors["bad_host"][2]
