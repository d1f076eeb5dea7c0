"""Full-ranking metrics (docs/design.md, "Training"): rank = 1 + items scored strictly higher."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def target_ranks(
    scores: torch.Tensor, targets: torch.Tensor, exclude: Sequence[Sequence[int]] | None = None
) -> torch.Tensor:
    """Return the 1-based rank of each target among all items: (B,) long.

    ``scores`` is (B, n_items + 1) with column 0 the padding item (never ranked);
    ``exclude[b]`` lists items removed from person b's ranking (their history). The target
    itself is never excluded. Ties count in the target's favour: only items scored
    strictly higher push it down.
    """
    scores = scores.float().clone()
    target_score = scores.gather(1, targets.view(-1, 1))  # (B, 1), read before exclusion
    scores[:, 0] = float("-inf")
    if exclude is not None:
        for b, items in enumerate(exclude):
            if len(items):
                scores[b, torch.as_tensor(list(items), dtype=torch.long)] = float("-inf")
    return (scores > target_score).sum(dim=1) + 1


def ndcg_at_k(ranks: torch.Tensor, k: int = 10) -> torch.Tensor:
    """Return per-person NDCG@k for one relevant item: 1/log2(rank + 1) if rank <= k."""
    ranks = ranks.double()
    return torch.where(ranks <= k, 1.0 / torch.log2(ranks + 1.0), torch.zeros_like(ranks))


def hit_at_k(ranks: torch.Tensor, k: int = 10) -> torch.Tensor:
    """Return per-person HR@k: 1.0 if rank <= k."""
    return (ranks <= k).double()


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Return {"mean", "std"} (sample std, 0 for one value) of a list of floats."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std}
