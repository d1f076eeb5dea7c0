"""Text vectors in the site's model: training reads them, scoring ranks items added later."""
from datetime import timedelta

import numpy as np
import pytest
import torch
from django.utils import timezone

from recommender.training import runner
from recommender.ml.checkpoint import save_checkpoint
from recommender.ml.model import ModelConfig, Recommender
from recommender.models import Event, ItemText, ModelVersion, Recommendation, TrainingRun
from recommender.training.versions import file_sha256
from recommender.serving.scoring import score_people, scorer_for
from recommender.text.encoder import model_info
from recommender.text.store import vector_to_bytes


def _embed(items, rng):
    info = model_info()
    vectors = {}
    for item in items:
        v = rng.normal(size=info.dim).astype(np.float32)
        v /= np.linalg.norm(v)
        vectors[item.pk] = v
        ItemText.objects.create(item=item, text=item.title, text_hash="-", model_name=info.name,
                                model_version=info.version, dim=info.dim, vector=vector_to_bytes(v))
    return vectors


def _rated(person, items):
    start = timezone.now() - timedelta(days=1)
    Event.objects.bulk_create([Event(user=person, item=it, kind="rate", value=5.0,
                                     occurred_at=start + timedelta(minutes=n)) for n, it in enumerate(items)])


def test_training_reads_the_items_text_vectors_when_all_are_embedded(make_user, make_item, settings):
    """With text on, the run's data carries every item's vector and the model's text_dim
    is the encoder's; an item still waiting for its vector makes the run train on ids."""
    settings.RECSITE_TRAIN_TEXT = True
    items = [make_item() for _ in range(6)]
    vectors = _embed(items[:5], np.random.default_rng(0))
    for p in range(4):
        _rated(make_user(f"p{p}"), [items[(p + t) % 6] for t in range(5)])
    run = TrainingRun.objects.create(event_watermark=Event.objects.order_by("-id").first().pk)
    assert runner.run_data(run).item_text is None  # item 6 has no vector yet
    runner._data_cache.clear()
    _embed(items[5:], np.random.default_rng(1))
    data = runner.run_data(run)
    assert data.item_text.shape == (7, model_info().dim)
    index = data.item_map.index()
    assert np.allclose(data.item_text[index[str(items[0].pk)]], vectors[items[0].pk])
    assert runner.configs(run, data)[0].text_dim == model_info().dim


@pytest.mark.django_db
def test_an_item_added_after_training_is_recommended_from_its_text(make_user, make_item, tmp_path, settings):
    """A version trained with text vectors ranks an item created after it, by its text
    alone: it enters the person's stored list without retraining."""
    settings.RECSITE_TOP_N = 50
    rng = np.random.default_rng(0)
    items = [make_item() for _ in range(20)]
    _embed(items, rng)
    dim = model_info().dim
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=20, max_len=10, d_model=16, n_layers=1, dropout=0.0, candidates=30, text_dim=dim)
    model = Recommender(cfg)
    text = np.zeros((21, dim), dtype=np.float32)
    from recommender.text.store import text_vectors

    text[1:] = text_vectors([i.pk for i in items]).matrix
    model.set_text(text)
    path = tmp_path / "model.ckpt"
    from recommender.ml.data import ItemIdMap

    save_checkpoint(path, config=cfg, item_map=ItemIdMap(tuple(str(i.pk) for i in items)),
                    payload={"model": model.state_dict()})
    scorer_for.cache_clear()
    ModelVersion.objects.create(artifact_path=str(path), checksum=file_sha256(path), is_active=True,
                                activated_at=timezone.now())
    person = make_user("newcomer")
    _rated(person, items[:4])
    newcomer = make_item("Released today")
    _embed([newcomer], rng)
    score_people([person.pk], version_id=None)
    listed = list(Recommendation.objects.filter(user=person).values_list("item_id", flat=True))
    assert newcomer.pk in listed and len(listed) == 17  # 21 items, 4 rated
    scorer_for.cache_clear()
