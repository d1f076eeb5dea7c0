"""Leave-one-out evaluation with full ranking over all items, and the popularity baseline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch

from .data import History, batch_of
from .metrics import hit_at_k, ndcg_at_k, target_ranks
from .model import Recommender

Pairs = Sequence[tuple[History, int]]  # (history, target) per person


@torch.no_grad()
def model_ranks(
    model: Recommender, pairs: Pairs, *, batch_size: int = 256, uniform: bool = False
) -> torch.Tensor:
    """Return the full-ranking rank of each pair's target, history items excluded: (P,).

    People are scored in batches of similar history length so little work goes to padding.
    ``uniform=True`` freezes the head's weights to uniform (the ablation).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    max_len = model.cfg.max_len
    order = sorted(range(len(pairs)), key=lambda p: min(len(pairs[p][0]), max_len))
    ranks = torch.zeros(len(pairs), dtype=torch.long)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        items, signals = batch_of([pairs[p][0] for p in idx], max_len)
        targets = torch.tensor([pairs[p][1] for p in idx])
        # history items are not ranked (a repeated target itself stays rankable)
        exclude = [set(pairs[p][0].items) - {pairs[p][1]} for p in idx]
        mask = exclusion_mask(exclude, model.cfg.n_items + 1).to(device)
        scores = model.full_sort_predict(
            items.to(device), signals.to(device), exclude=mask, uniform=uniform).cpu()
        ranks[torch.tensor(idx)] = target_ranks(scores, targets, exclude)
    model.train(was_training)
    return ranks


def exclusion_mask(exclude: Sequence[Sequence[int]], width: int) -> torch.Tensor:
    """Return a (B, width) bool mask with True at each person's excluded items."""
    mask = torch.zeros(len(exclude), width, dtype=torch.bool)
    for b, items in enumerate(exclude):
        if len(items):
            mask[b, torch.as_tensor(list(items), dtype=torch.long)] = True
    return mask


def summarize(ranks: torch.Tensor, k: int = 10) -> dict[str, float]:
    """Return {"ndcg@k", "hr@k", "n"} averaged over people."""
    return {
        f"ndcg@{k}": float(ndcg_at_k(ranks, k).mean()),
        f"hr@{k}": float(hit_at_k(ranks, k).mean()),
        "n": int(ranks.numel()),
    }


def evaluate_model(model: Recommender, pairs: Pairs, *, uniform: bool = False) -> dict[str, float]:
    """Return NDCG@10 and HR@10 of the model on (history, target) pairs, full ranking."""
    return summarize(model_ranks(model, pairs, uniform=uniform))


def popularity_scores(train: Sequence[History], n_items: int) -> torch.Tensor:
    """Return interaction counts per item over the training histories: (n_items + 1,)."""
    counts = Counter(it for h in train for it in h.items)
    scores = torch.zeros(n_items + 1)
    for it, c in counts.items():
        scores[it] = float(c)
    return scores


def evaluate_popularity(train: Sequence[History], pairs: Pairs, n_items: int) -> dict:
    """Return NDCG@10 and HR@10 of ranking every item by training popularity."""
    pop = popularity_scores(train, n_items)
    ranks = torch.zeros(len(pairs), dtype=torch.long)
    for start in range(0, len(pairs), 512):
        chunk = pairs[start:start + 512]
        scores = pop.expand(len(chunk), -1)
        targets = torch.tensor([t for _, t in chunk])
        exclude = [set(h.items) - {t} for h, t in chunk]
        ranks[start:start + len(chunk)] = target_ranks(scores, targets, exclude)
    return summarize(ranks)
