"""Writes that keep item text vectors current: mark items changed, run the encoder.

The web side only marks rows and queues a run on commit. A run (`TextRun`) walks the items
whose vector is missing, stale or of another model, in chunks by item id, each chunk a
task on the "text" queue: it re-reads the items, rebuilds their texts, embeds those whose
text or model changed, and writes the vectors and the run's cursor in one transaction.
A chunk delivered twice finds the cursor moved and does nothing; `text_sweep` resumes a
run whose chain broke (a lost message, a dead worker) and starts one for leftovers.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from recommender.models import Item, ItemText, RunStatus, TextRun
from recsite import dispatch

from .encoder import EncoderInfo, model_info
from .itemtext import item_text, text_hash
from .store import vector_to_bytes

log = logging.getLogger(__name__)

CHUNK_ITEMS = 256  # ~0.4 s of encoding here: a chunk never holds the queue for long
STALLED_AFTER = timedelta(minutes=2)  # a run without a heartbeat this long is resumed
OPEN = (RunStatus.QUEUED, RunStatus.RUNNING)


def items_needing_text(info: EncoderInfo) -> QuerySet[Item]:
    """Return the items without a fresh vector of this model, by id."""
    fresh = ItemText.objects.filter(stale=False, model_name=info.name, model_version=info.version)
    return Item.objects.exclude(pk__in=fresh.values("item_id")).order_by("pk")


def items_text_changed(item_ids: Iterable[int]) -> None:
    """Mark these items' vectors stale and queue a text run on commit.

    Call it whenever an item's title, year, genres, tags or description may have changed
    (imports, the admin); a run re-embeds only the items whose text really changed.
    """
    ids = sorted(set(item_ids))
    for start in range(0, len(ids), 500):  # stay far below SQLite's parameter limit
        ItemText.objects.filter(item_id__in=ids[start:start + 500], stale=False).update(stale=True)
    transaction.on_commit(lambda: text_run_schedule(reason="items changed"))


def _send_chunk(run: TextRun) -> bool:
    """Send the run's next chunk; if the broker is away, clear its heartbeat so the next
    schedule (the sweep, or `make run` once the broker is up) sends it at once."""
    sent = dispatch.send("recommender.tasks.text_run_chunk", run.pk, run.cursor)
    if not sent:
        TextRun.objects.filter(pk=run.pk, cursor=run.cursor).update(heartbeat_at=None)
    return sent


def text_run_schedule(*, reason: str = "", enqueue: bool = True) -> TextRun | None:
    """Start a run if items need a vector and none is open; resume an open run whose
    chain stalled. Return the open run, or None when every vector is current.

    With `enqueue`, its next chunk is sent to the text queue (on commit); a broker outage
    is logged, not raised: the sweep sends it later. Without, the caller runs the chunks.
    """
    try:
        info = model_info()
    except Exception:  # noqa: BLE001 - no encoder installed: nothing can be embedded
        log.warning("text encoder unavailable; item vectors not scheduled", exc_info=True)
        return None
    run = TextRun.objects.filter(status__in=OPEN).first()
    if run is not None:
        if enqueue and (run.heartbeat_at is None or run.heartbeat_at < timezone.now() - STALLED_AFTER):
            TextRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
            _send_chunk(run)
        return run
    total = items_needing_text(info).count()
    if total == 0:
        return None
    try:
        with transaction.atomic():
            run = TextRun.objects.create(reason=reason[:64], model_name=info.name, model_version=info.version,
                                         total=total, heartbeat_at=timezone.now())
    except IntegrityError:  # another process opened one just now
        return TextRun.objects.filter(status__in=OPEN).first()
    if enqueue:
        transaction.on_commit(lambda: _send_chunk(run))
    return run


def _texts(items: list[Item]) -> dict[int, str]:
    """Return {item id: text}; genres by name, tags in the order they were given."""
    tags: dict[int, list[str]] = {}
    for item_id, name in Item.tags.through.objects.filter(item_id__in=[i.pk for i in items]).order_by(
            "id").values_list("item_id", "tag__name"):
        tags.setdefault(item_id, []).append(name)
    return {
        item.pk: item_text(title=item.title, year=item.year, genres=[g.name for g in item.genres.all()],
                           tags=tags.get(item.pk, ()), description=item.description)
        for item in items
    }


def text_run_chunk(run_id: int, cursor: int) -> str:
    """Embed the next chunk of a run after item id `cursor`; return "continue:<cursor>"
    when more remain, "done" when the run ended, "skipped" when another delivery of this
    chunk already did it (or the run is not open)."""
    from .encoder import shared_encoder

    run = TextRun.objects.filter(pk=run_id, status__in=OPEN, cursor=cursor).first()
    if run is None:
        return "skipped"
    info = model_info()
    if (run.model_name, run.model_version) != (info.name, info.version):
        # The encoder was upgraded under this run: end it, the next one uses the new model.
        TextRun.objects.filter(pk=run.pk, status__in=OPEN).update(
            status=RunStatus.FAILED, error="The encoder changed during the run.", finished_at=timezone.now())
        text_run_schedule(reason="model changed")
        return "done"
    items = list(items_needing_text(info).filter(pk__gt=cursor).prefetch_related("genres")[:CHUNK_ITEMS])
    texts = _texts(items)
    stored = {row.item_id: row for row in ItemText.objects.filter(item_id__in=texts)}
    todo = [pk for pk, text in texts.items()
            if pk not in stored or stored[pk].text_hash != text_hash(text)
            or (stored[pk].model_name, stored[pk].model_version) != (info.name, info.version)]
    vectors = shared_encoder().encode([texts[pk] for pk in todo]) if todo else None
    now = timezone.now()
    with transaction.atomic():
        locked = TextRun.objects.select_for_update().filter(pk=run.pk, status__in=OPEN, cursor=cursor).first()
        if locked is None:
            return "skipped"
        rows = [ItemText(item_id=pk, text=texts[pk], text_hash=text_hash(texts[pk]), model_name=info.name,
                         model_version=info.version, dim=info.dim, vector=vector_to_bytes(vectors[n]),
                         computed_at=now, stale=False) for n, pk in enumerate(todo)]
        ItemText.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["item"],
            update_fields=["text", "text_hash", "model_name", "model_version", "dim", "vector", "computed_at",
                           "stale"])
        unchanged = [pk for pk in texts if pk not in set(todo)]
        ItemText.objects.filter(item_id__in=unchanged).update(stale=False)
        locked.cursor = items[-1].pk if items else cursor
        locked.done += len(items)
        locked.embedded += len(todo)
        locked.heartbeat_at = now
        more = len(items) == CHUNK_ITEMS
        if more:
            locked.status = RunStatus.RUNNING
            locked.save(update_fields=["cursor", "done", "embedded", "heartbeat_at", "status"])
        else:
            locked.status = RunStatus.SUCCEEDED
            locked.finished_at = now
            locked.done = max(locked.done, locked.total)
            locked.save(update_fields=["cursor", "done", "embedded", "heartbeat_at", "status", "finished_at"])
    if more:
        return f"continue:{locked.cursor}"
    # Items that changed behind the cursor while this run went on get a run of their own.
    transaction.on_commit(lambda: text_run_schedule(reason="changed during a run"))
    return "done"


def text_run_fail(run_id: int, message: str) -> None:
    """End an open run as failed with a message (after its retries ran out)."""
    TextRun.objects.filter(pk=run_id, status__in=OPEN).update(
        status=RunStatus.FAILED, error=message[:2000], finished_at=timezone.now())


def text_stale_count() -> int:
    """Return how many items lack a fresh vector of the installed model (0 without one)."""
    try:
        return items_needing_text(model_info()).count()
    except Exception:  # noqa: BLE001
        return 0
