"""Reading records for the page: effects, heatmap columns, what counts, the API's weights."""
import pytest

from explain import compute, presentation, selectors
from explain.models import Explanation
from recommender.ml import signals as sig
from recommender.models import Recommendation


@pytest.fixture
def explained(acting_person):
    compute.explain_person(acting_person.pk)
    return acting_person


def test_effects_are_contributions_when_verified_else_leave_one_out():
    """What the page colours and ranks by is what its reason was built from."""
    data = {"history": [1, 2], "contribution": [0.3, -0.1], "weights": [0.5, 0.2], "loo_delta": [0.2, 0.4],
            "faithfulness": {"verified": True}}
    assert presentation.effects(data) == [0.3, -0.1]
    data["faithfulness"]["verified"] = False
    assert presentation.effects(data) == [0.2, 0.4]


def test_heatmap_columns_are_the_items_that_matter_not_the_oldest(explained):
    """Columns: history items by their largest |effect| on any row, at most 12, none with no effect."""
    view = selectors.explanation_view(user=explained, item_id=Recommendation.objects.filter(
        user=explained).order_by("rank").first().item_id)
    size = {}
    for row in view.rows:
        for item, e in zip(row.data["history"], presentation.effects(row.data), strict=True):
            size[item] = max(size.get(item, 0.0), abs(e))
    expected = sorted((i for i in size if size[i] > 0), key=lambda i: -size[i])[:presentation.HEATMAP_COLUMNS]
    assert view.columns == expected and len(view.rows) == 10


def test_colour_scale_is_not_set_by_one_outlier():
    """The deepest colour goes to the 80th percentile of sizes: a single huge cell saturates alone."""
    assert presentation.colour_scale([0.1] * 9 + [5.0]) == pytest.approx(0.1)
    assert presentation.colour_scale([]) == 1.0


def test_counting_keeps_items_near_the_strongest():
    """An item counts with at least COUNTS_FLOOR of the largest checked share; at most 3."""
    data = {"history": [1, 2, 3, 4, 5], "contribution": [1.0, 0.5, 0.1, -0.3, 0.6], "weights": [0.0] * 5,
            "loo_delta": [1.0, 0.4, 0.1, -0.3, -0.2],
            "did": [sig.RATED_5, sig.LIKED, sig.VIEWED, sig.RATED_LOW, sig.RATED_5], "faithfulness": {"verified": True}}
    assert [i for i, _s in presentation.counting(data)] == [1, 2]  # 5 did not pass its own removal; 3 is too small
    assert sum(presentation.contributions(data).values()) == pytest.approx(1.0)


def test_payload_weights_say_what_the_person_did(explained, catalogue):
    """Each weight names its item's signal and says it in words; the reason's items likewise."""
    rec = Recommendation.objects.filter(user=explained).order_by("rank").first()
    payload = selectors.explanation_payload(user=explained, item_id=rec.item_id)
    signals = {w["item"]: (w["signal"], w["did"]) for w in payload["weights"]}
    assert signals[catalogue[0].pk] == ("rated_5", "rated 5★")
    assert signals[catalogue[1].pk] == ("liked", "liked")
    assert signals[catalogue[3].pk] == ("rated_low", "rated 2★ or less")
    assert signals[catalogue[4].pk] == ("viewed", "opened its page")
    record = Explanation.objects.get(user=explained, item_id=rec.item_id)
    assert [r["item"] for r in payload["reason_items"]] == record.data["reason"]["items"]
    assert payload["checked"] == (record.verified and record.data["faithfulness"]["rank_after_head_at_3"] >= rec.rank)


def test_a_newcomers_views_stay_views(scored_person):
    """Views the model reads as interactions (nothing chosen yet) are still views on the page."""
    compute.explain_person(scored_person.pk)
    record = Explanation.objects.filter(user=scored_person).first()
    assert set(record.data["signals"]) == {sig.INTERACTED} and set(record.data["did"]) == {sig.VIEWED}
    assert set(record.data["reason"]["did"]) <= {sig.VIEWED}


def test_the_worker_writes_exactly_the_declared_record(scored_person):
    """Every key of a stored record is declared by ExplanationRecord (and its parts), none
    missing, none more: the pages and the API read nothing undeclared."""
    from explain.records import Counterfactual, ExplanationRecord, Reason

    compute.explain_person(scored_person.pk)
    for record in Explanation.objects.filter(user=scored_person):
        data = record.data
        assert set(data) == set(ExplanationRecord.__annotations__)
        assert set(data["reason"]) == set(Reason.__annotations__)
        assert set(data["counterfactual"]) == set(Counterfactual.__annotations__)


def test_a_record_of_an_older_format_is_computed_again(client, scored_person):
    """A record written before the current format is not shown: asking for it queues it
    again, and the worker replaces it."""
    from django.urls import reverse

    from explain.records import RECORD_FORMAT

    compute.explain_person(scored_person.pk)
    record = Explanation.objects.filter(user=scored_person).order_by("rank").first()
    record.data = {**record.data, "format": RECORD_FORMAT - 1}
    record.save()
    assert selectors.explanation_view(user=scored_person, item_id=record.item_id) is None
    client.force_login(scored_person)
    page = client.get(reverse("explanation", args=[record.item_id]))
    assert b'http-equiv="refresh"' in page.content
    assert compute.explain_person(scored_person.pk) >= 1
    record.refresh_from_db()
    assert record.data["format"] == RECORD_FORMAT
    assert selectors.explanation_view(user=scored_person, item_id=record.item_id) is not None
