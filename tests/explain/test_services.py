"""Explanation records: computing, requesting and reading them."""
import pytest

from explain import compute, selectors, services
from explain.models import Explanation, ExplanationStatus
from recommender.models import Recommendation
from recommender.serving.scoring import score_people


def first_rec(person) -> Recommendation:
    return Recommendation.objects.filter(user=person).order_by("rank").first()


def test_compute_stores_a_record_per_shown_recommendation(scored_person):
    """Every one of the top 12 gets a ready record; running again computes nothing."""
    assert compute.explain_person(scored_person.pk) == 12
    assert Explanation.objects.filter(user=scored_person, status=ExplanationStatus.READY).count() == 12
    assert compute.explain_person(scored_person.pk) == 0


def test_request_queues_then_reports_ready(scored_person, django_capture_on_commit_callbacks):
    """A request for a missing explanation queues it once; after computing it is ready."""
    item_id = first_rec(scored_person).item_id
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.explanation_request(user=scored_person, item_id=item_id) == "queued"
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.explanation_request(user=scored_person, item_id=item_id) == "queued"
    assert callbacks == []
    assert selectors.explanation_payload(user=scored_person, item_id=item_id) is None
    compute.explain_person(scored_person.pk)
    assert services.explanation_request(user=scored_person, item_id=item_id) == "ready"


def test_payload_has_the_api_shape(scored_person):
    """The payload carries reason, weights, faithfulness, counterfactual, graph and plots."""
    compute.explain_person(scored_person.pk)
    rec = first_rec(scored_person)
    payload = selectors.explanation_payload(user=scored_person, item_id=rec.item_id)
    assert payload["item"] == rec.item_id and payload["reason"]
    # one weight per history item; choices share a softmax with a null slot: at most 1 in all
    assert {w["item"] for w in payload["weights"]} == set(Explanation.objects.get(
        user=scored_person, item_id=rec.item_id).data["history"])
    assert all(0.0 <= w["weight"] <= 1.0 for w in payload["weights"])
    assert sum(w["weight"] for w in payload["weights"]) <= 1.0 + 1e-3
    contributions = [w["contribution"] for w in payload["weights"]]
    assert contributions == sorted(contributions, reverse=True)
    assert {"comprehensiveness_at_3", "random_at_3", "loo_at_3", "kendall_tau", "verified"} <= set(payload["faithfulness"])
    assert set(payload["counterfactual"]) >= {"removed", "replacement"}
    assert payload["graph"]["nodes"] and set(payload["plots"]) == {"heatmap", "graph"}
    assert payload["plots"]["heatmap"]["target_id"] == "explain-heatmap"


def test_unknown_or_foreign_item_raises(scored_person, make_user, catalogue):
    """An item outside the person's list raises Recommendation.DoesNotExist."""
    with pytest.raises(Recommendation.DoesNotExist):
        selectors.explanation_payload(user=scored_person, item_id=catalogue[0].pk)  # watched
    with pytest.raises(Recommendation.DoesNotExist):
        services.explanation_request(user=make_user("bob"), item_id=first_rec(scored_person).item_id)


def test_a_new_list_makes_old_records_stale(scored_person):
    """After rescoring, the old record no longer counts until recomputed."""
    compute.explain_person(scored_person.pk)
    score_people([scored_person.pk], version_id=None)
    item_id = first_rec(scored_person).item_id
    assert selectors.explanation_payload(user=scored_person, item_id=item_id) is None
    assert compute.explain_person(scored_person.pk) == 12
    assert selectors.explanation_payload(user=scored_person, item_id=item_id) is not None


def test_stored_lists_send_urgent_and_background_tasks(monkeypatch):
    """The recommender announces stored lists (``recommendations_stored``) without knowing
    this app: a person's refresh goes out at once, a bulk rescoring in low-priority chunks."""
    from recommender.serving.hooks import recommendations_stored
    from recsite import dispatch

    sent = []
    monkeypatch.setattr(dispatch, "send", lambda task, *args, priority=None: sent.append((task, list(args), priority)))
    recommendations_stored.send(sender=None, user_ids=[7], urgent=True)
    recommendations_stored.send(sender=None, user_ids=list(range(40)), urgent=False)
    assert sent[0] == ("explain.tasks.explain_person", [7], None)
    assert [n for n, _a, _p in sent[1:]] == ["explain.tasks.explain_people"] * 3
    assert [len(a[0]) for _n, a, _p in sent[1:]] == [16, 16, 8]
    assert all(p == services.BACKGROUND_PRIORITY for _n, _a, p in sent[1:])


def test_reasons_for_a_list(scored_person):
    """Only explained recommendations get a reason sentence."""
    ids = list(Recommendation.objects.filter(user=scored_person).values_list("item_id", flat=True))
    assert selectors.explanation_reasons(user=scored_person, item_ids=ids) == {}
    compute.explain_person(scored_person.pk)
    found = selectors.explanation_reasons(user=scored_person, item_ids=ids)
    assert len(found) == 12 and all(isinstance(v, str) and v for v in found.values())


def test_a_dead_broker_is_not_retried_for_every_person(monkeypatch):
    """After one failed send, further sends are skipped for a while instead of each waiting
    (the one back-off in recsite.dispatch, shared by every queue)."""
    from recsite import dispatch
    from recsite.celery import app

    calls = []

    def dead_broker(name, args, priority=None):
        calls.append((name, list(args)))
        raise ConnectionError("broker down")

    monkeypatch.setattr(app, "send_task", dead_broker)
    dispatch.broker_forgotten()
    assert dispatch.send("explain.tasks.explain_person", 1) is False
    assert dispatch.send("explain.tasks.explain_people", [2], priority=9) is False
    assert calls == [("explain.tasks.explain_person", [1])]
    dispatch.broker_forgotten()