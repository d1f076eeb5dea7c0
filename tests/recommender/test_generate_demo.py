"""Tests for the demo data generator and `manage.py generate_demo`."""
import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recommender.importing.demo import GENRES, demo_catalogue, demo_dataset
from recommender.models import Event, Item
from recsite.accounts.models import User

NOW = 1_750_000_000  # 2025-06-15


def test_same_seed_same_data():
    """The generator is a pure function of its arguments."""
    def make(seed: int):
        return demo_dataset(n_items=60, n_users=20, seed=seed, now=NOW)

    assert make(3) == make(3)
    assert make(4) != make(3)


def test_now_only_shifts_times():
    """Generating at another moment shifts every time and changes nothing else."""
    early = demo_dataset(n_items=60, n_users=20, now=NOW)
    late = demo_dataset(n_items=60, n_users=20, now=NOW + 12_345_678)
    assert early.items == late.items
    assert [e._replace(timestamp=e.timestamp + 12_345_678) for e in early.events] == late.events


def test_demo_data_is_plausible():
    """Unique items over a dozen genres, past times, 1-5 star ratings, likes of good ratings."""
    parsed = demo_dataset(now=NOW)
    assert len(parsed.items) == 300 and len({i.external_id for i in parsed.items}) == 300
    assert len({i.title for i in parsed.items}) == 300
    assert {g for i in parsed.items for g in i.genres} == set(GENRES) and len(GENRES) == 12
    assert all(1965 <= i.year <= 2024 for i in parsed.items)
    assert all(NOW - 181 * 86_400 <= e.timestamp < NOW for e in parsed.events)
    assert len({e.user for e in parsed.events}) == 300
    ratings = {(e.user, e.item): e.value for e in parsed.events if e.kind == "rate"}
    assert set(ratings.values()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert all(ratings[(e.user, e.item)] >= 4 for e in parsed.events if e.kind == "like")
    assert {e.kind for e in parsed.events} == {"view", "rate", "like"}


def test_series_are_watched_in_order():
    """People who watch two parts of a series almost always watch them in release order."""
    parsed = demo_dataset(now=NOW)
    _items, series = demo_catalogue(300, random.Random(7))
    assert series, "the catalogue should hold film series"
    position = {}
    for event in parsed.events:
        if event.kind == "view":
            position[(event.user, event.item)] = event.timestamp
    in_order = out_of_order = 0
    for members in series:
        ids = [parsed.items[m].external_id for m in members]
        for user in {e.user for e in parsed.events}:
            times = [position.get((user, ext)) for ext in ids[:2]]
            if None not in times:
                in_order += times[0] <= times[1]
                out_of_order += times[0] > times[1]
    assert in_order > 20 and out_of_order <= in_order * 0.15


@pytest.mark.django_db
def test_generate_demo_once():
    """The command loads demo data once; a second run says so and adds nothing."""
    out = StringIO()
    call_command("generate_demo", "--items", "40", "--users", "10", "--seed", "1", stdout=out)
    assert Item.objects.filter(external_id__startswith="demo:").count() == 40
    assert User.objects.filter(username__startswith="demo:", is_placeholder=True).count() == 10
    before = (Item.objects.count(), User.objects.count(), Event.objects.count())
    call_command("generate_demo", stdout=out)
    assert "already there" in out.getvalue()
    assert (Item.objects.count(), User.objects.count(), Event.objects.count()) == before


@pytest.mark.django_db
def test_generate_demo_if_empty(make_item):
    """--if-empty leaves a catalogue that already has items alone; bad sizes are refused."""
    make_item()
    out = StringIO()
    call_command("generate_demo", "--if-empty", stdout=out)
    assert "not empty" in out.getvalue() and Item.objects.count() == 1
    with pytest.raises(CommandError, match="at least 20 items"):
        call_command("generate_demo", "--items", "5", stdout=out)
