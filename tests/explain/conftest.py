"""Fixtures: a tiny real model version, items with genres, and a scored person."""
from datetime import timedelta

import pytest
import torch
from django.utils import timezone

from recommender.ml.checkpoint import save_checkpoint
from recommender.ml.data import ItemIdMap
from recommender.ml.model import ModelConfig, Recommender
from recommender.models import Event, ModelVersion
from recommender.training.versions import file_sha256
from recommender.serving.scoring import score_people, scorer_for

GENRES = ("Animation", "Comedy", "Drama")


@pytest.fixture
def catalogue(make_item):
    """Return 20 items, genres cycling through Animation, Comedy and Drama."""
    return [make_item(title=f"Film {k}", genres=(GENRES[k % 3],)) for k in range(20)]


@pytest.fixture
def model_version(catalogue, tmp_path, settings):
    """Return an active version whose artifact is a tiny random (seeded) model."""
    settings.RECSITE_TOP_N = 12
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=len(catalogue), max_len=10, d_model=16, n_layers=1, dropout=0.0, candidates=20)
    item_map = ItemIdMap(tuple(str(i.pk) for i in catalogue))
    path = tmp_path / "model.ckpt"
    save_checkpoint(path, config=cfg, item_map=item_map, payload={"model": Recommender(cfg).state_dict()})
    scorer_for.cache_clear()
    yield ModelVersion.objects.create(artifact_path=str(path), checksum=file_sha256(path), is_active=True,
                                      activated_at=timezone.now())
    scorer_for.cache_clear()


@pytest.fixture
def genre_model_version(catalogue, tmp_path, settings):
    """Return an active version of a tiny random (seeded) model that knows the catalogue's
    genres, so a new person's genre boost acts (``Recommender.new_person_lift``)."""
    settings.RECSITE_TOP_N = 12
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=len(catalogue), max_len=10, d_model=16, n_layers=1, dropout=0.0, candidates=20,
                      n_genres=len(GENRES))
    model = Recommender(cfg)
    model.set_genres([[0.0] * len(GENRES)] + [[float(k % 3 == g) for g in range(len(GENRES))]
                                              for k in range(len(catalogue))])
    item_map = ItemIdMap(tuple(str(i.pk) for i in catalogue))
    path = tmp_path / "genres.ckpt"
    save_checkpoint(path, config=cfg, item_map=item_map, payload={"model": model.state_dict()})
    scorer_for.cache_clear()
    yield ModelVersion.objects.create(artifact_path=str(path), checksum=file_sha256(path), is_active=True,
                                      activated_at=timezone.now())
    scorer_for.cache_clear()


def rate(user, items, stars: float):
    """Record ratings of `items` in order, an hour apart."""
    start = timezone.now() - timedelta(days=1)
    Event.objects.bulk_create([Event(user=user, item=it, kind="rate", value=stars,
                                     occurred_at=start + timedelta(hours=h)) for h, it in enumerate(items)])


def watch(user, items):
    """Record views of `items` in order, an hour apart."""
    start = timezone.now() - timedelta(days=1)
    Event.objects.bulk_create([Event(user=user, item=it, kind="view", occurred_at=start + timedelta(hours=h))
                               for h, it in enumerate(items)])


# What `acting_person` did, by catalogue index: (kind, value), oldest first.
ACTS = [(0, "rate", 5.0), (1, "like", None), (2, "rate", 4.0), (3, "rate", 1.0), (4, "view", None),
        (5, "rate", 5.0), (6, "like", None), (7, "view", None)]


@pytest.fixture
def acting_person(make_user, catalogue, model_version):
    """Return a person who rated films (5, 4 and 1 stars), liked two and opened two pages,
    with a stored list."""
    person = make_user("carol")
    start = timezone.now() - timedelta(days=1)
    Event.objects.bulk_create([Event(user=person, item=catalogue[k], kind=kind, value=value,
                                     occurred_at=start + timedelta(hours=h))
                               for h, (k, kind, value) in enumerate(ACTS)])
    score_people([person.pk], version_id=None)
    return person


@pytest.fixture
def scored_person(make_user, catalogue, model_version):
    """Return a person who watched six films and has a stored list."""
    person = make_user("alice")
    watch(person, catalogue[:6])
    score_people([person.pk], version_id=None)
    return person


VERBS = {"rate": "rated", "like": "liked", "view": "opened", "purchase": "bought", "click": "clicked"}


def verb_mismatches(reason: str, acts: dict[str, tuple[str, float | None]]) -> list[str]:
    """Return what is wrong with the verbs of an English reason, given {title: (kind, value)}
    of what the person did: each quoted title's nearest verb before it must be its kind's
    ("rated", "liked", "opened"...), a rating's stars the first ★ after it, a view called a
    page view; a rating of 2 stars or less is never named; nobody "watched" anything."""
    problems = ["says watched"] if "watched" in reason else []
    for title, (kind, value) in acts.items():
        at = reason.find(f"“{title}”")
        if at < 0:
            continue
        if kind == "rate" and value is not None and value <= 2:
            problems.append(f"names the low rating of {title}")
            continue
        before = reason[:at]
        verb = max(VERBS.values(), key=lambda v: before.rfind(v))
        if before.rfind(verb) < 0 or verb != VERBS[kind]:
            problems.append(f"{title}: {verb!r}, not {VERBS[kind]!r}")
        after = reason[at:]
        if kind == "rate" and value is not None and f"{int(value)}★" not in after.split("★")[0] + "★":
            problems.append(f"{title}: not {int(value)}★")
        if kind == "view" and "page view" not in after and "opened the page of" not in before:
            problems.append(f"{title}: not called a page view")
    return problems
