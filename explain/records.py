"""The explanation record: what the explain worker stores for one recommendation, and what
the pages, the API and the benchmarks read back (``Explanation.data``)."""
from __future__ import annotations

from typing import Literal, TypedDict

# 2: entries with signals, the summary term and each entry's exact term (item-level head)
# 3: a new person's genre boost as a term of its own ("boost"), held in every removal.
# A record of another format is not current: it is computed again when asked for.
RECORD_FORMAT = 3

# {"comprehensiveness_at_3", "random_at_3", "rank_after_head_at_3", "kendall_tau",
#  "top3_overlap", "verified", ...}: explain.attribution.explain_history's measures
Faithfulness = dict[str, float | int | bool]


class Counterfactual(TypedDict):
    """The smallest greedy removal set that takes the item out of the list."""

    removed: list[int]  # Item pks, in the order they were removed
    found: bool
    rank: int | None  # the item's rank after removing them (None: not found)
    replacement: int | None  # the Item pk that takes its place in the list


class Boost(TypedDict):
    """A new person's genre boost (``Recommender.new_person_lift``), a term of its own."""

    value: float  # what it adds to the score
    rank_without: int  # the item's rank without it
    genres: list[str]  # the item's genres held by the most of the person's choices
    holding: int  # how many choices hold them
    choices: int  # how many choices the person has made


class ReasonBoost(Boost):
    rank: int  # the item's rank (the API's list words the boost from the reason alone)


class Reason(TypedDict):
    """What the reason names: history items (Item pks), on what basis, what the person did."""

    items: list[int]
    basis: Literal["weights", "leave_one_out", "summary"]
    did: list[int]  # the named items' signals (recommender.ml.signals)
    boost: ReasonBoost | None


class ExplanationRecord(TypedDict):
    """One explained recommendation. Lists indexed by history entry are oldest first."""

    format: int  # RECORD_FORMAT
    history: list[int]  # Item pks
    signals: list[int]  # what the model read of each entry
    did: list[int]  # what the person did with each (a newcomer's views stay views)
    top: list[int]  # the person's top 10, Item pks, best first
    rank: int
    score: float
    summary: float  # the taste summary's term
    rest: float  # the part no entry owns: score = rest + boost + sum(terms)
    head: list[list[float]]  # [head][entry] target-attention weights
    weights: list[float]  # [entry] mean over heads
    terms: list[float]  # [entry] exact part of the score
    contribution: list[float]  # [entry] removal effect with the encoder state and boost held
    rollout: list[float]  # [entry] encoder attention rollout
    loo_delta: list[float]  # [entry] score drop when removed alone (> 0: it helped)
    loo_rank: list[int]  # [entry] the item's rank when removed alone
    faithfulness: Faithfulness
    counterfactual: Counterfactual
    boost: Boost | None
    reason: Reason
