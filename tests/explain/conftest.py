"""Fixtures: a tiny real model version, items with genres, and a scored person."""
from datetime import timedelta

import pytest
import torch
from django.utils import timezone

from recommender.ml.checkpoint import save_checkpoint
from recommender.ml.data import ItemIdMap
from recommender.ml.model import ModelConfig, Recommender
from recommender.models import Event, ModelVersion
from recommender.pipeline import file_sha256
from recommender.scoring import score_people, scorer_for

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


def watch(user, items):
    """Record views of `items` in order, an hour apart."""
    start = timezone.now() - timedelta(days=1)
    Event.objects.bulk_create([Event(user=user, item=it, kind="view", occurred_at=start + timedelta(hours=h))
                               for h, it in enumerate(items)])


@pytest.fixture
def scored_person(make_user, catalogue, model_version):
    """Return a person who watched six films and has a stored list."""
    person = make_user("alice")
    watch(person, catalogue[:6])
    score_people([person.pk], version_id=None)
    return person
