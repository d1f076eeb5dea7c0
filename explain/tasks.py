"""Celery tasks of the `explain` queue: thin wrappers that take ids.

The worker-side module imports torch, so it is imported inside the tasks.
"""
from celery import shared_task


@shared_task
def explain_person(user_id: int) -> int:
    """Compute the missing explanations of one person's current list."""
    from . import compute

    try:
        return compute.explain_person(user_id)
    except Exception as exc:
        compute.explain_failed(user_id, f"{type(exc).__name__}: {exc}")
        raise


@shared_task
def explain_people(user_ids: list[int]) -> int:
    """Compute the missing explanations of several people (background work)."""
    from . import compute

    return compute.explain_people(user_ids)
