"""The recsite Django project: settings, URLs, the Celery app and the accounts app."""
