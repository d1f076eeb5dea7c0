"""Whose list must be computed again: flagged when a person acts (one task while pending),
claimed and restored around their scoring, found by the sweep and the rescoring order."""
from django.db.models import Max
from django.utils import timezone

from recsite import dispatch
from recsite.accounts.models import User

from ..models import Event, Recommendation, ScoringState
from . import answer_cache


def recommendations_mark_stale(*, user: User) -> None:
    """Record in the database that this person's list must be recomputed and, if it was
    not already pending, ask a worker for it on commit.

    The flag is the coalescing: while a refresh is pending, further events add no task;
    the worker clears the flag when it starts, so an event during scoring asks again.
    """

    answer_cache.people_changed([user.pk])
    now = timezone.now()
    _, created = ScoringState.objects.get_or_create(user=user, defaults={"stale_since": now})
    became_stale = created or ScoringState.objects.filter(
        pk=user.pk, stale_since__isnull=True).update(stale_since=now)
    if became_stale:
        dispatch.on_commit("recommender.tasks.scoring_refresh_user", user.pk)


def on_person_changed(sender, *, user: User, rescore: bool = True, list_void: bool = False,
                      **kwargs) -> None:
    """`recommender.activity.hooks.person_changed`: drop a stored list that no longer holds
    and mark the list stale; when only how it is shown changed, the cached answers alone."""
    if list_void:
        Recommendation.objects.filter(user=user).delete()
    if rescore:
        recommendations_mark_stale(user=user)
    else:
        answer_cache.people_changed([user.pk])


def stale_claim(user_ids: list[int]) -> list[int]:
    """Clear the stale flag of these people as their scoring starts; return whose it was."""
    claimed = list(ScoringState.objects.filter(user_id__in=user_ids, stale_since__isnull=False)
                   .values_list("user_id", flat=True))
    ScoringState.objects.filter(user_id__in=claimed).update(stale_since=None)
    return claimed


def stale_restore(user_ids: list[int]) -> None:
    """Flag these people stale again after their scoring failed, for the sweep to find."""
    ScoringState.objects.filter(user_id__in=user_ids, stale_since__isnull=True).update(
        stale_since=timezone.now())


def stale_people(*, older_than_s: float = 30.0, limit: int = 5000) -> list[int]:
    """Return people whose lists have been flagged stale for at least `older_than_s`,
    most recently flagged first (the sweep's safety net for lost notifications)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_s)
    flagged = list(
        ScoringState.objects.filter(stale_since__lte=cutoff)
        .order_by("-stale_since").values_list("user_id", flat=True)[:limit]
    )
    return flagged


def people_by_recent_activity() -> list[int]:
    """Return the ids of everyone with events, most recently active first."""
    return list(
        Event.objects.values("user_id").annotate(last=Max("id")).order_by("-last")
        .values_list("user_id", flat=True)
    )
