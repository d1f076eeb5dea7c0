"""WSGI entry point (gunicorn recsite.wsgi)."""
import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.local")
application = get_wsgi_application()


def _warm_search() -> None:
    """Load the text encoder (about 2 s) before the first search needs it."""
    from recommender.text.selectors import query_vector

    query_vector("warm up")


threading.Thread(target=_warm_search, name="warm-search", daemon=True).start()
