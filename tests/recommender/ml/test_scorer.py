"""Scorer: plain-data recommendations and explanations from a checkpoint."""

import torch

from recommender.ml.checkpoint import save_checkpoint
from recommender.ml.data import ItemIdMap
from recommender.ml.model import ModelConfig, Recommender
from recommender.ml.scorer import Scorer

IDS = tuple(f"m{i}" for i in range(1, 13))


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
    recs = scorer.recommend(["m1", "m2", "m3"], k=5, exclude=["m4"])
    assert len(recs) == 5
    assert all(isinstance(i, str) and isinstance(s, float) for i, s in recs)
    assert not {"m1", "m2", "m3", "m4"} & {i for i, _ in recs}
    assert [s for _, s in recs] == sorted((s for _, s in recs), reverse=True)


def test_batched_matches_single(tmp_path):
    """recommend_many gives the same lists as recommend, one person at a time."""
    scorer = _scorer(tmp_path)
    histories = [["m1", "m2"], ["m5", "m6", "m7", "m8", "m9", "m10", "m11"], ["m3"]]
    many = scorer.recommend_many(histories, k=3)
    for h, got in zip(histories, many):
        single = scorer.recommend(h, k=3)
        assert [i for i, _ in got] == [i for i, _ in single]
        assert [s for _, s in got] == [torch.tensor(s).item() for _, s in single] or all(
            abs(a - b) < 1e-5 for (_, a), (_, b) in zip(got, single))


def test_explain_weights_match_history_and_score(tmp_path):
    """Explanation weights are per history item, sum to 1 and come with the ranking score."""
    scorer = _scorer(tmp_path)
    history = ["m1", "m2", "m3"]
    top_item, top_score = scorer.recommend(history, k=1)[0]
    exp = scorer.explain(history, top_item)
    assert exp.history == history
    assert all(abs(sum(h) - 1) < 1e-5 and len(h) == 3 for h in exp.head)
    assert abs(exp.score - top_score) < 1e-5
    assert len(exp.encoder) == 2 and len(exp.encoder[0][0]) == 3


def test_unknown_history_items_are_skipped(tmp_path):
    """Items the model never saw are ignored; an empty history yields no recommendations."""
    scorer = _scorer(tmp_path)
    assert scorer.recommend(["new-item"], k=3) == []
    assert len(scorer.recommend(["new-item", "m1"], k=3)) == 3
