"""What a page and the API show of one explained recommendation: its reason, tables,
figures and the sentences around them, built from the stored record (``records.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.utils.translation import gettext as _

from recommender.catalogue.genres import genre_label
from recommender.ml import signals as sig
from recommender.models import Item

from . import plots, reasons
from .models import Explanation
from .records import ExplanationRecord, Reason, ReasonBoost

HEATMAP_ROWS = 10  # the person's top recommendations
HEATMAP_COLUMNS = 12  # the history items that matter most across them
EDGES_PER_ITEM = 3  # strongest checked contributors drawn per recommendation
# An item counts for a recommendation (a line in the graph, a "don't use" button) when its
# checked contribution is at least this share of the largest one: the reason's own floor
# (explain.attribution.AttributionConfig.reason_floor).
COUNTS_FLOOR = 0.2
TABLE_ROWS = 8  # rows of "what counted most"
TOP_K = 10
MAX_REMOVALS = 5


def effects(data: ExplanationRecord) -> list[float]:
    """Return what each history entry did to this recommendation's score, as the page shows
    it (> 0 raised it, < 0 lowered it): the contributions of a verified record; otherwise
    (they did not pass the removal check) the leave-one-out drops, which the reason names."""
    return data["contribution"] if data["faithfulness"]["verified"] else data["loo_delta"]


def contributions(data: ExplanationRecord) -> dict[int, float]:
    """Return {history item: checked contribution} of one record, scaled to sum to 1.

    Verified record: the contribution of each item that adds to the score and whose own
    removal lowers it. Otherwise the contributions are not trusted: the leave-one-out drops.
    Never a low rating: it is evidence against, never a reason for.
    """
    rows = zip(data["history"], data["contribution"], data["loo_delta"], data["did"], strict=True)
    if data["faithfulness"]["verified"]:
        kept = {item: c for item, c, d, s in rows if c > 0 and d > 0 and s not in sig.NEGATIVE}
    else:
        kept = {item: d for item, _c, d, s in rows if d > 0 and s not in sig.NEGATIVE}
    total = sum(kept.values()) or 1.0
    return {item: v / total for item, v in kept.items()}


def counting(data: ExplanationRecord, most: int = EDGES_PER_ITEM) -> list[tuple[int, float]]:
    """Return the history items that count for this recommendation, strongest first, as
    (item, share of the checked contributions): at least COUNTS_FLOOR of the largest."""
    shares = sorted(contributions(data).items(), key=lambda kv: -kv[1])
    if not shares:
        return []
    return [(item, share) for item, share in shares if share >= COUNTS_FLOOR * shares[0][1]][:most]


def top_units(values: list[float], k: int) -> list[int]:
    """Return the indices of the k largest values, largest first, ties most recent first:
    the order ``explain.attribution.top_units`` removes them in (the web never imports torch)."""
    return sorted(range(len(values)), key=lambda u: (-values[u], -u))[:k]


def named_items(reason: Reason, items: dict[int, Item]) -> list[tuple[Item, int]]:
    """Return (item, what the person did) of each item a reason names (never a low rating)."""
    return [(items[i], s) for i, s in zip(reason["items"], reason["did"], strict=True)
            if i in items and s not in sig.NEGATIVE]


def boost_of(reason: Reason) -> ReasonBoost | None:
    """Return a new person's genre boost of a record's reason where it moved the item up
    (``explain.compute._name_boosts``), else None."""
    boost = reason["boost"]
    if not boost or not boost["genres"] or boost["rank_without"] <= boost["rank"]:
        return None
    return boost


def reason_text(item: Item, reason: Reason, items: dict[int, Item], third_person: bool = False) -> str:
    """Return the reason: the named items, what the person did, the genres they share; and
    for a new person, the genre boost where it moved the item up."""
    named = named_items(reason, items)
    chosen = [it for it, _s in named]
    genres = set.intersection(*({g.name for g in it.genres.all()} for it in chosen)) if chosen else set()
    with_target = genres & {g.name for g in item.genres.all()}
    boost = boost_of(reason)
    said = "" if boost and not named else reasons.reason_sentence(
        named=[(it.title, s) for it, s in named], genres=sorted(with_target or genres), third_person=third_person)
    if boost:
        return reasons.sentences([said, reasons.boost_sentence(
            genres=boost["genres"], holding=boost["holding"], choices=boost["choices"],
            rank_without=boost["rank_without"], third_person=third_person)])
    return said


def _signed(value: float) -> str:
    """Return a score difference as text: "+0.123", "-0.045", "0.000" (never "-0.000")."""
    return "0.000" if round(value, 3) == 0 else f"{value:+.3f}"


@dataclass
class ExplanationView:
    """Everything a page or the API shows about one explained recommendation."""

    item: Item
    record: Explanation
    items: dict[int, Item]  # every item named anywhere below, with genres
    rows: list[Explanation]  # the person's explained top recommendations, by rank
    columns: list[int]  # history items that matter most across the rows (heatmap columns)
    head_columns: list[int]  # history items this recommendation weighs most
    nodes: list[dict]
    edges: list[dict]
    third_person: bool = False  # staff reading someone else's: "they rated"

    @property
    def data(self) -> ExplanationRecord:
        return self.record.data

    def title(self, pk: int | None) -> str:
        return self.items[pk].title if pk in self.items else "?"

    def did_of(self, data: ExplanationRecord | None = None) -> dict[int, int]:
        """Return {history item: what the person did} of a record (this one by default)."""
        data = data or self.data
        return dict(zip(data["history"], data["did"], strict=True))

    def reason(self) -> str:
        return reason_text(self.item, self.data["reason"], self.items, self.third_person)

    def reason_items(self) -> list[dict]:
        """Return the items the reason names: item, title, what the person did."""
        return [{"item": it.pk, "title": it.title, "signal": s} for it, s in named_items(self.data["reason"], self.items)]

    # ---- the removal check ----------------------------------------------------------------
    def faithfulness_k(self) -> int:
        """Return how many items the check removed (3, fewer in a short history)."""
        return min(3, max(len(self.data["history"]) - 1, 1))

    @property
    def checked(self) -> bool:
        """Return True if the page may say "checked by removal": the record is verified and
        removing the items that counted most did not move the recommendation up."""
        f = self.data["faithfulness"]
        return bool(f["verified"]) and f["rank_after_head_at_3"] >= self.data["rank"]

    def check_text(self) -> str:
        """Return what removal showed: the check of a verified record, or for the fallback
        what removing each named item alone does; "" when no single item is named."""
        d, f = self.data, self.data["faithfulness"]
        if self.checked:
            units = top_units(d["contribution"], self.faithfulness_k())
            return reasons.check_sentence(
                removed=[self.title(d["history"][u]) for u in units],
                counted=sum(d["contribution"][u] > 0 for u in units), rank=d["rank"],
                rank_after=f["rank_after_head_at_3"], rank_after_random=f["rank_after_random_at_3"])
        rank_without = dict(zip(d["history"], d["loo_rank"], strict=True))
        named = [(r["title"], rank_without[r["item"]]) for r in self.reason_items()]
        return reasons.one_by_one_sentence(ranks=named, rank=d["rank"]) if named else ""

    def counterfactual_text(self) -> str:
        cf = self.data["counterfactual"]
        return reasons.counterfactual_sentence(
            removed=[self.title(i) for i in cf["removed"]],
            replacement=self.title(cf["replacement"]) if cf["replacement"] else None,
            found=cf["found"], top_k=max(TOP_K, self.data["rank"]), most=MAX_REMOVALS,
            third_person=self.third_person)

    @property
    def boost(self) -> ReasonBoost | None:
        """Return this recommendation's new-person genre boost where it moved it up, else None."""
        return boost_of(self.data["reason"])

    def boost_row(self) -> dict | None:
        """Return the boost as a row of "what counted most": its genres, effect, rank without it."""
        b = self.boost
        if b is None:
            return None
        return {"title": _("Head start for new people: %(genres)s") % {
                    "genres": reasons.genre_list(b["genres"])},
                "value": b["value"], "effect_signed": _signed(b["value"]), "rank_without": b["rank_without"],
                "rank_without_text": self.rank_text(b["rank_without"])}

    # ---- tables ---------------------------------------------------------------------------
    @cached_property
    def _effects(self) -> list[float]:
        return effects(self.data)

    @cached_property
    def _rank_format(self) -> str:
        return _("#%(rank)s")  # translated once per page, not once per table row

    def rank_text(self, rank: int) -> str:
        """Return a rank as the page writes it ("#3")."""
        return self._rank_format % {"rank": rank}

    def _entry(self, u: int) -> dict:
        """Return the table row of history entry `u` (``weight_rows``); "…_text": as the page
        writes it (the template formats none of a row's numbers)."""
        d, e = self.data, self._effects[u]
        return {"item": d["history"][u], "title": self.title(d["history"][u]), "signal": d["did"][u],
                "did": reasons.did_label(d["did"][u]), "weight": d["weights"][u], "contribution": d["contribution"][u],
                "loo": d["loo_delta"][u], "rank_without": d["loo_rank"][u], "effect": e, "direction": direction(e),
                "signed": _signed(d["contribution"][u]), "change": _signed(-d["loo_delta"][u]),
                "effect_signed": _signed(e), "weight_text": f"{d['weights'][u]:.3f}",
                "rank_without_text": self.rank_text(d["loo_rank"][u])}

    def weight_rows(self, limit: int | None = None, by: str = "contribution") -> list[dict]:
        """Return history entries by contribution (`by="effect"`: by what the page shows,
        ``effects``), largest first (with `limit`: the `limit` largest in size, raising or
        lowering): title, what the person did, weight, effect ("effect_signed" as text),
        contribution ("signed": as text), the score change without it ("change": -loo,
        as text; below 0: it helped) and the rank without it.

        Rows are built only for the entries returned: a page shows 8 of up to 200.
        """
        values = self.data["contribution"] if by == "contribution" else self._effects
        units = list(range(len(values)))
        if limit:
            units = sorted(units, key=lambda u: -abs(values[u]))[:limit]
        return [self._entry(u) for u in sorted(units, key=lambda u: -values[u])]

    def heaviest_rows(self, most: int) -> list[dict]:
        """Return the `most` history entries the model weighed most, heaviest first
        (rows as ``weight_rows``)."""
        weights = self.data["weights"]
        return [self._entry(u) for u in sorted(range(len(weights)), key=lambda u: -weights[u])[:most]]

    def control_rows(self, most: int = 3) -> list[dict]:
        """Return the items a person may want to stop using: those that count for this
        recommendation (the reason's, then ``counting``), never one that does not count."""
        named = [r["item"] for r in self.reason_items()]  # what the reason names counts, by definition
        counts = [item for item, _share in counting(self.data, most=most)]
        unique = list(dict.fromkeys([*named, *counts]))[:most]
        label = _("Don't use “%(title)s” for my recommendations")
        return [{"item": pk, "title": self.title(pk), "label": label % {"title": self.title(pk)}} for pk in unique]

    def graph_rows(self) -> list[dict]:
        """Return, per recommendation in the graph, the items drawn as counting for it."""
        return [{"item": row.item_id, "title": self.title(row.item_id),
                 "rank_text": self.rank_text(row.data["rank"]), "focus": row.item_id == self.item.pk,
                 "counts": [{"title": self.title(i), "share": share, "percent_text": str(round(100 * share))}
                            for i, share in counting(row.data)]}
                for row in self.rows]

    # ---- figures --------------------------------------------------------------------------
    def heatmap_json(self) -> dict:
        """Return the heatmap: rows = top recommendations, columns = the items that matter,
        cells = signed contribution relative to the largest shown (raised / lowered)."""
        cells, hover_did, hover_e, hover_change = [], [], [], []
        # a new person's genre boost: a column of its own, first, where it moved any row up
        boosted = any(boost_of(r.data["reason"]) for r in self.rows)
        for row in self.rows:
            d = row.data
            e = dict(zip(d["history"], effects(d), strict=True))
            loo = dict(zip(d["history"], d["loo_delta"], strict=True))
            acted = self.did_of(d)
            boost = [d["boost"]["value"] if d["boost"] else 0.0] if boosted else []
            cells.append(boost + [e.get(i, 0.0) for i in self.columns])
            hover_did.append([""] * len(boost) + [reasons.did_label(acted[i]) if i in acted else "" for i in self.columns])
            hover_e.append([_signed(v) for v in boost] + [_signed(e.get(i, 0.0)) for i in self.columns])
            hover_change.append([_signed(-v) for v in boost] + [_signed(-loo.get(i, 0.0)) for i in self.columns])
        scale = colour_scale([abs(v) for r in cells for v in r])
        head_start = [_("head start")] if boosted else []
        return plots.heatmap(
            rows=[self.title(r.item_id) for r in self.rows],
            columns=head_start + [self.title(c) for c in self.columns],
            values=[[max(-1.0, min(1.0, v / scale)) for v in r] for r in cells], scale="effect",
            legend=(_("lowered it"), _("no effect"), _("raised it")),
            hover=[(_("what they did") if self.third_person else _("what you did"), hover_did),
                   (_("effect on the score"), hover_e), (_("score change without it"), hover_change)],
            target="explain-heatmap",
            column_label=_("their items that matter most") if self.third_person else _("your items that matter most"))

    def head_rows(self) -> list[tuple[str, list[float]]]:
        d = self.data
        at = {name: dict(zip(d["history"], values, strict=True)) for name, values in
              [*((_("head %(n)s") % {"n": h + 1}, v) for h, v in enumerate(d["head"])),
               (_("all heads"), d["weights"]), (_("encoder rollout"), d["rollout"])]}
        return [(name, [values.get(c, 0.0) for c in self.head_columns]) for name, values in at.items()]

    def head_summaries(self, most: int = 3) -> list[tuple[str, list[tuple[str, str]]]]:
        """Return, per head row, its `most` heaviest items as (title, weight as text)."""
        out = []
        for name, values in self.head_rows():
            pairs = sorted(zip(self.head_columns, values, strict=True), key=lambda p: -p[1])[:most]
            out.append((name, [(self.title(pk), f"{w:.3f}") for pk, w in pairs]))
        return out

    def heads_json(self) -> dict:
        rows = self.head_rows()
        loo = dict(zip(self.data["history"], self.data["loo_delta"], strict=True))
        change = [[_signed(-loo.get(c, 0.0)) for c in self.head_columns] for _r in rows]
        return plots.heatmap(rows=[r[0] for r in rows], columns=[self.title(c) for c in self.head_columns],
                             values=[r[1] for r in rows],
                             hover=[(_("weight"), [[f"{w:.3f}" for w in r[1]] for r in rows]),
                                    (_("score change without it"), change)],
                             target="explain-heads", column_label=_("items this recommendation weighs most"))

    def graph_json(self) -> dict:
        return plots.graph(nodes=self.nodes, edges=self.edges, target="explain-graph",
                           kind_labels={"history": _("their item") if self.third_person else _("your item"),
                                        "recommended": _("recommended"), "focus": _("this recommendation"),
                                        "genre": _("genre")})


def graph_of(view_item: Item, rows: list[Explanation], items: dict[int, Item]) -> tuple[list[dict], list[dict]]:
    """Return positioned nodes and edges: history items -> the recommendations they count
    for (COUNTS_FLOOR, at most EDGES_PER_ITEM each), plus this item's shared genres."""
    nodes: dict[str, dict] = {}
    edges: list[dict] = []
    for row in rows:
        rid = f"r{row.item_id}"
        nodes[rid] = {"id": rid, "item": row.item_id, "title": items[row.item_id].title,
                      "kind": "focus" if row.item_id == view_item.pk else "recommended",
                      "weight": 1.0 if row.item_id == view_item.pk else 0.5,
                      "detail": _("#%(rank)s") % {"rank": row.data["rank"]}}
        acted = dict(zip(row.data["history"], row.data["did"], strict=True))
        for hist, share in counting(row.data):
            hid = f"h{hist}"
            node = nodes.setdefault(hid, {"id": hid, "item": hist, "title": items[hist].title if hist in items else "?",
                                          "kind": "history", "weight": 0.0, "detail": reasons.did_label(acted[hist])})
            node["weight"] = max(node["weight"], share)
            edges.append({"source": hid, "target": rid, "weight": round(share, 4), "kind": "contribution"})
    history_nodes = [n for n in nodes.values() if n["kind"] == "history"]
    for genre in view_item.genres.all():
        gid = f"g{genre.pk}"
        sharing = [n for n in history_nodes if n["item"] in items
                   and genre in items[n["item"]].genres.all()]
        if not sharing:
            continue
        nodes[gid] = {"id": gid, "item": None, "title": genre.name, "kind": "genre", "weight": 0.2, "detail": ""}
        edges.append({"source": gid, "target": f"r{view_item.pk}", "weight": 0.2, "kind": "genre"})
        edges += [{"source": gid, "target": n["id"], "weight": 0.1, "kind": "genre"} for n in sharing]
    pos = plots.graph_layout(list(nodes.values()), edges)
    placed = [{**n, "x": round(pos[n["id"]][0], 4), "y": round(pos[n["id"]][1], 4)} for n in nodes.values()]
    return placed, edges


def colour_scale(sizes: list[float]) -> float:
    """Return the effect size that gets the deepest colour: the 80th percentile of the
    cells' sizes, so one outlying column (a low rating that lowers every item alike) cannot
    wash out all the others; larger cells are drawn at the deepest colour (hover: exact)."""
    ranked = sorted(v for v in sizes if v > 0)
    if not ranked:
        return 1.0
    return ranked[min(len(ranked) - 1, int(0.8 * len(ranked)))]


def direction(effect: float) -> str:
    """Return "raised", "lowered" or "none" (an effect that rounds to 0.000 on the page)."""
    if round(effect, 3) == 0:
        return "none"
    return "raised" if effect > 0 else "lowered"


def columns_of(rows: list[Explanation]) -> list[int]:
    """Return the history items with the largest |effect| on any of `rows`, largest first."""
    size: dict[int, float] = {}
    for row in rows:
        for item, c in zip(row.data["history"], effects(row.data), strict=True):
            size[item] = max(size.get(item, 0.0), abs(c))
    return [i for i in sorted(size, key=lambda i: -size[i]) if size[i] > 0][:HEATMAP_COLUMNS]
