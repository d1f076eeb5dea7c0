"""Unit tests for the web-side pipeline services and the training lease."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from recommender.serving import stale_lists
from recommender.training import runs
from recommender.models import ModelVersion, RunStatus, ScoringState, TrainingRun
from recommender.activity.services import EventInput, event_record


def test_hyperparams_are_checked_and_typed():
    """Known names in range pass (typed); unknown names, wrong types and ranges fail."""
    assert runs.hyperparams_validate({"max_epochs": 3.0, "lr": 0.01}) == {"max_epochs": 3, "lr": 0.01}
    with pytest.raises(ValidationError) as info:
        runs.hyperparams_validate({"max_epochs": 0, "lr": "fast", "colour": 1, "seed": True})
    assert set(info.value.message_dict) == {"max_epochs", "lr", "colour", "seed"}


def test_training_run_start_refuses_bad_hyperparams(db):
    """Bad hyper-parameters raise and queue nothing."""
    with pytest.raises(ValidationError):
        runs.training_run_start(hyperparams={"max_epochs": -1})
    assert not TrainingRun.objects.exists()


def test_an_event_marks_the_list_stale(make_user, make_item):
    """Recording an event flags the person's list in the same transaction."""
    user = make_user()
    event_record(user=user, data=EventInput(item=make_item(), kind="view"))
    assert ScoringState.objects.get(user=user).stale_since is not None


def test_stale_people_waits_for_the_immediate_refresh(make_user, make_item):
    """The sweep leaves people flagged in the last seconds to their own refresh."""
    user = make_user()
    event_record(user=user, data=EventInput(item=make_item(), kind="view"))
    assert stale_lists.stale_people(older_than_s=5) == []
    ScoringState.objects.filter(user=user).update(stale_since=timezone.now() - timedelta(seconds=10))
    assert stale_lists.stale_people(older_than_s=5) == [user.pk]


def test_training_due_after_enough_new_events(make_user, make_item):
    """Retraining is due once enough events arrived since the active snapshot."""
    user, item = make_user(), make_item()
    first, _ = event_record(user=user, data=EventInput(item=item, kind="view"))
    ModelVersion.objects.create(artifact_path="x", checksum="y", is_active=True, event_watermark=first.pk)
    assert not runs.training_due(min_new_events=2)
    for _ in range(2):
        event_record(user=user, data=EventInput(item=item, kind="view"))
    assert runs.training_due(min_new_events=2)


def test_lease_is_exclusive_and_retaken_by_its_owner(db):
    """Only one task holds a run's lease; the same task id may retake it; a duplicate of
    an earlier chunk may not; an expired lease may be taken over."""
    from recommender.training.runner import lease_acquire, lease_release

    run = TrainingRun.objects.create()
    assert lease_acquire(run.pk, "task-a", 0)
    assert not lease_acquire(run.pk, "task-b", 0)
    assert lease_acquire(run.pk, "task-a", 0)  # redelivered after its worker died
    TrainingRun.objects.filter(pk=run.pk).update(epoch=2)
    lease_release(run.pk, "task-a")
    assert not lease_acquire(run.pk, "task-c", 0)  # stale duplicate of the first chunk
    assert lease_acquire(run.pk, "task-d", 2)
    TrainingRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert lease_acquire(run.pk, "task-e", 2)
    assert TrainingRun.objects.get(pk=run.pk).status == RunStatus.RUNNING


def test_stalled_runs_are_found(db):
    """A running run whose lease expired is reported for resumption."""
    run = TrainingRun.objects.create(status=RunStatus.RUNNING, lease_owner="dead", epoch=3,
                                     lease_expires_at=timezone.now() - timedelta(minutes=1))
    assert runs.training_runs_stalled() == [(run.pk, 3)]
