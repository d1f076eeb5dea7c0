"""Serving: top-k recommendations from a checkpoint, as plain Python data.

A history is a list of (external item id, signal) pairs, oldest first (``signals.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from . import signals as sig
from .checkpoint import Checkpoint, load_checkpoint
from .data import History, batch_of
from .evaluate import exclusion_mask
from .model import Recommender

Entry = tuple[str, int]  # (external item id, signal)


def model_history(entries: Iterable[tuple[int, int]]) -> History:
    """Return the history the model reads from (item index, signal) pairs, with the cold
    start policy of ``signals.cold_start``."""
    entries = sig.cold_start(list(entries))
    return History(tuple(i for i, _ in entries), tuple(s for _, s in entries))


@dataclass
class Scorer:
    """Recommend with a trained model; histories use external item ids."""

    model: Recommender
    item_ids: list[str]  # item_ids[k - 1] is the external id of index k

    def __post_init__(self):
        self.model.eval()
        self.item_ids = list(self.item_ids)
        self.index = {ext: k + 1 for k, ext in enumerate(self.item_ids)}

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, expected_sha256: str | None = None) -> Scorer:
        """Load a verified checkpoint (best weights when stored); raise CheckpointError."""
        ckpt: Checkpoint = load_checkpoint(path, expected_sha256=expected_sha256)
        return cls(ckpt.build_model(), list(ckpt.item_map.external_ids))

    def extend(self, item_ids: Sequence[str], vectors) -> list[str]:
        """Know items added after training by their text vectors (one row per id) and
        rank them with the others; return the ids added (ids already known are skipped).
        Needs a model trained with text vectors."""
        new = [(i, k) for k, i in enumerate(item_ids) if i not in self.index]
        if not new:
            return []
        known = self.model.extra_text if self.model.extra_text.shape[0] else None
        rows = torch.as_tensor(vectors, dtype=torch.float32)[[k for _, k in new]]
        self.model.extend_items(rows if known is None else torch.cat([known, rows]))
        for i, _ in new:
            self.item_ids.append(i)
            self.index[i] = len(self.item_ids)
        return [i for i, _ in new]

    def history(self, entries: Sequence[Entry]) -> History:
        """Return the model's input for a history; items unknown to the model (added after
        training) cannot be embedded and are skipped."""
        known = [(self.index[i], s) for i, s in entries if i in self.index]
        return model_history(known)[-self.model.cfg.max_len:]

    @torch.no_grad()
    def recommend(self, history: Sequence[Entry], k: int = 10,
                  exclude: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """Return the top ``k`` (item id, score) pairs, best first, never history or exclude."""
        return self.recommend_many([history], k, [exclude] if exclude is not None else None)[0]

    @torch.no_grad()
    def recommend_many(
        self,
        histories: Sequence[Sequence[Entry]],
        k: int = 10,
        excludes: Sequence[Iterable[str] | None] | None = None,
    ) -> list[list[tuple[str, float]]]:
        """Return ``recommend`` for many people at once (one batched forward pass).

        A person with nothing the model can read as a choice (only low ratings, or only
        items it does not know) gets an empty list: no personal ranking.
        """
        if not histories:
            return []
        hs = [self.history(h) for h in histories]
        banned = []
        for b, h in enumerate(hs):
            extra = excludes[b] if excludes is not None and excludes[b] is not None else ()
            seen = {self.index[i] for i, _ in histories[b] if i in self.index}
            banned.append(set(h.items) | seen | {self.index[e] for e in extra if e in self.index})
        n = len(self.item_ids)
        mask = exclusion_mask(banned, n + 1)
        items, signals = batch_of([h if len(h) else History((), ()) for h in hs], self.model.cfg.max_len)
        scores = self.model.full_sort_predict(items, signals, exclude=mask)  # (B, n + 1)
        out = []
        for b, h in enumerate(hs):
            if not any(s in sig.POSITIVE for s in h.signals):
                out.append([])
                continue
            kk = min(k, n - len(banned[b]))
            top = scores[b].topk(max(kk, 0))
            out.append([(self.item_ids[i - 1], float(s)) for s, i in zip(top.values, top.indices.tolist())])
        return out
