"""My recommendations and their explanations."""
import jsonschema
import pytest

from tests.explain.conftest import catalogue, model_version, scored_person  # noqa: F401 - fixtures

from recommender.models import Event, Recommendation

URL = "/api/v1/recommendations/"


def test_recommendations_shape(alice, api_client_for, make_item, make_recommendations):
    """The answer carries the model version, when it was computed, and items best first."""
    items = [make_item(genres=("Comedy",)) for _ in range(3)]
    recs = make_recommendations(alice, items)
    body = api_client_for(alice).get(URL).json()
    assert body["model_version"] == recs[0].model_version_id
    assert body["computed_at"]
    assert [r["rank"] for r in body["results"]] == [1, 2, 3]
    first = body["results"][0]
    assert body["feed"] == "personal"
    assert first["item"] == {"id": items[0].pk, "external_id": items[0].external_id, "title": items[0].title,
                             "display_title": items[0].title, "year": items[0].year, "genres": ["Comedy"]}
    assert set(first) == {"item", "rank", "score", "reason"}


def test_no_recommendations_yet(alice, api_client_for):
    assert api_client_for(alice).get(URL).json() == {"feed": "personal", "model_version": None,
                                                     "computed_at": None, "results": []}


def test_k_default_and_cap(alice, api_client_for, make_item, make_recommendations):
    """k defaults to 10 and values above 100 are treated as 100."""
    make_recommendations(alice, [make_item() for _ in range(120)])
    client = api_client_for(alice)
    assert len(client.get(URL).json()["results"]) == 10
    assert len(client.get(URL, {"k": 3}).json()["results"]) == 3
    assert len(client.get(URL, {"k": 1000}).json()["results"]) == 100


@pytest.mark.parametrize("k", ["0", "-1", "abc", "1.5", "99999999999"])
def test_bad_k_answers_400(alice, api_client_for, k):
    response = api_client_for(alice).get(URL, {"k": k})
    assert response.status_code == 400 and "k" in response.json()


def test_items_acted_on_leave_the_list(alice, api_client_for, make_item, make_recommendations):
    """An item the person has since interacted with is not shown (same selector as the pages)."""
    items = [make_item() for _ in range(3)]
    make_recommendations(alice, items)
    Event.objects.create(user=alice, item=items[0], kind="view")
    ids = [r["item"]["id"] for r in api_client_for(alice).get(URL).json()["results"]]
    assert ids == [items[1].pk, items[2].pk]


def test_explanation_of_something_not_recommended_is_404(alice, api_client_for, make_item):
    assert api_client_for(alice).get(f"{URL}{make_item().pk}/explanation/").status_code == 404


def json_schema(schema):
    """Return an OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes "or null"."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: json_schema(v) for k, v in schema.items() if k != "nullable"}
    return {"anyOf": [out, {"type": "null"}]} if schema.get("nullable") else out


def test_explanation_202_then_200_matching_the_schema(scored_person, api_client_for, make_user):
    """Not computed yet: 202 with its status (and it is queued); computed: 200 with the
    documented shape, Bokeh json_items included. Someone else asking gets 404."""
    from explain import compute

    from recommender.api.explanation_schema import EXPLANATION_SCHEMA, PREPARING_SCHEMA

    item_id = scored_person.recommendations.order_by("rank").first().item_id
    url = f"{URL}{item_id}/explanation/"
    first = api_client_for(scored_person).get(url)
    assert first.status_code == 202
    jsonschema.validate(first.json(), PREPARING_SCHEMA)
    compute.explain_person(scored_person.pk)
    ready = api_client_for(scored_person).get(url)
    assert ready.status_code == 200
    body = ready.json()
    jsonschema.validate(body, json_schema(EXPLANATION_SCHEMA))  # every key documented, none more
    assert body["item"] == item_id and body["plots"]["heatmap"]["doc"]
    assert api_client_for(make_user("bob")).get(url).status_code == 404


def test_list_carries_each_explained_reason(scored_person, api_client_for, django_capture_on_commit_callbacks):
    """Once explained, each listed recommendation carries the same reason sentence as its
    explanation; before that, none (and the list does not wait for it)."""
    from explain import compute

    client = api_client_for(scored_person)
    assert all(r["reason"] is None for r in client.get(URL).json()["results"])
    with django_capture_on_commit_callbacks(execute=True):  # as the worker's commit would
        compute.explain_person(scored_person.pk)
    results = client.get(URL).json()["results"]
    explained = [r for r in results if r["reason"]]
    assert explained, "the person's top recommendations are explained"
    for r in explained:
        detail = client.get(f"{URL}{r['item']['id']}/explanation/").json()
        assert r["reason"] == detail["reason"]


def test_api_selector_matches_the_pages_selector(alice, make_item, make_recommendations):
    """The API's SQL-filtered list equals the pages' list (controls, history, k)."""
    from recommender.serving import lists
    from recommender.models import UserControl

    items = [make_item() for _ in range(30)]
    make_recommendations(alice, items)
    Event.objects.create(user=alice, item=items[0], kind="view")
    Event.objects.create(user=alice, item=items[5], kind="rate", value=3)
    UserControl.objects.create(user=alice, item=items[2], kind="not_interested")
    UserControl.objects.create(user=alice, item=items[3], kind="exclude")
    hidden = {items[0].pk, items[5].pk, items[2].pk}  # acted on, or not interested
    for k in (1, 10, 25, 100):
        pages = lists.recommendation_list_for_user(user=alice, k=k)
        ranked = list(Recommendation.objects.filter(user=alice).order_by("rank"))
        assert pages == [r for r in ranked if r.item_id not in hidden][:k]
        rows = lists.recommendation_rows_for_user(user=alice, k=k)
        assert [(r["rank"], r["item"]["id"], r["item"]["genres"], r["computed_at"], r["score"]) for r in rows] == \
            [(r.rank, r.item_id, [g.name for g in r.item.genres.all()], r.computed_at, r.score) for r in pages]
