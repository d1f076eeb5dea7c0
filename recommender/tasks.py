"""Celery tasks: thin wrappers that take ids and call the worker-side modules.

Worker-side modules import torch, so they are imported inside the tasks: the web
process imports this file to enqueue, and must never load torch.
"""
import logging

from celery import shared_task
from django.conf import settings

from .serving.hooks import recommendations_stored

log = logging.getLogger(__name__)

MAX_TRAINING_RETRIES = 3


@shared_task(bind=True, max_retries=MAX_TRAINING_RETRIES)
def training_run_chunk(self, run_id: int, from_epoch: int = 0) -> str:
    """Train one chunk of epochs of a run, then queue the next chunk or finish."""
    from .training import runner

    try:
        outcome = runner.run_chunk(run_id, owner=self.request.id or f"local-{run_id}", from_epoch=from_epoch)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        if self.request.retries >= self.max_retries:
            runner.run_fail(run_id, f"Gave up after {self.max_retries + 1} attempts. {message}")
            return "failed"
        runner.run_error(run_id, message)
        raise self.retry(exc=exc, countdown=2 ** self.request.retries)
    if outcome.startswith("continue:"):
        training_run_chunk.delay(run_id, int(outcome.split(":")[1]))
    return outcome


@shared_task
def training_sweep() -> dict:
    """Resume runs whose worker vanished; start a run when enough new events arrived."""
    from .training.runs import training_due, training_run_start, training_runs_stalled

    resumed = 0
    for run_id, epoch in training_runs_stalled():
        training_run_chunk.delay(run_id, epoch)
        resumed += 1
    started = training_due(min_new_events=settings.RECSITE_RETRAIN_AFTER_EVENTS)
    if started:
        training_run_start()
    return {"resumed": resumed, "started": started}


@shared_task
def training_nightly() -> int | None:
    """Start the nightly retraining unless a run is already going."""
    from .training.runs import training_busy, training_run_start

    return None if training_busy() else training_run_start().pk


@shared_task
def scoring_rescore_all(version_id: int) -> int:
    """Split everyone into chunks (recently active first) and queue a task per chunk."""
    from .serving.stale_lists import people_by_recent_activity

    people = people_by_recent_activity()
    size = settings.RECSITE_SCORING_CHUNK
    for start in range(0, len(people), size):
        scoring_chunk.delay(version_id, people[start:start + size])
    return len(people)


@shared_task(bind=True)
def scoring_chunk(self, version_id: int | None, user_ids: list[int]) -> int:
    """Recompute and store the lists of these people with the version (None = active)."""
    from .serving import scoring

    written = scoring.score_people(user_ids, version_id=version_id)
    # explanations of the new lists, in the background
    recommendations_stored.send(sender=scoring_chunk, user_ids=user_ids if written else [], urgent=False)
    # Which worker scored which chunk, once it is stored: with several worker machines on
    # one queue this is how an operator (and the scale-out test) sees who did the work.
    chunk = {"chunk": self.request.id, "people": len(user_ids), "written": written,
             "worker": self.request.hostname}
    log.info("scoring chunk done chunk=%(chunk)s people=%(people)d written=%(written)d "
             "worker=%(worker)s", chunk, extra=chunk)
    return written


@shared_task
def scoring_refresh_user(user_id: int) -> int:
    """Recompute one person's list with the active model, right after they acted."""
    from .serving import scoring

    written = scoring.score_people([user_id], version_id=None)
    # the explanations of the new list, right away
    recommendations_stored.send(sender=scoring_refresh_user, user_ids=[user_id] if written else [], urgent=True)
    return written


@shared_task
def scoring_sweep() -> int:
    """Refresh everyone whose list is stale: the safety net for lost notifications."""
    from .serving.stale_lists import stale_people

    people = stale_people()
    size = settings.RECSITE_SCORING_CHUNK
    for start in range(0, len(people), size):
        scoring_chunk.delay(None, people[start:start + size])
    return len(people)


MAX_TEXT_RETRIES = 3


@shared_task(bind=True, max_retries=MAX_TEXT_RETRIES)
def text_run_chunk(self, run_id: int, cursor: int) -> str:
    """Embed the next chunk of items of a text run, then queue the chunk after it."""
    from .text import services

    try:
        outcome = services.text_run_chunk(run_id, cursor)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            services.text_run_fail(run_id, f"Gave up after {self.max_retries + 1} attempts. "
                                           f"{type(exc).__name__}: {exc}")
            return "failed"
        raise self.retry(exc=exc, countdown=2 ** self.request.retries)
    if outcome.startswith("continue:"):
        text_run_chunk.delay(run_id, int(outcome.split(":")[1]))
    return outcome


@shared_task
def text_sweep() -> int | None:
    """Resume a stalled text run, or start one for items without a current vector (a
    lost notification, an encoder upgrade); return the open run's id."""
    from .text.services import text_run_schedule

    run = text_run_schedule(reason="sweep")
    return None if run is None else run.pk
