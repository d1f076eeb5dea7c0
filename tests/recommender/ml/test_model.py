"""Model invariants: causality, head weights, the learnable successor rule."""

import time

import pytest
import torch

from recommender.ml.data import pad_left
from recommender.ml.evaluate import evaluate_model
from recommender.ml.model import ModelConfig, Recommender
from recommender.ml.train import Trainer, TrainConfig


def _model(**kw) -> Recommender:
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=20, max_len=8, d_model=16, n_heads=2, head_heads=2,
                      dropout=0.0, candidates=10, **kw)
    return Recommender(cfg).eval()


def test_state_head_over_one_item_scores_as_the_first_stage():
    """With values = the first stage's own per-position logits, one history position (weight
    1) gives exactly the first stage's score cos(e_i, H_t) / temp."""
    model = _model(head_values="state", score_temp=0.05)
    seq = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 4]])
    items = torch.tensor([[1, 2, 9, 15]])
    H, _, _ = model.encode(seq)
    first = model.first_stage(H[:, -1], model.item_vectors())[:, items[0] - 1]
    cos = torch.nn.functional.cosine_similarity(H[:, -1:], model.item_vectors()[items], dim=-1)
    assert torch.allclose(first, cos / 0.05, atol=1e-4)
    assert torch.allclose(model.predict(seq, items), first, atol=1e-4)


def test_positions_from_the_start_keep_earlier_states_when_an_item_arrives():
    """The oldest kept item is position 1 however wide the batch, so padding changes nothing
    and a new item leaves every earlier state as it was; counted from the end, a new item
    moves every earlier position and so every earlier state."""
    model = _model(positions="from_start")
    short, _, _ = model.encode(torch.tensor([[3, 4, 5]]))
    padded, _, _ = model.encode(torch.tensor([[0, 0, 0, 0, 0, 3, 4, 5]]))
    longer, _, _ = model.encode(torch.tensor([[3, 4, 5, 6]]))
    assert torch.allclose(short, padded[:, -3:], atol=1e-5)
    assert torch.allclose(short, longer[:, :3], atol=1e-5)
    end = _model(positions="from_end")
    short, _, _ = end.encode(torch.tensor([[3, 4, 5]]))
    longer, _, _ = end.encode(torch.tensor([[3, 4, 5, 6]]))
    assert not torch.allclose(short, longer[:, :3], atol=1e-3)


def test_continuing_an_encoded_prefix_ranks_as_encoding_the_whole_history():
    """Histories that share a person's first items (the person's history with items removed)
    rank every item as full_sort_predict does when only their positions after the shared
    ones go through the encoder, attending to the cached keys and values."""
    model = _model(positions="from_start")
    history = [3, 4, 5, 6, 7, 8, 9, 10]
    prefix = model.encode_prefix(torch.tensor([history]))
    variants = [history[:3] + history[4:], history[:3] + [history[5]], history[:3], history[:3] + history[3:]]
    exclude = torch.zeros(4, 21, dtype=torch.bool)
    exclude[:, history] = True
    whole = model.full_sort_predict(pad_left(variants, 8), exclude=exclude)
    continued = model.full_sort_predict_continued(prefix, 3, pad_left([v[3:] for v in variants], 8), exclude=exclude)
    assert torch.allclose(whole, continued, atol=1e-5)
    assert torch.equal(whole.argsort(dim=1, descending=True)[:, :10], continued.argsort(dim=1, descending=True)[:, :10])
    end = _model(positions="from_end")
    with pytest.raises(ValueError):
        end.encode_prefix(torch.tensor([history]))


def test_sampled_softmax_loss_leaves_out_negatives_equal_to_the_target():
    """A sampled negative that is the target is masked, so the loss is the full catalogue's
    when every item is sampled, whatever the duplicates."""
    model = _model(scoring="last", n_negatives=400)  # 20 items: every item drawn, many times
    H = torch.randn(6, 16)
    targets = torch.tensor([1, 5, 9, 12, 19, 20])
    E = model.item_vectors()
    torch.manual_seed(1)
    sampled = model.first_stage_loss(H, E, targets)
    logits = model.first_stage(H, E)
    # full softmax, but each non-target item counted as often as it was drawn
    torch.manual_seed(1)
    neg = torch.randint(1, E.shape[0], (400,))
    counts = torch.bincount(neg - 1, minlength=20).float()  # (20,)
    weights = counts.expand(6, -1).scatter(1, (targets - 1).unsqueeze(1), 1.0)
    expected = -(logits.gather(1, (targets - 1).unsqueeze(1)).squeeze(1)
                 - torch.logsumexp(logits + weights.log(), dim=1)).mean()
    assert torch.allclose(sampled, expected, atol=1e-4)


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


def test_contributions_are_each_positions_exact_removal_effect_with_the_encoder_held():
    """Per head, contributions sum to 0, are 0 at padding, and removing position j from the
    head's view (same encoder output) lowers that head's score by contribution_j / (1 - a_j)."""
    model = _model()
    seq = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    items = torch.tensor([[9, 10, 11]])
    out = model.explain(seq, items)
    c, a = out["contributions"], out["head"]  # (1, heads, C, L)
    assert c.shape == a.shape == (1, 2, 3, 8)
    assert torch.allclose(c.sum(-1), torch.zeros(1, 2, 3), atol=1e-5)
    assert (c[..., :2] == 0).all()
    H, real, _ = model.encode(seq)
    cand = model.item_vectors()[items].unsqueeze(1)  # (1, 1, C, d)
    head = model.head
    per_head = lambda allowed: (head(H, allowed, cand)[1] * head.values(H, cand)).sum(-1)[:, :, 0]  # noqa: E731
    base = per_head(real.unsqueeze(1))  # (1, heads, C)
    for j in range(2, 8):
        allowed = real.clone()
        allowed[0, j] = False
        drop = base - per_head(allowed.unsqueeze(1))
        assert torch.allclose(drop, c[..., j] / (1 - a[..., j]), atol=1e-4)


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


def test_residual_head_adds_its_attention_term_to_the_first_stage_logit():
    """With the attention term's readout zeroed, the head's score is the first stage's e_i . H_t."""
    model = _model(head_residual=True, head_values="learned", score_temp=0.0)
    with torch.no_grad():
        model.head.o.weight.zero_()
    seq = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    items = torch.tensor([[9, 10, 11]])
    H, _, _ = model.encode(seq)
    first = H[:, -1] @ model.item_vectors()[items[0]].t()  # (1, 3)
    assert torch.allclose(model.explain(seq, items)["scores"], first, atol=1e-5)
    assert torch.allclose(model.predict(seq, items), first, atol=1e-5)


def test_head_trains_on_candidates_outside_the_history():
    """As at inference, the head never learns on the items already in the history."""
    model = _model().train()
    seen = []
    forward = model.head.forward

    def record(H, allowed, cand, **kw):
        seen.append((cand.detach(), kw["query_pos"]))
        return forward(H, allowed, cand, **kw)

    model.head.forward = record
    seq = torch.tensor([[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]])
    targets = torch.cat([seq[:, 1:], torch.tensor([[8], [16]])], dim=1)
    model.calculate_loss(seq, targets)
    cand, pos = seen[0]  # (B, P, C, d), (B, P)
    E = model.item_vectors().detach()
    for b in range(2):
        for p in range(pos.shape[1]):
            history = [i for i in seq[b, : pos[b, p] + 1].tolist() if i]
            match = (cand[b, p].unsqueeze(1) - E[history].unsqueeze(0)).abs().sum(-1) == 0
            assert not match.any()
