"""Writes: ask for explanations to be prepared. Web-side, no torch: rows and task sends."""
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from recommender.models import Recommendation
from recsite import dispatch
from recsite.accounts.models import User

from .models import Explanation, ExplanationStatus

log = logging.getLogger(__name__)

# Background work goes behind a person's own requests on the same queue: on Redis a lower
# number is served first, and a task without a priority is served as priority 0.
BACKGROUND_PRIORITY = 9
# People per background task: keeps every task far below the broker's visibility timeout.
BACKGROUND_CHUNK = 16
# A request not picked up within this time (a lost notification) is sent again.
REQUEUE_AFTER = timedelta(minutes=2)


def explanations_after_scoring(user_ids: list[int], *, urgent: bool) -> None:
    """Queue explanations of freshly scored lists: at once for a person who just acted,
    behind everything else for a rescoring of everyone."""
    if urgent:
        for user_id in user_ids:
            dispatch.send("explain.tasks.explain_person", user_id)
        return
    for start in range(0, len(user_ids), BACKGROUND_CHUNK):
        dispatch.send("explain.tasks.explain_people", user_ids[start:start + BACKGROUND_CHUNK],
                      priority=BACKGROUND_PRIORITY)


def explain_stored_lists(sender, *, user_ids: list[int], urgent: bool, **_kwargs) -> None:
    """On ``recommender.serving.hooks.recommendations_stored``: explain the new lists."""
    explanations_after_scoring(user_ids, urgent=urgent)


@transaction.atomic
def explanation_request(*, user: User, item_id: int) -> str:
    """Make sure the explanation is being prepared (queue it if not); return its status
    ("queued", "running" or "ready").

    Raises Recommendation.DoesNotExist if the item is not in this person's current list.
    """
    rec = Recommendation.objects.get(user=user, item_id=item_id)
    record = Explanation.objects.select_for_update().filter(user=user, item_id=item_id).first()
    now = timezone.now()
    if record is not None and record.for_computed_at == rec.computed_at \
            and record.model_version_id == rec.model_version_id:
        if record.is_ready:
            return ExplanationStatus.READY
        if record.status in (ExplanationStatus.QUEUED, ExplanationStatus.RUNNING) \
                and record.requested_at > now - REQUEUE_AFTER:
            return record.status
    Explanation.objects.update_or_create(
        user=user, item_id=item_id,
        defaults={"model_version_id": rec.model_version_id, "for_computed_at": rec.computed_at,
                  "status": ExplanationStatus.QUEUED, "requested_at": now, "error": ""},
    )
    dispatch.on_commit("explain.tasks.explain_person", user.pk)
    return ExplanationStatus.QUEUED
