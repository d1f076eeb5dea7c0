"""Each control a person has changes their next list as it should: the feed switch, less
of / never a genre (and undo), reset my recommendations (and undo), not recording views,
withdrawing a like, deleting an item's events. Lists are computed by the real scorer on a
tiny model (tests/explain/conftest.py), as the scoring worker does."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recommender import feeds
from recommender.activity import selectors as activity, sequences, services
from recommender.models import (
    Event,
    FeedKind,
    Genre,
    GenreControl,
    Item,
    Preferences,
    Recommendation,
    ScoringState,
    TrainingRun,
)
from recommender.serving.scoring import score_people
from recommender.activity.services import EventInput, event_record
from tests.recommender.test_views import SAME_SITE_NAVIGATION
from tests.explain.conftest import GENRES, catalogue, model_version, scored_person, watch  # noqa: F401

pytestmark = pytest.mark.django_db


def listed(person, k: int = 12) -> list[Item]:
    """Return the items of the person's home list, as the page shows them."""
    feed = feeds.home_feed(user=person, k=k)
    return feed.items if feed.feed != FeedKind.PERSONAL else [r.item for r in feed.recommendations]


def genres_of(items: list[Item]) -> list[set[str]]:
    return [{g.name for g in item.genres.all()} for item in items]


def input_items(person) -> list[int]:
    """Return the item ids of the person's model input, oldest first (an entry is an item
    id, or an (item id, signal) pair where events carry their kind and value)."""
    entries = sequences.histories([person.pk], max_len=50)[person.pk]
    return [e[0] if isinstance(e, tuple) else e for e in entries]


def rescore(person) -> None:
    """Do what the scoring worker does when the person's list is stale."""
    assert ScoringState.objects.get(user=person).stale_since is not None, "the control did not ask for a new list"
    score_people([person.pk], version_id=None)


# ---- the feed ------------------------------------------------------------------------------

def test_feed_switch_popular_and_newest_and_back(scored_person, make_user):
    """Popular: the most interacted-with items, the same for everyone; newest: the latest
    releases first; both remembered; back to "for you" shows the stored list again."""
    person = scored_person
    personal = listed(person)
    assert personal and all(r.rank for r in Recommendation.objects.filter(user=person))
    items = list(Item.objects.order_by("pk"))
    for n, item in enumerate(items[:4]):  # items 0..3 get 4, 3, 2, 1 interactions from others
        for p in range(4 - n):
            event_record(user=make_user(f"fan{n}-{p}"), data=EventInput(item=item, kind="like"))
    Item.objects.filter(pk=items[7].pk).update(year=2030)
    Item.objects.filter(pk=items[8].pk).update(year=2029)

    services.preferences_update(user=person, feed=FeedKind.POPULAR)
    assert Preferences.objects.get(user=person).feed == FeedKind.POPULAR
    popular = listed(person)
    assert popular[:4] == items[:4]  # includes what the person watched: not based on the profile
    newcomer = make_user("someone")
    services.preferences_update(user=newcomer, feed=FeedKind.POPULAR)
    assert listed(newcomer) == popular  # the same for everyone
    services.preferences_update(user=person, feed=FeedKind.NEWEST)
    assert listed(person)[:2] == [items[7], items[8]]
    services.preferences_update(user=person, feed=FeedKind.PERSONAL)
    assert listed(person) == personal


def test_feed_switch_refuses_an_unknown_feed(scored_person):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.preferences_update(user=scored_person, feed="loud")
    assert not Preferences.objects.filter(user=scored_person).exists()


# ---- genres --------------------------------------------------------------------------------

def test_never_a_genre_leaves_it_out_at_once_and_after_rescoring_and_undo_brings_it_back(scored_person):
    """"Never": the shown list drops the genre at once; the worker's new list holds none of
    it and is full again; undo restores the genre."""
    person = scored_person
    before = listed(person)
    drama = Genre.objects.get(name="Drama")
    assert any("Drama" in g for g in genres_of(before))
    services.genre_control_set(user=person, genre=drama, kind="exclude")
    assert not any("Drama" in g for g in genres_of(listed(person)))
    rescore(person)
    stored = list(Recommendation.objects.filter(user=person).select_related("item"))
    assert stored and not any("Drama" in g for g in genres_of([r.item for r in stored]))
    assert services.genre_control_remove(user=person, genre=drama) == "exclude"
    rescore(person)
    assert listed(person) == before


def test_less_of_a_genre_allows_one_in_five(scored_person):
    """"Less": at most one item of the genre in any five consecutive entries; the others
    keep their order; undo gives the original order back."""
    person = scored_person
    before = listed(person, k=12)
    comedy = Genre.objects.get(name="Comedy")
    services.genre_control_set(user=person, genre=comedy, kind="less")
    after = listed(person, k=12)
    flags = ["Comedy" in g for g in genres_of(after)]
    assert all(sum(flags[i:i + 5]) <= 1 for i in range(len(flags)))
    others = [i for i in before if "Comedy" not in genres_of([i])[0]]
    assert [i for i in after if "Comedy" not in genres_of([i])[0]] == others[:len(after) - sum(flags)]
    assert sum(flags) >= 1
    services.genre_control_remove(user=person, genre=comedy)
    assert listed(person, k=12) == before


def test_less_then_never_replaces_the_control(scored_person):
    drama = Genre.objects.get(name="Drama")
    services.genre_control_set(user=scored_person, genre=drama, kind="less")
    _control, changed = services.genre_control_set(user=scored_person, genre=drama, kind="exclude")
    assert changed and list(GenreControl.objects.values_list("kind", flat=True)) == ["exclude"]


def test_genre_controls_apply_to_the_popular_and_newest_feeds(scored_person, make_user, catalogue):  # noqa: F811
    """Explicit choices hold in the feeds that are not based on the profile too."""
    person = scored_person
    for item in catalogue[:6]:
        event_record(user=make_user(f"f{item.pk}"), data=EventInput(item=item, kind="like"))
    services.genre_control_set(user=person, genre=Genre.objects.get(name="Animation"), kind="exclude")
    for feed in (FeedKind.POPULAR, FeedKind.NEWEST):
        services.preferences_update(user=person, feed=feed)
        shown = listed(person)
        assert shown and not any("Animation" in g for g in genres_of(shown)), feed


@pytest.mark.parametrize(("ranked", "less", "expected"), [
    ("LLLooooooo", "L", "LooooLooo"),
    ("ooooooooLL", "L", "ooooooooL"),
    ("oLoLoLoL", "L", "oLooo"),
    ("LLL", "L", "L"),
    ("oooo", "", "oooo"),
])
def test_demote_genres_keeps_one_in_every_five(ranked, less, expected):
    """The pure reordering: a "less" entry waits until four others came since the last one,
    and is left out when the others run out; every other entry keeps its order."""
    entries = list(enumerate(ranked))
    out = activity.demote_genres(entries, lambda e: {e[1]}, set(less))
    assert "".join(c for _n, c in out) == expected
    assert [e for e in out if e[1] == "o"] == [e for e in entries if e[1] == "o"]
    assert [e for e in out if e[1] == "L"] == [e for e in entries if e[1] == "L"][:expected.count("L")]


# ---- reset ---------------------------------------------------------------------------------

def test_reset_clears_the_influence_of_the_past_and_keeps_the_history(scored_person, catalogue):  # noqa: F811
    """After a reset the stored list is dropped at once; the model's input holds only later
    events (nothing yet: no list, a fresh start); the history page still shows everything;
    a new rating after the reset is the whole input; undo gives the whole history back."""
    person = scored_person
    # the person watched six films and rated three of them (the model reads the ratings
    # as choices and the other views as weak evidence)
    start = timezone.now() - timedelta(hours=1)
    Event.objects.bulk_create([Event(user=person, item=it, kind="rate", value=5.0,
                                     occurred_at=start + timedelta(minutes=n)) for n, it in enumerate(catalogue[:3])])
    score_people([person.pk], version_id=None)
    history = list(Event.objects.filter(user=person).values_list("pk", flat=True))
    before = listed(person)
    services.recommendations_reset(user=person)
    assert not Recommendation.objects.filter(user=person).exists()
    assert input_items(person) == []
    assert list(Event.objects.filter(user=person).values_list("pk", flat=True)) == history
    assert feeds.home_feed(user=person).state == feeds.ListState.FRESH_START
    rescore(person)
    assert not Recommendation.objects.filter(user=person).exists()  # nothing to go on yet

    event_record(user=person, data=EventInput(item=catalogue[10], kind="rate", value=5))
    assert input_items(person) == [catalogue[10].pk]
    rescore(person)
    after = listed(person)
    assert after and after != before
    assert {i.pk for i in after}.isdisjoint({e.item_id for e in Event.objects.filter(user=person)})

    services.recommendations_reset_undo(user=person)
    assert input_items(person) == [i.pk for i in catalogue[3:6] + catalogue[:3]] + [catalogue[10].pk]
    rescore(person)
    assert listed(person) != after
    with pytest.raises(services.NothingToUndo):
        services.recommendations_reset_undo(user=person)


def test_reset_leaves_the_earlier_events_out_of_training_too(scored_person, make_user, catalogue):  # noqa: F811
    """Training rows skip a reset person's earlier events and keep everyone else's."""
    other = make_user("other")
    watch(other, catalogue[6:9])
    watermark = sequences.event_watermark()
    users = {row[0] for row in sequences.interaction_rows(watermark=watermark)}
    assert users == {scored_person.pk, other.pk}
    services.recommendations_reset(user=scored_person)
    assert {row[0] for row in sequences.interaction_rows(watermark=watermark)} == {other.pk}


def test_a_second_reset_is_undone_to_the_first(scored_person):
    first = services.recommendations_reset(user=scored_person).reset_at
    services.recommendations_reset(user=scored_person)
    assert services.recommendations_reset_undo(user=scored_person).reset_at == first


# ---- views, likes, deleting ----------------------------------------------------------------

def test_views_are_not_recorded_when_turned_off(client, make_user, make_item):
    """With recording off, opening an item page stores nothing and says so; on again, it does."""
    person, item = make_user("viewer"), make_item("Heat")
    client.force_login(person)
    services.preferences_update(user=person, record_views=False)
    response = client.get(reverse("item_detail", args=[item.pk]), **SAME_SITE_NAVIGATION)
    assert "opening this page was not recorded" in response.text
    assert not Event.objects.filter(user=person).exists()
    client.post(reverse("view_recording"), {"on": "1"})
    response = client.get(reverse("item_detail", args=[item.pk]), **SAME_SITE_NAVIGATION)
    assert "Opening this page is recorded in your history" in response.text
    assert list(Event.objects.filter(user=person).values_list("kind", flat=True)) == ["view"]


def test_withdrawing_a_like_asks_for_a_new_list(make_user, make_item):
    """Withdrawing a like marks the list stale, as deleting an event does."""
    person, item = make_user(), make_item()
    event_record(user=person, data=EventInput(item=item, kind="like"))
    ScoringState.objects.filter(user=person).update(stale_since=None)
    assert services.event_like_withdraw(user=person, item=item) == 1
    assert ScoringState.objects.get(user=person).stale_since is not None


def test_withdrawing_a_like_brings_back_the_list_from_before_it(scored_person):  # noqa: F811
    """Liking the first item takes it out of the list (it is seen) and changes the rest;
    withdrawing the like gives back, after rescoring, exactly the list from before."""
    person = scored_person
    before = [i.pk for i in listed(person)]
    top = Item.objects.get(pk=before[0])
    event_record(user=person, data=EventInput(item=top, kind="like"))
    rescore(person)
    liked = [i.pk for i in listed(person)]
    assert top.pk not in liked
    assert services.event_like_withdraw(user=person, item=top) == 1
    rescore(person)
    assert [i.pk for i in listed(person)] == before


def test_deleting_an_item_from_the_history_gives_the_list_of_a_history_without_it(
        scored_person, catalogue, make_user):  # noqa: F811
    """After deleting an item's events, the next list is the one of a person who never had it."""
    person, twin = scored_person, make_user("twin")
    watch(twin, catalogue[1:6])
    assert services.events_delete_for_item(user=person, item=catalogue[0]) == 1
    rescore(person)
    score_people([twin.pk], version_id=None)
    assert [i.pk for i in listed(person)] == [i.pk for i in listed(twin)]


def test_with_view_recording_off_opening_a_page_leaves_the_list_as_it_was(client, scored_person):  # noqa: F811
    """Recording off: opening the first item's page changes nothing and asks for no new
    list; on again: the opened item leaves the next list."""
    person = scored_person
    before = [i.pk for i in listed(person)]
    services.preferences_update(user=person, record_views=False)
    client.force_login(person)
    client.get(reverse("item_detail", args=[before[0]]), **SAME_SITE_NAVIGATION)
    assert ScoringState.objects.get(user=person).stale_since is None
    assert [i.pk for i in listed(person)] == before
    services.preferences_update(user=person, record_views=True)
    client.get(reverse("item_detail", args=[before[0]]), **SAME_SITE_NAVIGATION)
    rescore(person)
    assert before[0] not in [i.pk for i in listed(person)]


def test_deleting_an_items_events_removes_it_from_the_models_input(scored_person, catalogue):  # noqa: F811
    person = scored_person
    assert catalogue[0].pk in input_items(person)
    assert services.events_delete_for_item(user=person, item=catalogue[0]) == 1
    assert catalogue[0].pk not in input_items(person)
    rescore(person)


# ---- the home page while there is no list -------------------------------------------------

def test_home_states_while_there_is_no_list(make_user, make_item, catalogue, model_version):  # noqa: F811
    """Newcomer, first training (with its progress), being computed, and ready."""
    from recommender.models import ModelVersion, RunStatus

    person = make_user("early")
    assert feeds.home_feed(user=person).state == feeds.ListState.NEWCOMER
    watch(person, catalogue[:4])
    ModelVersion.objects.update(is_active=False)
    assert feeds.home_feed(user=person).state == feeds.ListState.NO_MODEL
    TrainingRun.objects.create(status=RunStatus.RUNNING, epoch=2, max_epochs=200, horizon=8.0, progress=0.25,
                               eta_s=150.0, started_at=timezone.now() - timedelta(minutes=1))
    feed = feeds.home_feed(user=person)
    assert feed.state == feeds.ListState.TRAINING and feed.refreshing
    assert (feed.training.total_epochs, feed.training.percent, feed.training.bound) == (8, 25, False)
    assert feed.training.eta_text == "about 2 min 30 s"
    TrainingRun.objects.update(horizon=None)
    assert feeds.home_feed(user=person).training.eta_text == "at most 2 min 30 s"
    ModelVersion.objects.update(is_active=True)
    assert feeds.home_feed(user=person).state == feeds.ListState.SCORING
    score_people([person.pk], version_id=None)
    assert feeds.home_feed(user=person).state == feeds.ListState.READY
