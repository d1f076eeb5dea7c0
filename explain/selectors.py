"""Reads: a person's stored explanation, shaped for pages and the API (``presentation``)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from recommender.ml import signals as sig
from recommender.ml.records import EpochRecord
from recommender.models import Item, ModelVersion, Recommendation, TrainingRun
from recsite.accounts.models import User

from . import plots
from .models import Explanation
from .presentation import (
    HEATMAP_COLUMNS, HEATMAP_ROWS, ExplanationView, columns_of, contributions, counting, graph_of, reason_text,
    top_units,
)


def _current(user: User, recs: list[Recommendation]) -> dict[int, Explanation]:
    """Return {item id: ready record} for those of `recs` whose record explains that list."""
    key = {r.item_id: (r.computed_at, r.model_version_id) for r in recs}
    records = Explanation.objects.ready().filter(user=user, item_id__in=list(key))
    return {e.item_id: e for e in records if key[e.item_id] == (e.for_computed_at, e.model_version_id)}


def explanation_reasons(*, user: User, item_ids: list[int]) -> dict[int, str]:
    """Return {item id: reason sentence} for those of these recommendations already explained.

    Reads only the reason of each record (a JSON key, extracted by the database), not the
    ~1,000 numbers around it: this is on the API's list path.
    """
    lists = {item: (at, version) for item, at, version in Recommendation.objects.filter(
        user=user, item_id__in=item_ids).values_list("item_id", "computed_at", "model_version_id")}
    records = Explanation.objects.ready().filter(user=user, item_id__in=list(lists))
    current = {item: reason for item, at, version, reason
               in records.values_list("item_id", "for_computed_at", "model_version_id", "data__reason")
               if lists[item] == (at, version) and reason}
    needed = set(current) | {i for reason in current.values() for i in reason["items"]}
    items = {i.pk: i for i in Item.objects.filter(pk__in=needed).prefetch_related("genres")}
    return {item_id: reason_text(items[item_id], reason, items) for item_id, reason in current.items()}


def explanation_view(*, user: User, item_id: int, third_person: bool = False) -> ExplanationView | None:
    """Return the stored explanation of one of this person's current recommendations, or
    None if it is not computed yet; raise Recommendation.DoesNotExist if the item is not
    among their current recommendations. `third_person`: worded for staff ("they rated")."""
    rec = Recommendation.objects.get(user=user, item_id=item_id)
    recs = list(Recommendation.objects.filter(user=user, rank__lte=HEATMAP_ROWS).order_by("rank"))
    if all(r.item_id != item_id for r in recs):
        recs.append(rec)
    current = _current(user, recs)
    record = current.get(item_id)
    if record is None:
        return None
    rows = [current[r.item_id] for r in recs if r.item_id in current]
    data = record.data
    columns = columns_of(rows)
    by_weight = top_units(data["weights"], HEATMAP_COLUMNS)
    head_columns = [data["history"][u] for u in sorted(by_weight)]
    cf = data["counterfactual"]
    # genres only where the page names them (the reason, this item, the graph's history
    # items); titles alone for the rest of the history (the tables): up to 200 entries, whose
    # genres would cost more than the rest of these reads together
    with_genres = {item_id, *data["reason"]["items"], *(i for row in rows for i, _share in counting(row.data))}
    titled = {*columns, *head_columns, *cf["removed"], *(r.item_id for r in rows), *data["history"]}
    if cf["replacement"]:
        titled.add(cf["replacement"])
    items = {i.pk: i for i in Item.objects.filter(pk__in=with_genres).prefetch_related("genres")}
    items.update((i.pk, i) for i in Item.objects.filter(pk__in=titled - with_genres).only("id", "title").order_by())
    nodes, edges = graph_of(items[item_id], rows, items)
    return ExplanationView(item=items[item_id], record=record, items=items, rows=rows, columns=columns,
                           head_columns=head_columns, nodes=nodes, edges=edges, third_person=third_person)


def payload_from_view(view: ExplanationView) -> dict:
    """Return the API's JSON-ready explanation of a view (recommender.api.explanation_schema)."""
    data, f = view.data, view.data["faithfulness"]
    cf = data["counterfactual"]
    return {
        "item": view.item.pk,
        "rank": data["rank"],
        "reason": view.reason(),
        "reason_basis": data["reason"]["basis"],
        "reason_items": [{**r, "signal": sig.NAMES.get(r["signal"], "interacted")} for r in view.reason_items()],
        "checked": view.checked,
        "weights": [{"item": r["item"], "title": r["title"], "signal": sig.NAMES.get(r["signal"], "interacted"),
                     "did": r["did"], "weight": r["weight"], "contribution": r["contribution"],
                     "leave_one_out": r["loo"], "rank_without": r["rank_without"]}
                    for r in view.weight_rows()],
        "faithfulness": {
            "comprehensiveness_at_3": f["comprehensiveness_at_3"], "random_at_3": f["random_at_3"],
            "loo_at_3": f["loo_at_3"], "kendall_tau": f["kendall_tau"], "top3_overlap": f["top3_overlap"],
            "rank_after_at_3": f["rank_after_head_at_3"], "rank_after_random_at_3": f["rank_after_random_at_3"],
            "rank_after_loo_at_3": f["rank_after_loo_at_3"], "verified": bool(f["verified"]),
            "summary": view.check_text(),
        },
        "boost": None if view.boost is None else {
            "value": view.boost["value"], "genres": view.boost["genres"], "holding": view.boost["holding"],
            "choices": view.boost["choices"], "rank_without": view.boost["rank_without"]},
        "counterfactual": {"removed": cf["removed"], "replacement": cf.get("replacement"),
                           "found": cf["found"], "rank_after": cf.get("rank"),
                           "summary": view.counterfactual_text()},
        "graph": {"nodes": [{k: n[k] for k in ("id", "item", "title", "kind", "weight", "x", "y")} for n in view.nodes],
                  "edges": view.edges},
        "plots": {"heatmap": view.heatmap_json(), "graph": view.graph_json()},
        "computed_at": view.record.computed_at.isoformat() if view.record.computed_at else None,
        "model_version": view.record.model_version_id,
    }


def explanation_payload(*, user, item_id: int) -> dict | None:
    """Return the stored explanation of one of this person's current recommendations as
    JSON-ready data, or None if it is not computed yet. Raise Recommendation.DoesNotExist
    if item_id is not among this person's current recommendations (the API answers 404)."""
    view = explanation_view(user=user, item_id=item_id)
    return None if view is None else payload_from_view(view)


# ---- staff --------------------------------------------------------------------------------

def model_overview(*, popular: int = 15) -> dict:
    """Return training curves per run, metrics per version and an item-to-item graph.

    The graph links popular items by the average verified contribution of one to the
    other's recommendation, over stored explanations (no model is loaded in the web).
    """
    from django.db.models import Count

    runs = list(TrainingRun.objects.order_by("-created_at")[:8])
    histories: list[list[EpochRecord]] = [r.history for r in reversed(runs)]
    curves = plots.training_curves(runs=[
        {"label": f"run {r.pk}", "epochs": [h["epoch"] for h in history],
         "ndcg": [h.get("val_ndcg@10") for h in history]} for r, history in zip(reversed(runs), histories, strict=True)],
        target="model-curves")
    versions = list(ModelVersion.objects.order_by("-created_at")[:20])
    top = list(Item.objects.annotate(n=Count("events")).filter(n__gt=0).order_by("-n", "id")[:popular])
    ids = {i.pk for i in top}
    sums: dict[tuple[int, int], list[float]] = {}
    records = Explanation.objects.ready().filter(item_id__in=ids).order_by("-computed_at")
    for record in records[:2000].iterator():
        for hist, weight in contributions(record.data).items():
            if hist in ids and hist != record.item_id:
                sums.setdefault((hist, record.item_id), []).append(weight)
    edges = sorted(({"source": f"i{a}", "target": f"i{b}", "weight": sum(v) / len(v), "kind": "contribution"}
                    for (a, b), v in sums.items()), key=lambda e: -e["weight"])[:40]
    linked = {e["source"] for e in edges} | {e["target"] for e in edges}
    nodes = [{"id": f"i{i.pk}", "item": i.pk, "title": i.title, "kind": "recommended" if f"i{i.pk}" in linked else "history",
              "weight": 0.4} for i in top]
    pos = plots.graph_layout(nodes, edges)
    nodes = [{**n, "x": pos[n["id"]][0], "y": pos[n["id"]][1]} for n in nodes]
    graph = plots.graph(nodes=nodes, edges=edges, target="model-graph",
                        kind_labels={"history": _("popular item"), "recommended": _("linked popular item")})
    names = {n["id"]: n["title"] for n in nodes}
    return {"runs": runs, "versions": versions, "curves": curves, "graph": graph,
            "edges": [{"source": names[e["source"]], "target": names[e["target"]], "weight": e["weight"]}
                      for e in edges]}
