"""Serving: top-k recommendations and explanations from a checkpoint, as plain Python data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import Checkpoint, load_checkpoint
from .data import pad_left
from .evaluate import exclusion_mask
from .model import Recommender


@dataclass(frozen=True)
class Explanation:
    """Why ``item`` scored what it did after ``history``.

    ``head`` holds, per head, one weight per history item (same order as ``history``,
    oldest first, after truncation to the model's max length); these weights produced
    ``score``. ``encoder`` holds, per layer and head, the (L, L) self-attention rows.
    """

    item: str
    score: float
    history: list[str]
    head: list[list[float]]  # [head][position]
    encoder: list[list[list[list[float]]]]  # [layer][head][query position][key position]


class Scorer:
    """Recommend and explain with a trained model; histories use external item ids."""

    def __init__(self, model: Recommender, item_ids: Sequence[str]):
        self.model = model.eval()
        self.item_ids = list(item_ids)  # item_ids[k - 1] is the external id of index k
        self.index = {ext: k + 1 for k, ext in enumerate(self.item_ids)}

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, expected_sha256: str | None = None) -> Scorer:
        """Load a verified checkpoint (best weights when stored); raise CheckpointError."""
        ckpt: Checkpoint = load_checkpoint(path, expected_sha256=expected_sha256)
        return cls(ckpt.build_model(), ckpt.item_map.external_ids)

    def _indices(self, history: Iterable[str]) -> list[int]:
        # unknown items (added after training) cannot be embedded; they are skipped
        return [self.index[h] for h in history if h in self.index]

    @torch.no_grad()
    def recommend(
        self, history: Sequence[str], k: int = 10, exclude: Iterable[str] | None = None
    ) -> list[tuple[str, float]]:
        """Return the top ``k`` (item id, score) pairs, best first, never history or exclude."""
        return self.recommend_many([history], k, [exclude] if exclude is not None else None)[0]

    @torch.no_grad()
    def recommend_many(
        self,
        histories: Sequence[Sequence[str]],
        k: int = 10,
        excludes: Sequence[Iterable[str] | None] | None = None,
    ) -> list[list[tuple[str, float]]]:
        """Return ``recommend`` for many people at once (one batched forward pass)."""
        if not histories:
            return []
        seqs = [self._indices(h) for h in histories]
        banned = []
        for b, seq in enumerate(seqs):
            extra = excludes[b] if excludes is not None and excludes[b] is not None else ()
            banned.append(set(seq) | {self.index[e] for e in extra if e in self.index})
        n = len(self.item_ids)
        mask = exclusion_mask(banned, n + 1)
        seq = pad_left([s if s else [] for s in seqs], self.model.cfg.max_len)
        scores = self.model.full_sort_predict(seq, exclude=mask)  # (B, n + 1)
        out = []
        for b in range(len(seqs)):
            if not seqs[b]:  # nothing known about this person: no personal ranking
                out.append([])
                continue
            kk = min(k, n - len(banned[b]))
            top = scores[b].topk(max(kk, 0))
            out.append([(self.item_ids[i - 1], float(s)) for s, i in zip(top.values, top.indices.tolist())])
        return out

    @torch.no_grad()
    def explain(self, history: Sequence[str], item: str) -> Explanation:
        """Return the head's weights over ``history`` for ``item`` and the encoder's attention."""
        if item not in self.index:
            raise KeyError(f"unknown item {item!r}")
        seq = self._indices(history)[-self.model.cfg.max_len:]
        if not seq:
            raise ValueError("history has no known items")
        out = self.model.explain(torch.tensor([seq]), torch.tensor([[self.index[item]]]))
        head = out["head"][0, :, 0, :].tolist() if out["head"] is not None else []
        return Explanation(
            item=item,
            score=float(out["scores"][0, 0]),
            history=[self.item_ids[i - 1] for i in seq],
            head=head,
            encoder=[att[0].tolist() for att in out["encoder"]],
        )
