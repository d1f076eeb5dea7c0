"""Explanations on their own queue, with a real Redis and a real worker process."""
import pytest

from explain import services
from explain.models import Explanation, ExplanationStatus
from recommender.models import Recommendation
from recommender.activity.services import EventInput, event_record

from .conftest import make_sequences, wait_until
from .test_pipeline import train

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_activation_and_own_actions_produce_explanations(start_worker):
    """After activation everyone's shown list is explained in the background; after a
    person's own action their new list is explained; a request reports ready."""
    people = make_sequences(n_people=12)
    start_worker()
    train()
    person = people[0]
    wait_until(lambda: Explanation.objects.filter(user=person, status=ExplanationStatus.READY).count() >= 10,
               timeout=120)
    top = Recommendation.objects.filter(user=person).order_by("rank").first()
    assert services.explanation_request(user=person, item_id=top.item_id) == "ready"
    before = top.computed_at
    event_record(user=person, data=EventInput(item=top.item, kind="rate", value=5))
    wait_until(lambda: Recommendation.objects.filter(user=person, computed_at__gt=before).exists(), timeout=30)
    new_top = Recommendation.objects.filter(user=person).order_by("rank").first()
    wait_until(lambda: Explanation.objects.filter(user=person, item_id=new_top.item_id, status="ready",
                                                  for_computed_at=new_top.computed_at).exists(), timeout=30)
