"""The "why this?" page, its 404s, the CSP header and the staff pages."""
from django.urls import reverse

from explain import compute
from explain.models import Explanation
from recommender.models import Recommendation

from ..conftest import PASSWORD


def login(client, user):
    # Through the login page: axes refuses authenticate() calls that carry no request.
    response = client.post(reverse("login"), {"username": user.get_username(), "password": PASSWORD})
    assert response.status_code == 302, response.status_code


def top_item(person) -> int:
    return Recommendation.objects.filter(user=person).order_by("rank").values_list("item_id", flat=True)[0]


def test_page_shows_being_prepared_then_the_explanation(client, scored_person):
    """Before computing: a reloading "being prepared" page; after: reason, plots and tables."""
    login(client, scored_person)
    url = reverse("explanation", args=[top_item(scored_person)])
    first = client.get(url)
    assert first.status_code == 200 and b'http-equiv="refresh"' in first.content
    assert Explanation.objects.filter(user=scored_person, status="queued").exists()
    compute.explain_person(scored_person.pk)
    page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    for target in ("explain-heatmap", "explain-heads", "explain-graph"):
        assert f'id="{target}-data"' in text and f'data-bokeh-item="{target}-data"' in text
    assert "bokeh/bokeh.min" in text and "<script>" not in text  # no inline script
    assert "Content-Security-Policy" in page.headers and "unsafe-eval" not in page.headers["Content-Security-Policy"]


def test_another_persons_recommendation_is_404(client, scored_person, make_user):
    """Someone else's recommended item answers 404, as does an unknown one."""
    login(client, make_user("bob"))
    assert client.get(reverse("explanation", args=[top_item(scored_person)])).status_code == 404
    assert client.get(reverse("explanation", args=[10**9])).status_code == 404


def test_a_link_from_an_older_list_says_so_and_points_at_the_current_one(client, scored_person):
    """An item that has left the person's list answers 404 with a way back to the list."""
    login(client, scored_person)
    item = top_item(scored_person)
    Recommendation.objects.filter(user=scored_person, item_id=item).delete()  # a refresh dropped it
    page = client.get(reverse("explanation", args=[item]))
    text = page.content.decode()
    assert page.status_code == 404
    assert "This is not one of your current recommendations" in text
    assert "See your current recommendations" in text


def test_home_links_each_recommendation_to_its_page(client, scored_person):
    """Every recommendation card on the home page has a "why this?" link."""
    login(client, scored_person)
    text = client.get("/").content.decode()
    assert f"/recommendations/{top_item(scored_person)}/why/" in text


def test_staff_open_anyones_explanation_and_the_model_page(client, scored_person, make_user):
    """Staff reach a person's page from the admin; the model page renders its plots."""
    compute.explain_person(scored_person.pk)
    login(client, make_user("admin", is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:explain_explanation_changelist"))
    page_url = reverse("admin:explain_explanation_page", args=[scored_person.pk, top_item(scored_person)])
    assert page_url in listing.content.decode()
    page = client.get(page_url)
    assert page.status_code == 200 and b"Staff view" in page.content and b"data-control" not in page.content
    model = client.get(reverse("admin:explain_model"))
    assert model.status_code == 200 and b"model-curves-data" in model.content


def test_non_staff_cannot_open_staff_pages(client, scored_person):
    """The admin's explanation pages send other people to the login page."""
    login(client, scored_person)
    url = reverse("admin:explain_explanation_page", args=[scored_person.pk, top_item(scored_person)])
    assert client.get(url).status_code == 302
