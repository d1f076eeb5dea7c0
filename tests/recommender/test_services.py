"""Tests for recording events and setting controls."""
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from recommender.activity.hooks import person_changed
from recommender.activity.services import (
    EventInput,
    control_remove,
    control_set,
    event_delete,
    event_record,
    preferences_update,
    recommendations_reset,
)
from recommender.models import Event, ModelVersion, Recommendation, ScoringState, UserControl


def test_event_record_stores_a_rating(make_user, make_item):
    """A valid rating is stored with its value."""
    user, item = make_user(), make_item()
    event, created = event_record(user=user, data=EventInput(item=item, kind="rate", value=4))
    assert created and event.value == 4.0 and Event.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("rate", None, "value"),
        ("rate", 7, "value"),
        ("rate", float("nan"), "value"),
        ("teleport", None, "kind"),
        ("view", 3, "value"),
        ("purchase", -5, "value"),
        ("like", 1e308, "value"),
    ],
)
def test_event_record_refuses_bad_input(make_user, make_item, kind, value, field):
    """Bad kinds and rating values raise a field error and store nothing."""
    with pytest.raises(ValidationError) as info:
        event_record(user=make_user(), data=EventInput(item=make_item(), kind=kind, value=value))
    assert field in info.value.message_dict
    assert not Event.objects.exists()


def test_event_record_refuses_the_future(make_user, make_item):
    """An event far in the future is refused."""
    later = timezone.now() + timedelta(hours=1)
    with pytest.raises(ValidationError):
        event_record(user=make_user(), data=EventInput(item=make_item(), kind="view", occurred_at=later))


def test_event_record_is_idempotent_per_client_id(make_user, make_item):
    """The same client event id stores one event; another person may reuse the id."""
    alice, bob, item = make_user("alice"), make_user("bob"), make_item()
    data = EventInput(item=item, kind="like", client_event_id="abc")
    first, created = event_record(user=alice, data=data)
    again, created_again = event_record(user=alice, data=data)
    _, created_bob = event_record(user=bob, data=data)
    assert created and not created_again and first.pk == again.pk and created_bob
    assert Event.objects.count() == 2


def test_not_interested_event_sets_the_control(make_user, make_item):
    """Recording 'not interested' also turns on the control of the same name."""
    user, item = make_user(), make_item()
    event_record(user=user, data=EventInput(item=item, kind="not_interested"))
    assert UserControl.objects.filter(user=user, item=item, kind="not_interested").exists()


def test_event_delete_only_own(make_user, make_item):
    """A person cannot delete someone else's event."""
    alice, bob = make_user("alice"), make_user("bob")
    event, _ = event_record(user=alice, data=EventInput(item=make_item(), kind="view"))
    with pytest.raises(Event.DoesNotExist):
        event_delete(user=bob, event_id=event.pk)
    event_delete(user=alice, event_id=event.pk)
    assert not Event.objects.exists()


def test_controls_toggle(make_user, make_item):
    """Setting a control twice keeps one row; removing reports whether it existed."""
    user, item = make_user(), make_item()
    _, created = control_set(user=user, item=item, kind="exclude")
    _, created_again = control_set(user=user, item=item, kind="exclude")
    assert created and not created_again
    assert control_remove(user=user, item=item, kind="exclude")
    assert not control_remove(user=user, item=item, kind="exclude")


def test_unknown_control_is_refused(make_user, make_item):
    """An unknown control kind raises a field error."""
    with pytest.raises(ValidationError) as info:
        control_set(user=make_user(), item=make_item(), kind="hide")
    assert "control" in info.value.message_dict


def test_event_record_refuses_times_before_1970(make_user, make_item):
    """Pages, API and importers store nothing dated before the Unix epoch."""
    old = datetime(1969, 12, 31, 23, 59, tzinfo=UTC)
    with pytest.raises(ValidationError) as info:
        event_record(user=make_user(), data=EventInput(item=make_item(), kind="view", occurred_at=old))
    assert "occurred_at" in info.value.message_dict and not Event.objects.exists()


def test_a_change_is_announced_inside_the_transaction_that_makes_it(make_user, make_item):
    """Activity announces each change (`person_changed`) and serving marks the list stale
    in the same transaction: when the marking fails, the event is not stored either."""
    user, item = make_user(), make_item()

    def failing(**kwargs):
        raise RuntimeError("marking failed")

    person_changed.connect(failing, dispatch_uid="test.failing")
    try:
        with pytest.raises(RuntimeError):
            event_record(user=user, data=EventInput(item=item, kind="rate", value=4))
    finally:
        person_changed.disconnect(dispatch_uid="test.failing")
    assert not Event.objects.filter(user=user).exists()
    assert not ScoringState.objects.filter(user=user).exists()

    event_record(user=user, data=EventInput(item=item, kind="rate", value=4))
    assert ScoringState.objects.get(user=user).stale_since is not None


def test_serving_reads_what_each_change_means_for_the_stored_list(make_user, make_item):
    """A feed change marks nothing stale (only what is shown changes); a reset drops the
    stored list, computed from what the person cleared, and asks for a new one."""
    user, item = make_user(), make_item()
    version = ModelVersion.objects.create(artifact_path="x", checksum="y", is_active=True)
    Recommendation.objects.create(user=user, item=item, rank=1, score=1.0, model_version=version,
                                  computed_at=timezone.now())
    preferences_update(user=user, feed="popular")
    assert not ScoringState.objects.filter(user=user, stale_since__isnull=False).exists()
    assert Recommendation.objects.filter(user=user).exists()
    recommendations_reset(user=user)
    assert not Recommendation.objects.filter(user=user).exists()
    assert ScoringState.objects.get(user=user).stale_since is not None
