"""Reads: a person's stored explanation, shaped for pages and the API (figures built here)."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from recommender.models import Item, ModelVersion, Recommendation, TrainingRun
from recsite.accounts.models import User

from . import plots, reasons
from .models import Explanation, ExplanationStatus

HEATMAP_ROWS = 10  # the person's top recommendations
HEATMAP_COLUMNS = 12  # their most recent history items
EDGES_PER_ITEM = 3  # strongest verified contributors drawn per recommendation
TOP_K = 10
MAX_REMOVALS = 5


def _current(user: User, recs: list[Recommendation]) -> dict[int, Explanation]:
    """Return {item id: ready record} for those of `recs` whose record explains that list."""
    key = {r.item_id: (r.computed_at, r.model_version_id) for r in recs}
    records = Explanation.objects.filter(user=user, item_id__in=list(key), status=ExplanationStatus.READY)
    return {e.item_id: e for e in records if key[e.item_id] == (e.for_computed_at, e.model_version_id)}


def attributed(data: dict) -> list[float]:
    """Return the head's contribution per history item (records before it: the weights)."""
    return data.get("contribution") or data["weights"]


def contributions(data: dict) -> dict[int, float]:
    """Return {history item: verified contribution} of one record, scaled to sum to 1.

    Verified record: the head's contribution of each item that adds to the score and whose
    own removal lowers it. Otherwise the head is not trusted: the leave-one-out drops.
    """
    rows = zip(data["history"], attributed(data), data["loo_delta"], strict=True)
    if data["faithfulness"]["verified"]:
        kept = {item: c for item, c, d in rows if c > 0 and d > 0}
    else:
        kept = {item: d for item, _c, d in rows if d > 0}
    total = sum(kept.values()) or 1.0
    return {item: v / total for item, v in kept.items()}


def _hover_labels() -> tuple[str, str]:
    return _("weight"), _("score change without it")


def _reason_text(item: Item, data: dict, items: dict[int, Item]) -> str:
    """Return the reason sentence: the named items and the genres they share (with the item)."""
    chosen = [items[i] for i in data["reason"]["items"] if i in items]
    genres = set.intersection(*({g.name for g in it.genres.all()} for it in chosen)) if chosen else set()
    with_target = genres & {g.name for g in item.genres.all()}
    return reasons.reason_sentence(titles=[i.title for i in chosen], genres=sorted(with_target or genres),
                                   basis=data["reason"]["basis"])


def explanation_reasons(*, user: User, item_ids: list[int]) -> dict[int, str]:
    """Return {item id: reason sentence} for those of these recommendations already explained.

    Reads only the reason of each record (a JSON key, extracted by the database), not the
    ~1,000 numbers around it: this is on the API's list path.
    """
    lists = {item: (at, version) for item, at, version in Recommendation.objects.filter(
        user=user, item_id__in=item_ids).values_list("item_id", "computed_at", "model_version_id")}
    records = Explanation.objects.filter(user=user, item_id__in=list(lists), status=ExplanationStatus.READY)
    current = {item: reason for item, at, version, reason
               in records.values_list("item_id", "for_computed_at", "model_version_id", "data__reason")
               if lists[item] == (at, version) and reason}
    needed = set(current) | {i for reason in current.values() for i in reason["items"]}
    items = {i.pk: i for i in Item.objects.filter(pk__in=needed).prefetch_related("genres")}
    return {item_id: _reason_text(items[item_id], {"reason": reason}, items) for item_id, reason in current.items()}


@dataclass
class ExplanationView:
    """Everything a page or the API shows about one explained recommendation."""

    item: Item
    record: Explanation
    items: dict[int, Item]  # every item named anywhere below
    rows: list[Explanation]  # the person's explained top recommendations, by rank
    columns: list[int]  # recent history items (heatmap columns)
    head_columns: list[int]  # history items this recommendation weighs most
    nodes: list[dict]
    edges: list[dict]

    @property
    def data(self) -> dict:
        return self.record.data

    def title(self, pk: int | None) -> str:
        return self.items[pk].title if pk in self.items else "?"

    def reason(self) -> str:
        return _reason_text(self.item, self.data, self.items)

    def faithfulness_k(self) -> int:
        return min(3, max(len(self.data["history"]) - 1, 1))

    def faithfulness_text(self) -> str:
        f = self.data["faithfulness"]
        return reasons.faithfulness_sentence(
            k=self.faithfulness_k(), rank=self.data["rank"], rank_after=f["rank_after_head_at_3"],
            rank_after_random=f["rank_after_random_at_3"])

    def counterfactual_text(self) -> str:
        cf = self.data["counterfactual"]
        return reasons.counterfactual_sentence(
            removed=[self.title(i) for i in cf["removed"]],
            replacement=self.title(cf["replacement"]) if cf.get("replacement") else None,
            found=cf["found"], top_k=max(TOP_K, self.data["rank"]), most=MAX_REMOVALS)

    def weight_rows(self, limit: int | None = None) -> list[dict]:
        """Return history items by contribution: title, weight, contribution, leave-one-out
        change and rank without it."""
        d = self.data
        rows = [{"item": i, "title": self.title(i), "weight": w, "contribution": c, "loo": delta,
                 "rank_without": r}
                for i, w, c, delta, r in zip(d["history"], d["weights"], attributed(d), d["loo_delta"],
                                             d["loo_rank"], strict=True)]
        rows.sort(key=lambda r: -r["contribution"])
        return rows[:limit] if limit else rows

    def control_rows(self, most: int = 3) -> list[dict]:
        """Return the items a person may want to stop using: those the page names first."""
        d = self.data
        named = [*d["reason"]["items"], *d["counterfactual"]["removed"], *(r["item"] for r in self.weight_rows(most))]
        unique = list(dict.fromkeys(named))[:most]
        return [{"item": pk, "title": self.title(pk)} for pk in unique]

    def heatmap_json(self) -> dict:
        cells, loo = [], []
        for row in self.rows:
            w = dict(zip(row.data["history"], row.data["weights"], strict=True))
            d = dict(zip(row.data["history"], row.data["loo_delta"], strict=True))
            cells.append([w.get(c, 0.0) for c in self.columns])
            loo.append([d.get(c, 0.0) for c in self.columns])
        return plots.heatmap(rows=[self.title(r.item_id) for r in self.rows],
                             columns=[self.title(c) for c in self.columns], weights=cells, loo=loo,
                             target="explain-heatmap", row_label=_("recommended"),
                             column_label=_("your recent items"), hover_labels=_hover_labels())

    def head_rows(self) -> list[tuple[str, list[float]]]:
        d = self.data
        at = {name: dict(zip(d["history"], values, strict=True)) for name, values in
              [*((_("head %(n)s") % {"n": h + 1}, v) for h, v in enumerate(d["head"])),
               (_("all heads"), d["weights"]), (_("encoder rollout"), d["rollout"])]}
        return [(name, [values.get(c, 0.0) for c in self.head_columns]) for name, values in at.items()]

    def head_summaries(self, most: int = 3) -> list[tuple[str, list[tuple[str, float]]]]:
        """Return, per head row, its `most` heaviest items as (title, weight)."""
        out = []
        for name, values in self.head_rows():
            pairs = sorted(zip(self.head_columns, values, strict=True), key=lambda p: -p[1])[:most]
            out.append((name, [(self.title(pk), w) for pk, w in pairs]))
        return out

    def heads_json(self) -> dict:
        rows = self.head_rows()
        loo = dict(zip(self.data["history"], self.data["loo_delta"], strict=True))
        return plots.heatmap(rows=[r[0] for r in rows], columns=[self.title(c) for c in self.head_columns],
                             weights=[r[1] for r in rows],
                             loo=[[loo.get(c, 0.0) for c in self.head_columns] for _r in rows],
                             target="explain-heads", column_label=_("items this recommendation weighs most"),
                             hover_labels=_hover_labels())

    def graph_json(self) -> dict:
        return plots.graph(nodes=self.nodes, edges=self.edges, target="explain-graph",
                           kind_labels={"history": _("your item"), "recommended": _("recommended"),
                                        "focus": _("this recommendation"), "genre": _("genre")},
                           weight_label=_hover_labels()[0])

    def edge_rows(self) -> list[dict]:
        name = {n["id"]: n["title"] for n in self.nodes}
        return sorted(({"source": name[e["source"]], "target": name[e["target"]], "weight": e["weight"]}
                       for e in self.edges if e["kind"] == "contribution"), key=lambda e: -e["weight"])


def _graph(item: Item, rows: list[Explanation], items: dict[int, Item]) -> tuple[list[dict], list[dict]]:
    """Return positioned nodes and edges: history items -> recommendations, plus this item's genres."""
    nodes: dict[str, dict] = {}
    edges: list[dict] = []
    for row in rows:
        rid = f"r{row.item_id}"
        nodes[rid] = {"id": rid, "item": row.item_id, "title": items[row.item_id].title,
                      "kind": "focus" if row.item_id == item.pk else "recommended",
                      "weight": 1.0 if row.item_id == item.pk else 0.5}
        strongest = sorted(contributions(row.data).items(), key=lambda kv: -kv[1])[:EDGES_PER_ITEM]
        for hist, weight in strongest:
            hid = f"h{hist}"
            node = nodes.setdefault(hid, {"id": hid, "item": hist, "title": items[hist].title if hist in items else "?",
                                          "kind": "history", "weight": 0.0})
            node["weight"] = max(node["weight"], weight)
            edges.append({"source": hid, "target": rid, "weight": round(weight, 4), "kind": "contribution"})
    history_nodes = [n for n in nodes.values() if n["kind"] == "history"]
    for genre in item.genres.all():
        gid = f"g{genre.pk}"
        sharing = [n for n in history_nodes if n["item"] in items
                   and genre in items[n["item"]].genres.all()]
        if not sharing:
            continue
        nodes[gid] = {"id": gid, "item": None, "title": genre.name, "kind": "genre", "weight": 0.2}
        edges.append({"source": gid, "target": f"r{item.pk}", "weight": 0.2, "kind": "genre"})
        edges += [{"source": gid, "target": n["id"], "weight": 0.1, "kind": "genre"} for n in sharing]
    pos = plots.graph_layout(list(nodes.values()), edges)
    placed = [{**n, "x": round(pos[n["id"]][0], 4), "y": round(pos[n["id"]][1], 4)} for n in nodes.values()]
    return placed, edges


def explanation_view(*, user: User, item_id: int) -> ExplanationView | None:
    """Return the stored explanation of one of this person's current recommendations, or
    None if it is not computed yet; raise Recommendation.DoesNotExist if the item is not
    among their current recommendations."""
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
    columns = data["history"][-HEATMAP_COLUMNS:]
    by_weight = sorted(range(len(data["history"])), key=lambda u: -data["weights"][u])[:HEATMAP_COLUMNS]
    head_columns = [data["history"][u] for u in sorted(by_weight)]
    wanted = {item_id, *columns, *head_columns, *data["counterfactual"]["removed"], *data["reason"]["items"],
              *(r.item_id for r in rows)}
    for row in rows:
        wanted.update(i for i, _w in sorted(contributions(row.data).items(), key=lambda kv: -kv[1])[:EDGES_PER_ITEM])
    if data["counterfactual"].get("replacement"):
        wanted.add(data["counterfactual"]["replacement"])
    contribution = attributed(data)
    by_contribution = sorted(range(len(data["history"])), key=lambda u: -contribution[u])[:10]
    wanted.update(data["history"][u] for u in by_contribution)  # the weight table's rows
    # genres only where the page names them: the reason, this item and the graph
    with_genres = {item_id, *data["reason"]["items"]}
    for row in rows:
        with_genres.update(i for i, _w in sorted(contributions(row.data).items(), key=lambda kv: -kv[1])[:EDGES_PER_ITEM])
    items = {i.pk: i for i in Item.objects.filter(pk__in=with_genres).prefetch_related("genres")}
    items.update((i.pk, i) for i in Item.objects.filter(pk__in=wanted - with_genres).only("id", "title"))
    nodes, edges = _graph(items[item_id], rows, items)
    return ExplanationView(item=items[item_id], record=record, items=items, rows=rows, columns=columns,
                           head_columns=head_columns, nodes=nodes, edges=edges)


def payload_from_view(view: ExplanationView) -> dict:
    """Return the API's JSON-ready explanation of a view."""
    data = view.data
    cf = data["counterfactual"]
    return {
        "item": view.item.pk,
        "rank": data["rank"],
        "reason": view.reason(),
        "reason_basis": data["reason"]["basis"],
        "weights": [{"item": r["item"], "weight": r["weight"], "contribution": r["contribution"],
                     "leave_one_out": r["loo"], "rank_without": r["rank_without"]}
                    for r in view.weight_rows()],
        "faithfulness": {**data["faithfulness"], "summary": view.faithfulness_text()},
        "counterfactual": {"removed": cf["removed"], "replacement": cf.get("replacement"),
                           "found": cf["found"], "rank_after": cf.get("rank"),
                           "summary": view.counterfactual_text()},
        "graph": {"nodes": view.nodes, "edges": view.edges},
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
    curves = plots.training_curves(runs=[
        {"label": f"run {r.pk}", "epochs": [h["epoch"] for h in r.history],
         "ndcg": [h.get("val_ndcg@10") for h in r.history]} for r in reversed(runs)], target="model-curves")
    versions = list(ModelVersion.objects.order_by("-created_at")[:20])
    top = list(Item.objects.annotate(n=Count("events")).filter(n__gt=0).order_by("-n", "id")[:popular])
    ids = {i.pk for i in top}
    sums: dict[tuple[int, int], list[float]] = {}
    records = Explanation.objects.filter(status=ExplanationStatus.READY, item_id__in=ids).order_by("-computed_at")
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
