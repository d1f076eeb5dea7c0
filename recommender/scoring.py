"""Worker side of scoring: compute people's top-N lists and store each chunk atomically.

A chunk's lists are replaced in one transaction, so a person always sees a whole old
list or a whole new one, even if the worker dies mid-chunk (the task is then delivered
again and recomputes). Imports torch: only workers import this module.
"""
import logging
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import torch

from recommender.ml.checkpoint import load_checkpoint
from recommender.ml.data import pad_left

from . import dataset, pipeline
from .models import ModelVersion, Recommendation, ScoringState

log = logging.getLogger(__name__)


class Scorer:
    """Top-k over the whole catalogue for many histories at once (external item ids)."""

    def __init__(self, checkpoint):
        self.model = checkpoint.build_model()
        self.item_map = checkpoint.item_map
        self.index = checkpoint.item_map.index()
        self.max_len = checkpoint.config.max_len

    @torch.no_grad()
    def recommend_batch(self, histories: list[list[str]], *, k: int, exclude: list[set[str]]):
        known = [[self.index[i] for i in h if i in self.index][-self.max_len:] for h in histories]
        result: list[list[tuple[str, float]]] = [[] for _ in histories]
        rows = [r for r, h in enumerate(known) if h]  # no known history: no personal list
        if not rows:
            return result
        scores = self.model.full_sort_predict(pad_left([known[r] for r in rows], self.max_len))
        for b, r in enumerate(rows):
            blocked = [self.index[i] for i in exclude[r] if i in self.index]
            scores[b, blocked] = float("-inf")
        top = scores.topk(min(k, self.item_map.n_items), dim=1)
        for b, r in enumerate(rows):
            result[r] = [(self.item_map.external(int(i)), float(v))
                         for v, i in zip(top.values[b], top.indices[b], strict=True) if v != float("-inf")]
        return result


@lru_cache(maxsize=2)
def scorer_for(version_id: int, checksum: str) -> Scorer:
    """Return the scorer of a model version, loaded once per process and version."""
    version = ModelVersion.objects.get(pk=version_id)
    return Scorer(load_checkpoint(version.artifact_path))


def score_people(user_ids: list[int], *, version_id: int | None) -> int:
    """Recompute and store these people's lists; return how many lists were written.

    `version_id=None` means the active version. A version that is no longer active is
    not used: its activation's successor rescores everyone anyway.
    """
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None or (version_id is not None and version.pk != version_id):
        return 0
    user_ids = sorted(set(user_ids))
    claimed = pipeline.stale_claim(user_ids)
    try:
        return _score_and_store(user_ids, version)
    except BaseException:
        pipeline.stale_restore(claimed)
        raise


def _score_and_store(user_ids: list[int], version: ModelVersion) -> int:
    scorer = scorer_for(version.pk, version.checksum)
    histories = dataset.histories(user_ids, max_len=scorer.max_len)
    blocked = dataset.seen_and_blocked(user_ids)
    watermark = dataset.event_watermark()
    top = scorer.recommend_batch(
        [[str(i) for i in histories[uid]] for uid in user_ids],
        k=settings.RECSITE_TOP_N,
        exclude=[{str(i) for i in blocked[uid]} for uid in user_ids],
    )
    now = timezone.now()
    rows = [
        Recommendation(user_id=uid, item_id=int(item), rank=rank, score=score,
                       model_version=version, computed_at=now)
        for uid, ranked in zip(user_ids, top, strict=True)
        for rank, (item, score) in enumerate(ranked, start=1)
    ]
    with transaction.atomic():
        Recommendation.objects.filter(user_id__in=user_ids).delete()
        Recommendation.objects.bulk_create(rows, batch_size=2000)
        ScoringState.objects.bulk_create(
            [ScoringState(user_id=uid) for uid in user_ids], ignore_conflicts=True
        )
        ScoringState.objects.filter(user_id__in=user_ids).update(
            model_version=version, scored_at=now, event_watermark=watermark
        )
    return len(user_ids)
