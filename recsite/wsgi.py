"""WSGI entry point (gunicorn recsite.wsgi)."""
import os
import threading

from django.core.wsgi import get_wsgi_application

from recsite import memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.local")
application = get_wsgi_application()
warmed = threading.Event()  # set once ``warm`` is done


def warm() -> None:
    """Load what the first requests would, then take it out of the garbage collector's way.

    The text encoder (about 2 s) for search, and the "why this?" page's figure and layout
    code (Bokeh, numpy). Then everything loaded so far moves to the collector's permanent
    generation (``gc.freeze``): otherwise every full collection walks the ~200,000
    start-up objects again, about 150 ms, which the slowest 2% of "why this?" pages paid
    (docs/benchmarks.md, "Explanations"); and collections are spaced out (recsite.memory).
    """
    try:
        from recommender.text.selectors import query_vector

        query_vector("warm up")
        import explain.plots  # noqa: F401

        memory.settle()
    finally:
        warmed.set()


threading.Thread(target=warm, name="warm", daemon=True).start()
