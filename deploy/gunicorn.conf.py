"""gunicorn settings for recsite's web process: `gunicorn -c deploy/gunicorn.conf.py`.

Run from the repository root with the production environment loaded (docs/operations.md).
The web process never imports torch, so its workers are small; static files are served
by whitenoise from `collectstatic`'s output, so no proxy rule is needed for them.
"""
import os

# https://docs.gunicorn.org/en/stable/settings.html
wsgi_app = "recsite.wsgi:application"
# Loopback only: a TLS-terminating reverse proxy on the same host forwards to it and sets
# X-Forwarded-Proto (the production settings trust that header for HTTPS).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers, 2 x cores + 1 by default (gunicorn's rule of thumb for I/O-bound Django).
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never grows without bound.
max_requests = 1000
max_requests_jitter = 100

# Access and error logs as JSON lines on stdout/stderr, like the Django and Celery logs.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "recsite.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}
