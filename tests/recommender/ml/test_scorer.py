"""Scorer: plain-data recommendations from a checkpoint."""

import torch

from recommender.ml import signals as sig
from recommender.ml.checkpoint import save_checkpoint
from recommender.ml.data import ItemIdMap
from recommender.ml.model import ModelConfig, Recommender
from recommender.ml.scorer import Scorer

IDS = tuple(f"m{i}" for i in range(1, 13))


def _h(*ids, signal=sig.RATED_4):
    return [(i, signal) for i in ids]


def _scorer(tmp_path) -> Scorer:
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=12, max_len=5, d_model=8, candidates=6)
    path = tmp_path / "m.ckpt"
    save_checkpoint(path, config=cfg, item_map=ItemIdMap(IDS),
                    payload={"model": Recommender(cfg).state_dict()})
    return Scorer.from_checkpoint(path)


def test_recommend_excludes_history_and_is_sorted(tmp_path):
    """Top-k is best first, plain (str, float), never history or excluded items."""
    scorer = _scorer(tmp_path)
    recs = scorer.recommend(_h("m1", "m2", "m3"), k=5, exclude=["m4"])
    assert len(recs) == 5
    assert all(isinstance(i, str) and isinstance(s, float) for i, s in recs)
    assert not {"m1", "m2", "m3", "m4"} & {i for i, _ in recs}
    assert [s for _, s in recs] == sorted((s for _, s in recs), reverse=True)


def test_batched_matches_single(tmp_path):
    """recommend_many gives the same lists as recommend, one person at a time."""
    scorer = _scorer(tmp_path)
    histories = [_h("m1", "m2"), _h("m5", "m6", "m7", "m8", "m9", "m10", "m11"), _h("m3")]
    many = scorer.recommend_many(histories, k=3)
    for h, got in zip(histories, many):
        single = scorer.recommend(h, k=3)
        assert [i for i, _ in got] == [i for i, _ in single]
        assert [s for _, s in got] == [torch.tensor(s).item() for _, s in single] or all(
            abs(a - b) < 1e-5 for (_, a), (_, b) in zip(got, single))


def test_seen_items_are_never_recommended_whatever_their_signal(tmp_path):
    """A viewed or disliked item is in the history too: it is never recommended back."""
    scorer = _scorer(tmp_path)
    recs = scorer.recommend(_h("m1", "m2") + [("m3", sig.VIEWED), ("m4", sig.RATED_LOW)], k=8)
    assert len(recs) == 8 and not {"m1", "m2", "m3", "m4"} & {i for i, _ in recs}


def test_unknown_history_items_are_skipped(tmp_path):
    """Items the model never saw are ignored; an empty history yields no recommendations."""
    scorer = _scorer(tmp_path)
    assert scorer.recommend(_h("new-item"), k=3) == []
    assert len(scorer.recommend(_h("new-item", "m1"), k=3)) == 3
