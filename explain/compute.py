"""Worker side: compute and store explanation records of people's current lists.

Imports torch (through the scorer): only workers import this module.
"""
import logging
import time

from django.db import transaction
from django.utils import timezone

from recommender.activity import sequences
from recommender.serving import answer_cache
from recommender.ml.scorer import model_history
from recommender.ml import signals as sig
from recommender.models import Item, ModelVersion, Recommendation
from recommender.serving.scoring import scorer_for, with_new_items

from .attribution import AttributionConfig, PersonExplanation, explain_history
from .models import Explanation, ExplanationStatus
from .records import RECORD_FORMAT, ExplanationRecord

log = logging.getLogger(__name__)

# Every recommendation the home page shows gets an explanation ahead of time; others
# (further down a long API list) are computed when asked for.
EXPLAIN_TOP_N = 12


def explain_people(user_ids: list[int]) -> int:
    """Compute the missing explanations of these people's current lists; return how many."""
    done = 0
    for user_id in sorted(set(user_ids)):
        done += explain_person(user_id)
    return done


def _wanted(user_id: int) -> list[Recommendation]:
    """Return the person's recommendations that need an explanation (top N and requested)."""
    recs = list(Recommendation.objects.filter(user_id=user_id).order_by("rank"))
    asked = set(Explanation.objects.filter(
        user_id=user_id, status__in=[ExplanationStatus.QUEUED, ExplanationStatus.FAILED]
    ).values_list("item_id", flat=True))
    current = {
        (item_id, computed_at, version_id)
        for item_id, computed_at, version_id in Explanation.objects.ready().filter(
            user_id=user_id).values_list("item_id", "for_computed_at", "model_version_id")
    }
    return [r for r in recs
            if (r.rank <= EXPLAIN_TOP_N or r.item_id in asked)
            and (r.item_id, r.computed_at, r.model_version_id) not in current]


def explain_person(user_id: int) -> int:
    """Explain one person's recommendations that lack a current record; return how many.

    Idempotent: records already matching the stored list are left alone, and a record is
    written only if the list it explains is still the stored one.
    """
    wanted = _wanted(user_id)
    if not wanted:
        return 0
    version = ModelVersion.objects.get(pk=wanted[0].model_version_id)
    scorer = with_new_items(scorer_for(version.pk, version.checksum))
    index = scorer.index  # {external id (str(Item.pk)): model index}
    max_len = scorer.model.cfg.max_len
    wanted = [r for r in wanted if str(r.item_id) in index]
    entries = [(i, s) for i, s in sequences.histories([user_id], max_len=max_len)[user_id] if str(i) in index]
    history = model_history((index[str(i)], s) for i, s in entries)
    if not wanted or not len(history):
        return 0
    Explanation.objects.filter(user_id=user_id, item_id__in=[r.item_id for r in wanted]).update(
        status=ExplanationStatus.RUNNING)
    blocked = sequences.seen_and_blocked([user_id])[user_id]
    started = time.perf_counter()
    person = explain_history(
        scorer.model, history, [index[str(r.item_id)] for r in wanted],
        exclude=[index[str(i)] for i in blocked if str(i) in index], config=AttributionConfig(),
    )
    per_item_ms = (time.perf_counter() - started) * 1000 / len(wanted)
    records = _records(person, scorer.item_ids, did=[s for _i, s in entries][-len(person.history):])
    _name_boosts(records, [r.item_id for r in wanted])
    now = timezone.now()
    with transaction.atomic():
        still = {(r.item_id, r.computed_at) for r in Recommendation.objects.filter(
            user_id=user_id, item_id__in=[r.item_id for r in wanted])}
        written = 0
        for rec, data in zip(wanted, records, strict=True):
            if (rec.item_id, rec.computed_at) not in still:
                continue  # the list changed meanwhile; its own refresh explains it
            Explanation.objects.update_or_create(
                user_id=user_id, item_id=rec.item_id,
                defaults={"model_version_id": rec.model_version_id, "for_computed_at": rec.computed_at,
                          "status": ExplanationStatus.READY, "rank": rec.rank,
                          "verified": data["faithfulness"]["verified"], "data": data,
                          "computed_at": now, "compute_ms": per_item_ms, "error": ""},
            )
            written += 1
        # Only a ready record carries a reason into the API's list: retire that answer.
        answer_cache.people_changed([user_id])
    return written


def _records(person: PersonExplanation, item_ids: list[str], did: list[int] | None = None) -> list[ExplanationRecord]:
    """Return one JSON-ready record per explained item, with Item primary keys.

    ``did``: what the person did with each history entry (its signal before
    ``model_history``'s cold-start stand-in: views the model reads as interactions are
    still views to the person); the pages word reasons from it. Default: ``signals``.
    """
    def pk(index: int | None) -> int | None:
        return None if index is None else int(item_ids[index - 1])

    def r(values: list) -> list:
        return [round(v, 5) for v in values]  # a record holds ~1,000 numbers: keep it small

    history = [pk(i) for i in person.history]
    top = [pk(i) for i in person.top]
    signals = list(person.signals)
    did = list(did) if did is not None else signals
    if len(did) != len(history):
        raise ValueError("did: one signal per history entry")
    records = []
    for e in person.items:
        cf = dict(e.counterfactual)
        cf["removed"] = [history[u] for u in cf["removed"]]
        cf["replacement"] = pk(cf["replacement"])
        records.append(ExplanationRecord(
            format=RECORD_FORMAT, history=history, signals=signals, did=did, top=top,
            rank=e.rank, score=e.score, summary=e.summary, rest=e.rest,
            head=[r(h) for h in e.head], weights=r(e.weights), terms=r(e.terms),
            contribution=r(e.contribution), rollout=r(e.rollout),
            loo_delta=r(e.loo_delta), loo_rank=e.loo_rank,
            faithfulness=e.faithfulness, counterfactual=cf,
            # what it is for is filled in by _name_boosts
            boost=None if e.rank_without_boost is None else {
                "value": round(e.boost, 5), "rank_without": e.rank_without_boost,
                "genres": [], "holding": 0, "choices": 0},
            # the named entries' signals too: the API's list words reasons from this key alone
            reason={"items": [history[u] for u in e.reason["units"]], "basis": e.reason["basis"],
                    "did": [did[u] for u in e.reason["units"]], "boost": None},
        ))
    return records


def _name_boosts(records: list[ExplanationRecord], item_ids: list[int]) -> None:
    """Say what each record's new-person boost is for: the genres of the recommended item
    held by the most of the person's choices (``Recommender.new_person_lift``: what the
    model reads as a choice, ``signals.POSITIVE``), how many hold them, of how many. The
    reason carries it, so the API's list can word it from the reason alone."""
    boosted = [(r, i) for r, i in zip(records, item_ids, strict=True) if r["boost"]]
    if not boosted:
        return
    history, signals = boosted[0][0]["history"], boosted[0][0]["signals"]
    choices = [i for i, s in zip(history, signals, strict=True) if s in sig.POSITIVE]
    wanted = {*choices, *(i for _r, i in boosted)}
    genres = {i.pk: {g.name for g in i.genres.all()} for i in Item.objects.filter(pk__in=wanted).prefetch_related("genres")}
    for record, item in boosted:
        held = {g: sum(g in genres.get(c, ()) for c in choices) for g in genres.get(item, ())}
        most = max(held.values(), default=0)
        record["boost"].update(genres=sorted(g for g, k in held.items() if k == most and k), holding=most,
                               choices=len(choices))
        record["reason"]["boost"] = {**record["boost"], "rank": record["rank"]}


def explain_failed(user_id: int, message: str) -> None:
    """Mark the person's running explanations failed (a later request queues them again)."""
    Explanation.objects.filter(user_id=user_id, status=ExplanationStatus.RUNNING).update(
        status=ExplanationStatus.FAILED, error=message[:2000])
