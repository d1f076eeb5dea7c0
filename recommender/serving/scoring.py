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

from recommender.ml.scorer import Scorer

from ..activity import sequences
from ..models import ModelVersion, Recommendation, ScoringState
from . import answer_cache, stale_lists

log = logging.getLogger(__name__)


@lru_cache(maxsize=2)
def scorer_for(version_id: int, checksum: str) -> Scorer:
    """Return the scorer of a model version, loaded once per process and version."""
    version = ModelVersion.objects.get(pk=version_id)
    return Scorer.from_checkpoint(version.artifact_path)


def score_people(user_ids: list[int], *, version_id: int | None) -> int:
    """Recompute and store these people's lists; return how many lists were written.

    `version_id=None` means the active version. A version that is no longer active is
    not used: its activation's successor rescores everyone anyway.
    """
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None or (version_id is not None and version.pk != version_id):
        return 0
    user_ids = sorted(set(user_ids))
    claimed = stale_lists.stale_claim(user_ids)
    try:
        return _score_and_store(user_ids, version)
    except BaseException:
        stale_lists.stale_restore(claimed)
        raise


def with_new_items(scorer: Scorer) -> Scorer:
    """Let a model trained with text vectors rank the items added since it was trained,
    by their text alone (those already embedded; the others once they are)."""
    if not scorer.model.cfg.text_dim:
        return scorer
    from recommender.text.encoder import model_info
    from recommender.text.store import vector_from_bytes

    from ..models import ItemText

    info = model_info()
    known = {int(i) for i in scorer.item_ids}
    rows = [(pk, dim, data) for pk, dim, data in ItemText.objects.filter(
        model_name=info.name, model_version=info.version).exclude(item_id__in=known).values_list(
            "item_id", "dim", "vector") if dim == scorer.model.cfg.text_dim]
    if rows:
        import numpy as np

        scorer.extend([str(pk) for pk, _d, _v in rows],
                      np.stack([vector_from_bytes(v, d) for _pk, d, v in rows]))
    return scorer


def _score_and_store(user_ids: list[int], version: ModelVersion) -> int:
    scorer = with_new_items(scorer_for(version.pk, version.checksum))
    histories = sequences.histories(user_ids, max_len=scorer.model.cfg.max_len)
    blocked = sequences.seen_and_blocked(user_ids)
    watermark = sequences.event_watermark()
    top = scorer.recommend_many(
        [[(str(i), signal) for i, signal in histories[uid]] for uid in user_ids],
        settings.RECSITE_TOP_N,
        [{str(i) for i in blocked[uid]} for uid in user_ids],
    )
    _store(dict(zip(user_ids, top, strict=True)), version, timezone.now(), watermark)
    return len(user_ids)


def _store(top: dict[int, list[tuple[str, float]]], version: ModelVersion, now, watermark: int) -> None:
    """Replace these people's stored lists ({person: [(item pk, score)], best first}) in
    one transaction, and retire their cached API answers when it commits."""
    user_ids = list(top)
    rows = [
        Recommendation(user_id=uid, item_id=int(item), rank=rank, score=score,
                       model_version=version, computed_at=now)
        for uid, ranked in top.items()
        for rank, (item, score) in enumerate(ranked, start=1)
    ]
    with transaction.atomic():
        Recommendation.objects.filter(user_id__in=user_ids).delete()
        Recommendation.objects.bulk_create(rows, batch_size=2000)
        answer_cache.people_changed(user_ids)
        ScoringState.objects.bulk_create(
            [ScoringState(user_id=uid) for uid in user_ids], ignore_conflicts=True
        )
        ScoringState.objects.filter(user_id__in=user_ids).update(
            model_version=version, scored_at=now, event_watermark=watermark
        )
