"""Tiny generated data for the ML tests (no real data sets, no Django)."""

import pytest
import torch

from recommender.ml.data import SequenceData, build_sequences


def successor_rows(n_users: int = 120, n_items: int = 30, length: int = 12, seed: int = 0):
    """Rows where item n is always followed by item n+1 (mod n_items), random start."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for u in range(n_users):
        start = int(torch.randint(0, n_items, (1,), generator=g))
        for t in range(length):
            rows.append((f"u{u}", f"i{(start + t) % n_items}", t, "rate", None))
    return rows


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def successor_data() -> SequenceData:
    return build_sequences(successor_rows())
