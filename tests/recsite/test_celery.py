"""The Celery app's settings that keep work safe when a worker process dies."""
from recsite.celery import app


def test_a_dead_pool_process_is_replaced_on_a_busy_machine():
    """A new pool process imports torch before it reports up, which takes seconds on a
    busy machine: the worker waits far longer than Celery's default 4 s for it, or it
    kills every replacement and the redelivered task never runs."""
    assert app.conf.worker_proc_alive_timeout >= 30
