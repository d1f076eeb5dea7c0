"""The recommender's configuration: its shape and the options the default and the baselines use."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class ModelConfig:
    n_items: int  # real items are 1..n_items; 0 is padding
    max_len: int = 200  # history entries kept (most recent)
    d_model: int = 128  # embedding width
    n_layers: int = 2  # encoder blocks
    n_heads: int = 1  # encoder self-attention heads
    head_heads: int = 2  # target-attention heads in the scoring head
    ffn_mult: int = 4  # feed-forward hidden = ffn_mult * d_model (docs/benchmarks.md, ML-1M)
    dropout: float = 0.1  # on embeddings, attention outputs and feed-forward
    scoring: str = "head"  # "head": summary + item-level head (recsite); "last": plain SASRec
    candidates: int = 100  # first-stage top items the head scores (train and inference)
    head_positions: int = 2  # positions per sequence where the head is trained (incl. last)
    head_loss_weight: float = 1.0  # weight of the head's cross-entropy next to the first stage
    recency_init: float = 1.0  # head's recency prior starts at -recency_init * log(1 + distance)
    init_std: float = 0.02  # small-std init; N(0, 1) embeddings train far slower
    # the taste summary s: "readout" = sum_j b_j g_j, attention from the encoder's last state
    # over item-level vectors of the read entries (each entry's share is its own); "state" =
    # that state itself, as SASRec (docs/benchmarks.md, "Attention over items")
    summary: str = "readout"
    # width of the items' frozen text vectors, added to the id embeddings through a learned
    # projection (0 = ids only); an item added after training is scored from its text alone
    text_dim: int = 0
    readout_heads: int = 4  # the readout's attention heads, each over its slice of the values (docs/benchmarks.md, "Attention over items")
    readout_norm: str = "layer"  # "layer" or "none" (gain and bias only: removal is exact)
    # training only: the encoder's own state is also trained to score the next item, as
    # SASRec's is, so the readout's query comes from an encoder that models the sequence
    # (docs/benchmarks.md, "Attention over items": without it the encoder learns only
    # through the readout's weights)
    state_loss_weight: float = 1.0
    # width of the items' genre vectors (0 = none): with them a new person's choices lift
    # what shares their genres, by policy and in serving only (signals.NEW_PERSON_LIFT)
    n_genres: int = 0

    def to_dict(self) -> dict:
        return asdict(self)
