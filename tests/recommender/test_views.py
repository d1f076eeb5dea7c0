"""Site pages: home, catalogue, item page with its controls, and the person's history.

One test file per module (recommender/views.py), so longer than ~400 lines: a test per
behaviour of each page."""
import pytest
from django.urls import reverse

from recommender.models import ControlKind, Event, EventKind, UserControl
from recommender.activity.services import EventInput, event_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user, client):
    """Return a person who is logged in on `client`."""
    user = make_user("alice")
    client.force_login(user)
    return user


def test_home_renders_popular_items(client, make_user, make_item):
    """The home page lists items others interacted with."""
    item = make_item("Heat")
    event_record(user=make_user("bob"), data=EventInput(item=item, kind=EventKind.VIEW))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Heat" in response.text


def test_popular_items_leave_out_the_persons_own_and_count_once_a_minute(
        make_user, make_item, django_assert_num_queries):
    """Most interacted-with first; a person's own and not-interested items are left out at
    once; the count itself is read from the cache until it expires."""
    from recommender.activity.selectors import item_popular
    from recommender.activity.services import control_set

    a, b, c = make_item("A"), make_item("B"), make_item("C")
    for n, item in enumerate([a, a, a, b, b, c]):
        event_record(user=make_user(f"p{n}"), data=EventInput(item=item, kind=EventKind.VIEW))
    assert [i.title for i in item_popular()] == ["A", "B", "C"]
    me = make_user("me")
    event_record(user=me, data=EventInput(item=a, kind=EventKind.VIEW))
    control_set(user=me, item=c, kind="not_interested")
    assert [i.title for i in item_popular(user=me)] == ["B"]
    event_record(user=make_user("late"), data=EventInput(item=c, kind=EventKind.VIEW))
    with django_assert_num_queries(2):  # items and their genres: no count over the events
        assert [i.title for i in item_popular()] == ["A", "B", "C"]


def test_home_prompts_newcomer_to_rate(client, alice):
    """A logged-in person without history is asked to rate a few items."""
    response = client.get(reverse("home"))
    assert "Rate a few items to get recommendations" in response.text


def test_home_hides_prompt_once_there_is_history(client, alice, make_item):
    """The prompt goes away after a first interaction."""
    event_record(user=alice, data=EventInput(item=make_item(), kind=EventKind.LIKE))
    assert "Rate a few items" not in client.get(reverse("home")).text


def test_catalogue_search_filters_titles(client, make_item):
    """`?q=` keeps only titles containing the text."""
    make_item("Toy Story")
    make_item("Heat")
    response = client.get(reverse("item_list"), {"q": "toy"})
    assert "Toy Story" in response.text and "Heat" not in response.text


def test_catalogue_genre_filter(client, make_item):
    """`?genre=` keeps only items of that genre."""
    make_item("Toy Story", genres=("Animation",))
    make_item("Heat", genres=("Crime",))
    response = client.get(reverse("item_list"), {"genre": "Crime"})
    assert "Heat" in response.text and "Toy Story" not in response.text


def test_catalogue_empty_state(client, make_item):
    """A search without results says so."""
    make_item("Heat")
    assert "No items match" in client.get(reverse("item_list"), {"q": "zzz"}).text


def test_catalogue_paginates_and_keeps_filters(client, make_item):
    """The catalogue shows 24 items a page, and page links keep the search."""
    for n in range(30):
        make_item(f"Film {n:02d}")
    first = client.get(reverse("item_list"), {"q": "Film"})
    assert len(first.context["page_obj"]) == 24
    assert "?q=Film&amp;page=2" in first.text
    second = client.get(reverse("item_list"), {"q": "Film", "page": 2})
    assert len(second.context["page_obj"]) == 6


def test_catalogue_bad_page_number_shows_a_page(client, make_item):
    """A page number that is not a number still answers 200."""
    make_item()
    assert client.get(reverse("item_list"), {"page": "x"}).status_code == 200


# What a browser sends when the person follows a link on this site.
SAME_SITE_NAVIGATION = {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_SEC_FETCH_MODE": "navigate"}


def test_item_page_records_a_view_once_per_visit(client, alice, make_item):
    """Opening an item from this site records one view; reloading it does not add another."""
    item = make_item("Heat", year=1995)
    response = client.get(reverse("item_detail", args=[item.pk]), **SAME_SITE_NAVIGATION)
    assert response.status_code == 200 and "1995" in response.text
    client.get(reverse("item_detail", args=[item.pk]), **SAME_SITE_NAVIGATION)
    assert Event.objects.filter(user=alice, item=item, kind=EventKind.VIEW).count() == 1


def test_an_item_opened_by_typing_or_a_bookmark_records_a_view(client, alice, make_item):
    """Sec-Fetch-Site `none` is the person's own navigation (address bar, bookmark)."""
    item = make_item()
    client.get(reverse("item_detail", args=[item.pk]), HTTP_SEC_FETCH_SITE="none", HTTP_SEC_FETCH_MODE="navigate")
    assert Event.objects.filter(user=alice, item=item, kind=EventKind.VIEW).count() == 1


@pytest.mark.parametrize("headers", [
    {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_SEC_FETCH_MODE": "navigate"},  # a link on another site
    {"HTTP_SEC_FETCH_SITE": "same-site", "HTTP_SEC_FETCH_MODE": "navigate"},  # another subdomain
    {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_SEC_FETCH_MODE": "no-cors"},  # an <img> or fetch
    {**SAME_SITE_NAVIGATION, "HTTP_SEC_PURPOSE": "prefetch"},  # the browser guessing ahead
    {},  # no Fetch Metadata at all: a GET anyone could cause
])
def test_an_item_page_others_can_make_you_open_records_nothing(client, alice, make_item, headers):
    """Another site's link (the session cookie is sent, SameSite=Lax) must not steer someone's
    recommendations: the page shows, no view is stored."""
    item = make_item("Heat")
    response = client.get(reverse("item_detail", args=[item.pk]), **headers)
    assert response.status_code == 200 and "Heat" in response.text
    assert not Event.objects.filter(user=alice).exists()


def test_item_page_anonymous_records_nothing(client, make_item):
    """A visitor sees the item and a log-in link, and no event is stored."""
    item = make_item()
    response = client.get(reverse("item_detail", args=[item.pk]))
    assert response.status_code == 200 and reverse("login") in response.text
    assert not Event.objects.exists()


def test_item_page_unknown_id_is_404(client):
    """An id that does not exist answers 404."""
    response = client.get(reverse("item_detail", args=[999]))
    assert response.status_code == 404 and "We could not find that page" in response.text


def test_rate_stores_a_rating(client, alice, make_item):
    """Posting a rating stores a `rate` event with its value and shows it."""
    item = make_item()
    response = client.post(reverse("item_rate", args=[item.pk]), {"value": "4"}, follow=True)
    assert Event.objects.get(user=alice, kind=EventKind.RATE).value == 4.0
    assert "You rated this 4 out of 5" in response.text


@pytest.mark.parametrize("value", ["0", "6", "abc", "", "4.5"])
def test_rate_bad_value_stores_nothing(client, alice, make_item, value):
    """A rating outside 1–5 is refused with a message and stores nothing."""
    item = make_item()
    response = client.post(reverse("item_rate", args=[item.pk]), {"value": value}, follow=True)
    assert response.status_code == 200
    assert "Choose a rating from 1 to 5 stars" in response.text
    assert not Event.objects.filter(kind=EventKind.RATE).exists()


def test_rate_unknown_item_is_404(client, alice):
    """Rating an item that does not exist answers 404 and stores nothing."""
    assert client.post(reverse("item_rate", args=[999]), {"value": "3"}).status_code == 404
    assert not Event.objects.exists()


def test_rate_needs_post_and_login(client, make_item):
    """GET is not allowed; an anonymous POST is sent to log in."""
    item = make_item()
    url = reverse("item_rate", args=[item.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"value": "3"})
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert not Event.objects.exists()


def test_like_and_undo(client, alice, make_item):
    """Like stores a `like` event and the page shows it; undo removes it."""
    item = make_item()
    response = client.post(reverse("item_like", args=[item.pk]), follow=True)
    assert Event.objects.filter(user=alice, kind=EventKind.LIKE).count() == 1
    assert response.context["state"]["liked"] is True
    client.post(reverse("item_like", args=[item.pk]), {"undo": "1"})
    assert not Event.objects.filter(kind=EventKind.LIKE).exists()


def test_not_interested_sets_control(client, alice, make_item):
    """Not interested stores the event and the control; undo removes the control."""
    item = make_item()
    client.post(reverse("item_not_interested", args=[item.pk]))
    assert Event.objects.filter(user=alice, kind=EventKind.NOT_INTERESTED).exists()
    assert UserControl.objects.filter(user=alice, item=item, kind=ControlKind.NOT_INTERESTED).exists()
    client.post(reverse("item_not_interested", args=[item.pk]), {"undo": "1"})
    assert not UserControl.objects.exists()


def test_history_needs_login(client):
    """An anonymous visitor is sent to log in."""
    response = client.get(reverse("history"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_history_empty_state(client, alice):
    """A person without events gets a link to the catalogue."""
    response = client.get(reverse("history"))
    assert "Nothing here yet" in response.text and reverse("item_list") in response.text


def test_history_lists_items_latest_first(client, alice, make_user, make_item):
    """History shows one row per item of the person's, the latest touched first, and
    nobody else's."""
    old, new, theirs = make_item("Old Film"), make_item("New Film"), make_item("Their Film")
    event_record(user=alice, data=EventInput(item=old, kind=EventKind.VIEW))
    event_record(user=alice, data=EventInput(item=new, kind=EventKind.RATE, value=5))
    event_record(user=make_user("bob"), data=EventInput(item=theirs, kind=EventKind.LIKE))
    response = client.get(reverse("history"))
    assert response.text.index("New Film") < response.text.index("Old Film")
    assert "Their Film" not in response.text
    assert [row["item"] for row in response.context["rows"]] == [new, old]
    event_record(user=alice, data=EventInput(item=old, kind=EventKind.LIKE))  # touched again: first
    assert [row["item"] for row in client.get(reverse("history")).context["rows"]] == [old, new]


def test_history_row_says_what_the_person_did(client, alice, make_item):
    """One row for an item opened three times, rated twice and liked: it shows the latest
    rating (not a row per rating), the like and the number of views."""
    item = make_item("Heat")
    for kind, value in [("view", None), ("rate", 3), ("view", None), ("like", None), ("rate", 4), ("view", None)]:
        event_record(user=alice, data=EventInput(item=item, kind=kind, value=value))
    response = client.get(reverse("history"))
    (row,) = response.context["rows"]
    assert (row["rating"], row["likes"], row["views"]) == (4, 1, 3)
    assert response.text.count('class="history-row') == 1
    assert "rated 4★" in response.text and "liked" in response.text and "opened 3 times" in response.text
    assert "rated 3★" not in response.text


def test_history_paginates_by_item(client, alice, make_item):
    """History shows 25 items a page, however many events each has."""
    for _ in range(30):
        item = make_item()
        for _ in range(2):
            event_record(user=alice, data=EventInput(item=item, kind=EventKind.VIEW))
    assert len(client.get(reverse("history")).context["rows"]) == 25
    assert len(client.get(reverse("history"), {"page": 2}).context["rows"]) == 5


def test_history_deletes_an_items_events_in_one_action(client, alice, make_user, make_item):
    """"Delete from history" removes every event of the person on that item (and marks the
    list stale), nobody else's and no other item's; an item not in the history is 404."""
    from recommender.models import ScoringState

    heat, other = make_item("Heat"), make_item("Other")
    for kind in ("view", "like", "view"):
        event_record(user=alice, data=EventInput(item=heat, kind=kind))
    event_record(user=alice, data=EventInput(item=other, kind="view"))
    event_record(user=make_user("bob"), data=EventInput(item=heat, kind="view"))
    ScoringState.objects.filter(user=alice).update(stale_since=None)
    response = client.post(reverse("history_item_delete", args=[heat.pk]), follow=True)
    assert "was deleted from your history" in response.text
    assert list(Event.objects.filter(user=alice).values_list("item__title", flat=True)) == ["Other"]
    assert Event.objects.filter(item=heat).count() == 1  # bob's
    assert ScoringState.objects.get(user=alice).stale_since is not None
    assert client.post(reverse("history_item_delete", args=[heat.pk])).status_code == 404


@pytest.mark.parametrize("kind", [ControlKind.EXCLUDE, ControlKind.NOT_INTERESTED])
def test_history_control_toggles(client, alice, make_item, kind):
    """A control can be turned on and off from the history page."""
    item = make_item()
    url = reverse("control_toggle")
    client.post(url, {"item": item.pk, "control": kind, "on": "1"})
    assert UserControl.objects.filter(user=alice, item=item, kind=kind).exists()
    client.post(url, {"item": item.pk, "control": kind, "on": "0"})
    assert not UserControl.objects.exists()


def test_history_unknown_control_stores_nothing(client, alice, make_item):
    """An unknown control is refused with a message."""
    item = make_item()
    response = client.post(
        reverse("control_toggle"), {"item": item.pk, "control": "bogus", "on": "1"}, follow=True
    )
    assert "That control does not exist" in response.text
    assert not UserControl.objects.exists()


def test_history_control_unknown_item_is_404(client, alice):
    """A control for an item that does not exist answers 404."""
    response = client.post(reverse("control_toggle"), {"item": 999, "control": "exclude", "on": "1"})
    assert response.status_code == 404


def test_history_control_ignores_offsite_next(client, alice, make_item):
    """A `next` pointing at another site is ignored."""
    item = make_item()
    response = client.post(
        reverse("control_toggle"),
        {"item": item.pk, "control": "exclude", "on": "1", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("history")


def test_event_delete(client, alice, make_item):
    """A person can delete one of their events."""
    event, _ = event_record(user=alice, data=EventInput(item=make_item(), kind=EventKind.VIEW))
    response = client.post(reverse("event_delete", args=[event.pk]))
    assert response.status_code == 302
    assert not Event.objects.exists()


def test_event_delete_of_someone_else_is_404(client, alice, make_user, make_item):
    """Another person's event answers 404 and stays."""
    event, _ = event_record(user=make_user("bob"), data=EventInput(item=make_item(), kind=EventKind.VIEW))
    assert client.post(reverse("event_delete", args=[event.pk])).status_code == 404
    assert Event.objects.filter(pk=event.pk).exists()


def test_history_offers_the_controls_on_every_row(client, alice, make_item):
    """Each item's row carries both controls and the delete button, with the control's state."""
    items = [make_item() for _ in range(3)]
    for item in items:
        event_record(user=alice, data=EventInput(item=item, kind=EventKind.VIEW))
    UserControl.objects.create(user=alice, item=items[1], kind=ControlKind.EXCLUDE)
    html = client.get(reverse("history")).content.decode()
    assert html.count('data-control="exclude"') == html.count('data-control="not_interested"') == 3
    assert html.count('data-control="delete"') == 3
    assert html.count('data-control="exclude" aria-pressed="true"') == 1


def test_huge_ids_answer_404_not_500(client, alice):
    """Ids beyond the database's integer range are simply unknown."""
    huge = 10**30
    assert client.get(f"/items/{huge}/").status_code == 404
    assert client.post(f"/history/events/{huge}/delete/").status_code == 404
    response = client.post(reverse("control_toggle"), {"item": huge, "control": "exclude", "on": "1"})
    assert response.status_code == 404


def test_home_shows_stored_recommendations(client, make_user, make_item):
    """A person with history and a stored list sees it; items they acted on are hidden."""
    from django.utils import timezone

    from recommender.models import ModelVersion, Recommendation
    from recommender.activity.services import EventInput, event_record

    user = make_user("reco")
    seen, fresh, acted = make_item("Seen one"), make_item("Fresh pick"), make_item("Acted on")
    event_record(user=user, data=EventInput(item=seen, kind="view"))
    version = ModelVersion.objects.create(artifact_path="x", checksum="y", is_active=True)
    for rank, item in enumerate([acted, fresh], start=1):
        Recommendation.objects.create(user=user, item=item, rank=rank, score=1.0 / rank,
                                      model_version=version, computed_at=timezone.now())
    event_record(user=user, data=EventInput(item=acted, kind="like"))
    client.force_login(user)
    html = client.get("/").content.decode()
    section = html[html.index("Recommended for you"):html.index("Popular right now")]
    assert "Fresh pick" in section and "Acted on" not in section


def test_home_says_recommendations_are_being_prepared(client, make_user, make_item):
    """A person with history but no stored list yet is told it is being prepared."""
    from recommender.activity.services import EventInput, event_record

    user = make_user("early")
    event_record(user=user, data=EventInput(item=make_item(), kind="view"))
    client.force_login(user)
    assert "being prepared" in client.get("/").content.decode()


def test_item_page_shows_genres_year_own_and_average_rating(client, alice, make_user, make_item):
    """Genres (translated in Chinese), year, the person's own rating, and the average of
    everyone's latest ratings with their count; and that opening the page is recorded."""
    item = make_item("Heat", genres=("Crime", "Thriller"), year=1995)
    event_record(user=make_user("bob"), data=EventInput(item=item, kind=EventKind.RATE, value=2))
    event_record(user=make_user("carl"), data=EventInput(item=item, kind=EventKind.RATE, value=5))
    event_record(user=alice, data=EventInput(item=item, kind=EventKind.RATE, value=1))
    event_record(user=alice, data=EventInput(item=item, kind=EventKind.RATE, value=4))  # re-rated
    html = client.get(reverse("item_detail", args=[item.pk])).content.decode()
    assert "1995" in html and "Crime" in html and "Thriller" in html
    assert "You rated this 4 out of 5." in html
    assert "3.7 out of 5, from 3 ratings" in html  # (2 + 5 + 4) / 3, alice's latest counted once
    assert "Opening this page is recorded in your history" in html
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("item_detail", args=[item.pk])).content.decode()
    assert "犯罪" in html and "惊悚" in html


def test_feed_status_returns_the_list_section_alone(client, alice, make_item):
    """/feed/status/ answers the home page's list section only, never cached."""
    event_record(user=alice, data=EventInput(item=make_item(), kind=EventKind.LIKE))
    response = client.get(reverse("feed_status"))
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    assert response.text.lstrip().startswith('<div id="feed-slot"') and "<html" not in response.text
    assert 'data-refresh-url="/feed/status/"' in response.text  # no model: it keeps asking


def test_feed_status_needs_a_login(client):
    assert client.get(reverse("feed_status")).status_code == 302


def test_feed_choice_is_remembered(client, alice, make_item):
    """Choosing "Newest" on the home page shows newest items from then on."""
    make_item("Old", year=1950)
    make_item("New", year=2024)
    client.post(reverse("feed_choose"), {"feed": "newest"})
    html = client.get("/").content.decode()
    assert "Newest releases" in html and html.index(">New<") < html.index(">Old<")
    assert client.post(reverse("feed_choose"), {"feed": "loud"}, follow=True).status_code == 200
    assert "Newest releases" in client.get("/").content.decode()


def test_settings_page_controls(client, alice, make_item):
    """The settings page resets (with undo) and limits genres (with undo)."""
    from recommender.models import Genre, GenreControl, Preferences

    make_item("Heat", genres=("Crime",))
    html = client.get(reverse("preferences")).content.decode()
    assert "Reset my recommendations" in html and "Undo the reset" not in html
    client.post(reverse("recommendations_reset"))
    assert Preferences.objects.get(user=alice).reset_at is not None
    assert "Undo the reset" in client.get(reverse("preferences")).content.decode()
    client.post(reverse("recommendations_reset"), {"undo": "1"})
    assert Preferences.objects.get(user=alice).reset_at is None
    response = client.post(reverse("recommendations_reset"), {"undo": "1"}, follow=True)
    assert "There is no reset to undo." in response.text
    crime = Genre.objects.get(name="Crime")
    client.post(reverse("genre_control"), {"genre": crime.pk, "control": "exclude"})
    assert GenreControl.objects.get(user=alice).kind == "exclude"
    client.post(reverse("genre_control"), {"genre": crime.pk, "control": "off"})
    assert not GenreControl.objects.exists()
    assert client.post(reverse("genre_control"), {"genre": 999, "control": "less"}).status_code == 404
    response = client.post(reverse("genre_control"), {"genre": crime.pk, "control": "loud"}, follow=True)
    assert "does not exist" in response.text and not GenreControl.objects.exists()


def test_how_recommendations_work_is_public_and_names_the_parameters(client, settings):
    """The page names the list length, the retraining rule and the quality gate."""
    settings.RECSITE_TOP_N = 37
    html = client.get(reverse("how_it_works")).content.decode()
    assert "How recommendations work here" in html and "37 best-scoring items" in html
    assert "checked by removal" in html and "Reset my recommendations" in html
    assert reverse("how_it_works") in client.get("/").content.decode()  # linked from every page's footer
