"""Sending work to the Celery workers, by task name: the one place that talks to the broker.

Services name the task they want run (``"recommender.tasks.scoring_refresh_user"``) instead
of importing its module, so no service depends on a task module and task modules may
depend on services; ``CELERY_TASK_ROUTES`` picks the queue from the name.
"""
import logging
import time

from django.db import transaction

log = logging.getLogger(__name__)

# After a failed send, skip sending for this long: each attempt against a dead broker
# costs about a second, which a page must not pay on every click. The database already
# holds the pending work, and the sweeps find it once the broker is back.
BROKER_BACKOFF_S = 10.0
_broker_down_until = 0.0


def send(task: str, *args, priority: int | None = None) -> bool:
    """Send task ``task`` (its name) now; return False (logged, not raised) if the broker
    is unreachable or was within the last ``BROKER_BACKOFF_S``."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    from recsite.celery import app

    try:
        app.send_task(task, args, priority=priority)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_S
        log.warning("could not enqueue %s%s: %s", task, args, exc)
        return False


def on_commit(task: str, *args, priority: int | None = None) -> None:
    """Send task ``task`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(task, *args, priority=priority))


def broker_forgotten() -> None:
    """Forget an earlier failed send, so the next send tries the broker (tests, drills)."""
    global _broker_down_until
    _broker_down_until = 0.0
