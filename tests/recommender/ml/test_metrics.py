"""Metric functions against hand-computed cases, ties included."""

import math

import pytest
import torch

from recommender.ml.metrics import hit_at_k, mean_std, ndcg_at_k, target_ranks


def test_rank_counts_strictly_higher_items():
    """Rank is 1 + the number of items scored strictly higher; column 0 is never ranked."""
    scores = torch.tensor([[99.0, 0.1, 0.5, 0.3, 0.9]])
    assert target_ranks(scores, torch.tensor([2])).tolist() == [2]
    assert target_ranks(scores, torch.tensor([4])).tolist() == [1]
    assert target_ranks(scores, torch.tensor([1])).tolist() == [4]


def test_ties_do_not_push_the_target_down():
    """Items tied with the target do not count against it."""
    scores = torch.tensor([[0.0, 0.5, 0.5, 0.5, 0.7]])
    assert target_ranks(scores, torch.tensor([2])).tolist() == [2]
    flat = torch.zeros(1, 6)
    assert target_ranks(flat, torch.tensor([3])).tolist() == [1]


def test_excluded_items_are_not_ranked_but_the_target_is():
    """History items drop out of the ranking; an excluded target keeps its own score."""
    scores = torch.tensor([[0.0, 0.9, 0.8, 0.1, 0.7]])
    assert target_ranks(scores, torch.tensor([4]), [[1, 2]]).tolist() == [1]
    assert target_ranks(scores, torch.tensor([2]), [[1, 2]]).tolist() == [1]


def test_ndcg_and_hit_rate_by_hand():
    """NDCG@10 = 1/log2(rank+1) inside the top 10, else 0; HR@10 = rank <= 10."""
    ranks = torch.tensor([1, 2, 3, 10, 11])
    expected = [1.0, 1 / math.log2(3), 0.5, 1 / math.log2(11), 0.0]
    assert ndcg_at_k(ranks, 10).tolist() == pytest.approx(expected)
    assert hit_at_k(ranks, 10).tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]


def test_mean_std():
    """Sample standard deviation, 0 for a single value."""
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(math.sqrt(2))}
    assert mean_std([5.0]) == {"mean": 5.0, "std": 0.0}
