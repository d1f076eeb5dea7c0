"""Model invariants: causality, head weights, the learnable successor rule."""

import time

import torch

from recommender.ml.evaluate import evaluate_model
from recommender.ml.model import ModelConfig, Recommender
from recommender.ml.train import Trainer, TrainConfig


def _model(**kw) -> Recommender:
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=20, max_len=8, d_model=16, n_heads=2, head_heads=2,
                      dropout=0.0, candidates=10, **kw)
    return Recommender(cfg).eval()


def test_encoder_is_causal():
    """Changing a later item never changes the encoder output at earlier positions."""
    model = _model()
    a = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    b = a.clone()
    b[0, 5] = 19
    ha, _, _ = model.encode(a)
    hb, _, _ = model.encode(b)
    assert torch.allclose(ha[:, :5], hb[:, :5], atol=1e-6)
    assert not torch.allclose(ha[:, 5:], hb[:, 5:])


def test_head_weights_sum_to_one_over_real_positions_and_zero_at_padding():
    """Per head and candidate, weights sum to 1 over the history and are exactly 0 at padding."""
    model = _model()
    seq = torch.tensor([[0, 0, 0, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8]])
    out = model.explain(seq, torch.tensor([[9, 10, 11], [12, 13, 14]]))
    w = out["head"]  # (B, heads, C, L)
    assert w.shape == (2, 2, 3, 8)
    assert torch.allclose(w.sum(-1), torch.ones(2, 2, 3))
    assert (w[0, :, :, :3] == 0).all()
    for att in out["encoder"]:
        assert att.shape == (2, 2, 8, 8)
        assert (att[0, :, 3:, :3] == 0).all()  # real positions never look at padding
        assert torch.allclose(att[0, :, 3:].sum(-1), torch.ones(2, 5))


def test_explained_scores_are_the_ranking_scores():
    """The head's explained score equals the score used to rank the item."""
    model = _model()
    seq = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    full = model.full_sort_predict(seq)
    top = full.topk(3).indices
    out = model.explain(seq, top)
    assert torch.allclose(out["scores"], full.gather(1, top), atol=1e-5)


def test_uniform_ablation_changes_scores():
    """Freezing the head's weights to uniform gives different scores."""
    model = _model()
    seq = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    assert not torch.allclose(model.full_sort_predict(seq), model.full_sort_predict(seq, uniform=True))


def test_learns_the_successor_rule_quickly(successor_data):
    """Item n followed by n+1: HR@10 >= 0.9 on the test split within seconds."""
    cfg = ModelConfig(n_items=successor_data.n_items, max_len=12, d_model=32, dropout=0.0,
                      candidates=10)
    trainer = Trainer(successor_data, cfg, TrainConfig(lr=5e-3, batch_size=32, max_epochs=25,
                                                       patience=25, bf16=False))
    t0 = time.perf_counter()
    state = trainer.fit()
    metrics = evaluate_model(state.best_model(), trainer.split.test)
    assert metrics["hr@10"] >= 0.9, metrics
    assert time.perf_counter() - t0 < 30
