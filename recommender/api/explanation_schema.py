"""The explanation's JSON as the API documents it (``explain.selectors.payload_from_view``
builds it, ``explain.records`` declares the stored record it comes from)."""
from ..ml.signals import NAMES as SIGNAL_NAMES


def _exact(properties: dict, required: list[str] | None = None, **extra) -> dict:
    """Return an object schema that names every key it may hold (all required by default)."""
    return {"type": "object", "properties": properties, "required": list(properties) if required is None else required,
            "additionalProperties": False, **extra}


SIGNAL_SCHEMA = {"type": "string", "enum": sorted(SIGNAL_NAMES.values()),
                 "description": "What the person did with the item: `rated_3`, `rated_4`, `rated_5` (stars), "
                 "`rated_low` (2 stars or less), `interacted` (a rating of unknown stars), `liked`, "
                 "`purchased`, `clicked`, `viewed`."}
NUMBER = {"type": "number"}
EXPLANATION_SCHEMA = _exact({
    "item": {"type": "integer", "description": "The recommended item."},
    "rank": {"type": "integer"},
    "reason": {"type": "string", "description": "The reason, in one sentence, in the request's language."},
    "reason_basis": {"type": "string", "enum": ["weights", "leave_one_out", "summary"],
                     "description": "`weights`: the shown contributions passed the removal check; "
                     "`leave_one_out`: they did not, so the reason names the items whose removal lowers "
                     "the score most; `summary`: no single item, the history as a whole."},
    "reason_items": {"type": "array", "items": _exact({
        "item": {"type": "integer"}, "title": {"type": "string"}, "signal": SIGNAL_SCHEMA})},
    "checked": {"type": "boolean", "description": "Whether to show \"checked by removal\": verified, and "
                "removing the items that counted most does not move the item up."},
    "weights": {"type": "array", "description": "Every history item, most contributing first.", "items": _exact({
        "item": {"type": "integer"}, "title": {"type": "string"}, "signal": SIGNAL_SCHEMA,
        "did": {"type": "string", "description": "`signal` in words, in the request's language."},
        "weight": {**NUMBER, "description": "The item-level attention weight (mean over heads), 0 to 1."},
        "contribution": {**NUMBER, "description": "The item's part of the score measured against the average: "
                         "above 0 it raised this recommendation, below 0 it lowered it."},
        "leave_one_out": {**NUMBER, "description": "Score drop when this item is removed (above 0: it helped)."},
        "rank_without": {"type": "integer", "description": "The item's rank when this item is removed."}})},
    "faithfulness": _exact({
        "comprehensiveness_at_3": {**NUMBER, "description": "Score drop when the 3 largest contributions are removed."},
        "random_at_3": {**NUMBER, "description": "The same for 3 random items (mean of 10 draws)."},
        "loo_at_3": {**NUMBER, "description": "The same for the 3 largest leave-one-out drops (the ceiling)."},
        "kendall_tau": {**NUMBER, "description": "Rank agreement of the contributions with leave-one-out."},
        "top3_overlap": NUMBER,
        "rank_after_at_3": {"type": "integer"}, "rank_after_random_at_3": {"type": "integer"},
        "rank_after_loo_at_3": {"type": "integer"},
        "verified": {"type": "boolean"},
        "summary": {"type": "string", "description": "What removal showed, in one sentence (may be empty)."}}),
    "boost": _exact({
        "value": {**NUMBER, "description": "What the boost adds to the score."},
        "genres": {"type": "array", "items": {"type": "string"},
                   "description": "The recommended item's genres held by the most of the person's choices."},
        "holding": {"type": "integer", "description": "How many of the choices hold them."},
        "choices": {"type": "integer", "description": "How many choices the person has made (fewer than 10)."},
        "rank_without": {"type": "integer", "description": "The item's rank without the boost."}},
        nullable=True, description="A new person's genre boost, where it moved this item up: until someone has "
        "liked or rated 3 stars or more 10 items, items of the genre most of those share move up. A part of "
        "the score of its own, held as it is in every removal check; null when there is none."),
    "counterfactual": _exact({
        "removed": {"type": "array", "items": {"type": "integer"}},
        "replacement": {"type": "integer", "nullable": True},
        "found": {"type": "boolean"}, "rank_after": {"type": "integer", "nullable": True},
        "summary": {"type": "string"}}),
    "graph": _exact({
        "nodes": {"type": "array", "items": _exact({
            "id": {"type": "string"}, "item": {"type": "integer", "nullable": True}, "title": {"type": "string"},
            "kind": {"type": "string", "enum": ["focus", "recommended", "history", "genre"]},
            "weight": NUMBER, "x": NUMBER, "y": NUMBER})},
        "edges": {"type": "array", "items": _exact({
            "source": {"type": "string"}, "target": {"type": "string"}, "weight": NUMBER,
            "kind": {"type": "string", "enum": ["contribution", "genre"]}})}}),
    "plots": _exact({"heatmap": {"type": "object"}, "graph": {"type": "object"}},
                    description="Bokeh `json_item` documents for a webview."),
    "computed_at": {"type": "string", "format": "date-time", "nullable": True},
    "model_version": {"type": "integer"},
})
PREPARING_SCHEMA = {
    "type": "object", "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["queued", "running", "ready"]}},
}
