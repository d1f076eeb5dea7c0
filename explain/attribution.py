"""Why a model recommended an item: its score split into terms, and checks by removal.

Pure torch, no Django. Works on model indices (1..n_items). A person's history holds one
entry per item (``recommender.ml.signals.collapse``), so an entry is a "unit": removing it
is what "if you hadn't rated X" means. Every removal experiment is a whole re-ranking of
all items with the person's real exclusion mask, so ranks are the ranks the person would
see (rank = 1 + items scored strictly higher); the taste summary of a history with items
removed continues the whole history's cached encoder states from its first removed entry.

The model's score of item i is rest(i) + boost(i) + sum_j term_j(i) (``Recommender.explain``):
what an explanation names are the entries with the largest *contributions* (term measured
against its head's average, which is what removing the entry costs through the head), and
removal checks each claim against the final score, the summary's change included. A new
person's genre boost (``Recommender.new_person_lift``) is held at the whole history's in
every removal: it is shown as a term of its own, with the rank the item would have
without it, since counted again it would rise with each choice taken away (it fades as
choices are added) and every chosen film would seem to count against its own genre.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace

import torch

from recommender.ml import signals as sig
from recommender.ml.data import History, batch_of, pad_left


@dataclass(frozen=True)
class AttributionConfig:
    top_k: int = 10  # the list a counterfactual must push the item out of
    # comprehensiveness@k sizes: 3 is what a page checks and the API reports; each further k
    # costs its own removal experiments for every recommendation
    ks: tuple[int, ...] = (3,)
    random_draws: int = 10  # random k-sets averaged for the random baseline
    seed: int = 0  # fixes the random draws
    max_removals: int = 5  # largest counterfactual set
    shortlist: int = 2  # leave-one-out leaders tried at each greedy counterfactual step
    # variants per continued batch (sorted by first removed position): the batch encodes
    # from its earliest, so smaller batches waste less (16 measured faster than 32 and 64)
    chunk: int = 16
    # a reason names an entry whose contribution is at least this share of the largest
    reason_floor: float = 0.2


@dataclass(frozen=True)
class ItemExplanation:
    """Attribution of one recommended item over the person's history entries."""

    item: int  # model index
    rank: int
    score: float
    summary: float  # the taste summary's term of the score
    rest: float  # the part of the score no history entry owns (score = rest + boost + sum(terms))
    boost: float  # a new person's genre boost (0 from the tenth choice on)
    rank_without_boost: int | None  # the rank with no boost (None: it has none)
    head: list[list[float]]  # [head][unit]: target-attention weights (with the null slot, <= 1)
    weights: list[float]  # [unit]: mean over heads (the details heatmap)
    terms: list[float]  # [unit]: each entry's exact part of the score (score = summary + sum)
    contribution: list[float]  # [unit]: term against its head's average; what a reason names
    rollout: list[float]  # [unit]: how much each entry flows into the summary (encoder rollout)
    loo_delta: list[float]  # [unit]: score drop when that entry is removed (> 0: it helped)
    loo_rank: list[int]  # [unit]: the item's rank when that entry is removed
    faithfulness: dict[str, float | int | bool]
    counterfactual: dict  # {"removed": [unit], "found", "rank", "replacement": index | None}
    reason: dict  # {"units": [unit], "basis": "weights" | "leave_one_out" | "summary"}


@dataclass(frozen=True)
class PersonExplanation:
    """Explanations of a person's recommended items, sharing one history."""

    history: list[int]  # history items (model indices), oldest first
    signals: list[int]  # their signals
    top: list[int]  # the person's current top ``top_k`` (model indices), best first
    items: list[ItemExplanation] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def attention_rollout(layers: Sequence[torch.Tensor]) -> torch.Tensor:
    """Return the rollout (B, L, L) of per-layer self-attention (B, heads, L, L).

    Abnar & Zuidema (2020): average the heads, add the residual path (0.5 A + 0.5 I),
    renormalise rows, multiply across layers. Row t says how much each input position
    flows into position t's output; rows sum to 1.
    """
    rollout = None
    for att in layers:
        a = att.float().mean(dim=1)  # (B, L, L)
        eye = torch.eye(a.shape[-1], dtype=a.dtype).expand_as(a)
        a = 0.5 * a + 0.5 * eye
        a = a / a.sum(dim=-1, keepdim=True)
        rollout = a if rollout is None else a @ rollout  # (B, L, L)
    return rollout


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Return Kendall's tau-b between two score lists (0.0 when either is constant)."""
    x, y = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if x.numel() < 2:
        return 0.0
    dx = torch.sign(x[:, None] - x[None, :]).triu(1)
    dy = torch.sign(y[:, None] - y[None, :]).triu(1)
    denom = math.sqrt(float((dx != 0).sum()) * float((dy != 0).sum()))
    return float((dx * dy).sum()) / denom if denom else 0.0


def top_units(values: Sequence[float], k: int) -> list[int]:
    """Return the indices of the k largest values, largest first (ties: most recent first)."""
    order = sorted(range(len(values)), key=lambda u: (-values[u], -u))
    return order[:k]


class _Ranker:
    """Rank all items after many variants of one history, batched.

    A variant is the history with some entries removed; the entries left keep their
    places in time (the whole history's clock), as they would with real timestamps: removing
    one entry takes away what it did, not the recency of everything before it. A variant is
    the same history up to its first removed entry, so its summary only encodes the entries
    from there on, continuing the whole history's cached keys and values; variants are
    sorted by their first removed entry and each batch of ``chunk`` shares the prefix of the
    earliest.
    """

    def __init__(self, model, history: History, exclude: torch.Tensor, items: torch.Tensor,
                 chunk: int):
        self.model, self.history, self.exclude, self.items, self.chunk = model, history, exclude, items, chunk
        h = torch.tensor([history.items]), torch.tensor([history.signals])
        self.prefix = model.encode_prefix(*h)
        order, now = model.clock(*h)
        self.order, self.now = order[0].tolist(), now
        # what each entry gives in its place in time, the same in every variant: a variant's
        # entries read their rows (entry + 1; row 0 is padding's)
        self.tables = model.entry_tables(*h)
        # a new person's genre boost, held at the whole history's in every variant
        lift = model.new_person_lift(*h)
        self.boost = torch.zeros_like(exclude, dtype=torch.float) if lift is None else lift.float()

    def run(self, removals: list[frozenset[int]], boost: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (scores (V, C), ranks (V, C), full scores (V, N+1)) for each removal set;
        with ``boost`` False, without a new person's genre boost."""
        held = self.boost if boost else torch.zeros_like(self.boost)
        n = len(self.history)
        kept = [[u for u in range(n) if u not in r] for r in removals]
        variants = [History(tuple(self.history.items[u] for u in k), tuple(self.history.signals[u] for u in k))
                    for k in kept]
        first = [min(r, default=n) for r in removals]
        order = sorted(range(len(variants)), key=first.__getitem__)
        full = torch.empty(len(variants), self.exclude.shape[1])
        max_len = self.model.cfg.max_len
        for start in range(0, len(order), self.chunk):
            idx = order[start:start + self.chunk]
            keep = torch.tensor([first[v] for v in idx])  # each variant continues its own prefix
            now = self.now.expand(len(idx))
            tail = [[u for u in kept[v] if u >= first[v]] for v in idx]
            tail_items, tail_signals = batch_of([variants[v][len(kept[v]) - len(t):] for v, t in zip(idx, tail)], max_len)
            tail_clock = pad_left([[self.order[u] for u in t] for t in tail], max_len, tail_items.shape[1])
            state = self.model.state_continued(self.prefix, keep, tail_items, tail_signals, clock=(tail_clock, now))
            items, signals = batch_of([variants[v] for v in idx], max_len)
            clock = (pad_left([[self.order[u] for u in kept[v]] for v in idx], max_len, items.shape[1]), now)
            tables = self.tables.at(pad_left([[u + 1 for u in kept[v]] for v in idx], max_len, items.shape[1]))
            S, _ = self.model.summary_of(state, items, signals, clock=clock, tables=tables)
            full[idx] = self.model.rank(S, items, signals, exclude=self.exclude.expand(len(idx), -1),
                                        clock=clock, tables=tables, lift=held.expand(len(idx), -1)).float()
        # nothing the model reads as a choice is left: no ranking
        dead = torch.tensor([not any(s in sig.POSITIVE for s in v.signals) for v in variants])
        full = full.masked_fill(dead[:, None], float("-inf"))
        s = full[:, self.items]  # (V, C)
        # items scored strictly higher, counted in each row sorted once (a (V, C, N)
        # comparison costs more than all of a variant's scoring)
        ascending = full.sort(dim=1).values
        ranks = 1 + full.shape[1] - torch.searchsorted(ascending, s.contiguous(), right=True)  # (V, C)
        return s, ranks, full


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


@torch.no_grad()
def explain_history(
    model,
    history: History,
    items: Sequence[int],
    *,
    exclude: Iterable[int] = (),
    config: AttributionConfig | None = None,
) -> PersonExplanation:
    """Explain why ``items`` (model indices, best first) were recommended after ``history``.

    ``history`` is the model's input (oldest first, one entry per item; its last
    ``max_len`` are used); ``exclude`` are the items never ranked for this person (what
    they saw or blocked). The model must be in eval mode and have the head.
    """
    cfg = config or AttributionConfig()
    history = history[-model.cfg.max_len:]
    n = len(history)
    if not n or not items:
        return PersonExplanation(history=list(history.items), signals=list(history.signals), top=[])
    if model.head is None:
        raise ValueError("explanations need the target-attention head (scoring='head')")
    item_t = torch.as_tensor(list(items), dtype=torch.long)
    C = item_t.numel()
    exclude_mask = torch.zeros(1, model.n_ranked, dtype=torch.bool)  # items added after training too
    blocked = [i for i in exclude if 0 < i < model.n_ranked]
    if blocked:
        exclude_mask[0, torch.as_tensor(blocked)] = True

    # 1. the score's terms: the summary's, each entry's, and the weights behind them
    out = model.explain(torch.tensor([history.items]), torch.tensor([history.signals]), item_t[None])
    head = out["head"][0].float()  # (heads, C, n)
    weights = head.mean(dim=0)  # (C, n)
    terms, contribution = out["terms"][0].float(), out["contributions"][0].float()  # (C, n)
    roll = attention_rollout(out["encoder"])[0]  # (n, n)
    visible = out["visible"][0]
    last = int(torch.where(visible, torch.arange(n), -1).max())
    rollout = (roll[last] * visible).tolist() if last >= 0 else [0.0] * n

    # 2. leave-one-out (the unchanged history and each entry removed) and 3. faithfulness
    # (the top-k by each method, and random k-sets shared by all items): deduplicated
    ranker = _Ranker(model, history, exclude_mask, item_t, cfg.chunk)
    sets: dict[frozenset[int], int] = {}

    def want(units_: Iterable[int]) -> int:
        return sets.setdefault(frozenset(units_), len(sets))

    want([])
    for u in range(n):
        want([u])
    gen = torch.Generator().manual_seed(cfg.seed)
    ks = {k: min(k, max(n - 1, 0)) for k in cfg.ks}
    random_sets = {k: [want(torch.randperm(n, generator=gen)[:kk].tolist())
                       for _ in range(cfg.random_draws)] for k, kk in ks.items()}
    loo_only = len(sets)
    order = sorted(sets, key=sets.__getitem__)
    s, r, full = ranker.run(order[:loo_only])
    base_score, base_rank = s[0], r[0]  # (C,)
    loo_delta = base_score - s[1:n + 1]  # (n, C)
    loo_delta = torch.where(torch.isfinite(loo_delta), loo_delta, torch.zeros_like(loo_delta))
    loo_rank = r[1:n + 1]  # (n, C)
    finite = torch.isfinite(full[0])
    top_list = full[0].topk(min(cfg.top_k, int(finite.sum()))).indices.tolist()

    method_sets: list[dict[str, dict[int, int]]] = []
    per_item_values = []
    for c in range(C):
        values = {"head": contribution[c].tolist(), "terms": terms[c].tolist(),
                  "weights": weights[c].tolist(), "rollout": rollout, "loo": loo_delta[:, c].tolist()}
        per_item_values.append(values)
        # what is shown ("head") and the ceiling at every k; the other readings at 3 only
        method_sets.append({m: {k: want(top_units(v, kk)) for k, kk in ks.items()
                                if m in ("head", "loo") or k == 3}
                            for m, v in values.items()})
    order = sorted(sets, key=sets.__getitem__)
    fs2, fr2, _ = ranker.run(order[loo_only:]) if len(order) > loo_only else (s[:0], r[:0], None)
    fs, fr = torch.cat([s, fs2]), torch.cat([r, fr2])  # (S, C), indexed by `sets`
    drop = base_score[None, :] - fs  # (S, C)

    # 4. counterfactual: greedy, at most max_removals, over the leave-one-out leaders
    counterfactuals = _counterfactuals(ranker, base_rank, loo_delta, full[0], n, cfg)
    boost = out["boost"][0].float()  # (C,)
    unboosted = ranker.run([frozenset()], boost=False)[1][0] if bool(boost.any()) else None

    explained = []
    for c in range(C):
        values = per_item_values[c]
        faith: dict[str, float | int | bool] = {}
        for k in cfg.ks:
            # "head" is what the page names (the top contributions); "terms" each entry's exact
            # share of the score; "weights" the plain attention weights; "loo" the ceiling
            for method, name in (("head", "comprehensiveness"), ("terms", "terms"),
                                 ("weights", "weights"), ("rollout", "rollout"), ("loo", "loo")):
                if k not in method_sets[c][method]:
                    continue
                v = method_sets[c][method][k]
                faith[f"{name}_at_{k}"] = _finite(float(drop[v, c]))
                faith[f"rank_after_{method}_at_{k}"] = int(fr[v, c])
            rs = random_sets[k]
            faith[f"random_at_{k}"] = sum(_finite(float(drop[v, c])) for v in rs) / len(rs)
            faith[f"rank_after_random_at_{k}"] = int(torch.tensor([int(fr[v, c]) for v in rs]).median())
        top3 = set(top_units(values["loo"], 3))
        for method, suffix in (("head", ""), ("terms", "_terms"), ("weights", "_weights"),
                               ("rollout", "_rollout")):
            faith[f"kendall_tau{suffix}"] = kendall_tau(values[method], values["loo"])
            faith[f"top3_overlap{suffix}"] = len(top3 & set(top_units(values[method], 3))) / max(min(3, n), 1)
        # checked: removing the top-3 shown items costs more than removing 3 random ones, and
        # does not move the item up (a removal that raises it never stands as a check)
        faith["verified"] = bool(
            n > 1 and faith["comprehensiveness_at_3"] > faith["random_at_3"]
            and faith["rank_after_head_at_3"] >= int(base_rank[c]))
        explained.append(ItemExplanation(
            item=int(item_t[c]), rank=int(base_rank[c]), score=float(base_score[c]),
            summary=float(out["summary"][0, c]), rest=float(out["rest"][0, c]), boost=float(boost[c]),
            rank_without_boost=None if unboosted is None or not boost[c] else int(unboosted[c]),
            head=head[:, c].tolist(),
            weights=values["weights"], terms=values["terms"], contribution=values["head"],
            rollout=rollout, loo_delta=values["loo"], loo_rank=loo_rank[:, c].tolist(),
            faithfulness=faith, counterfactual=counterfactuals[c],
            reason=reason_units(values["head"], values["loo"], history.signals,
                                bool(faith["verified"]), cfg.reason_floor),
        ))
    return PersonExplanation(history=list(history.items), signals=list(history.signals),
                             top=top_list, items=_weak_named_once(explained, history.signals, cfg.reason_floor))


def _weak_named_once(explained: list[ItemExplanation], signals: Sequence[int], floor: float) -> list[ItemExplanation]:
    """Return the explanations with each page view or click named in one reason at most.

    A glance is weak evidence: it may be a reason, but not the reason for several of a
    person's recommendations. It stays in the reason where its own value (on that
    reason's basis) is largest; the other reasons are chosen again without it, unless
    nothing else counts for their item.
    """
    def value(e: ItemExplanation, u: int) -> float:
        return e.contribution[u] if e.reason["basis"] == "weights" else e.loo_delta[u]

    avoid: list[set[int]] = [set() for _ in explained]
    keep_named: set[tuple[int, int]] = set()  # (reason, glance) where the glance is all that counts
    while True:
        naming: dict[int, list[int]] = {}
        for c, e in enumerate(explained):
            for u in e.reason["units"]:
                if signals[u] in sig.WEAK and (c, u) not in keep_named:
                    naming.setdefault(u, []).append(c)
        twice = {u: cs for u, cs in naming.items() if len(cs) > 1}
        if not twice:
            return explained
        for u, cs in twice.items():
            keep = max(cs, key=lambda c: (value(explained[c], u), -c))
            for c in cs:
                if c == keep:
                    continue
                avoid[c].add(u)
                e = explained[c]
                again = reason_units(e.contribution, e.loo_delta, signals, bool(e.faithfulness["verified"]),
                                     floor, avoid=avoid[c])
                if again["units"]:
                    explained[c] = replace(e, reason=again)
                else:  # nothing else counts for it: saying "no single item" would be false
                    keep_named.add((c, u))


def reason_units(contribution: Sequence[float], loo_delta: Sequence[float], signals: Sequence[int],
                 verified: bool, floor: float = 0.2, most: int = 2, avoid: Iterable[int] = ()) -> dict:
    """Return the history entries a reason may name, and on what basis.

    A reason names only entries that count *for* the item, never a low rating. Verified
    (the shown contributions pass the removal check): the largest positive contributions
    that their own removal confirms, none under ``floor`` of the largest. Otherwise, or if
    none passes, the entries whose removal lowers the score most ("leave_one_out"); if
    none does, the recommendation comes from the history as a whole ("summary"). ``avoid``:
    entries not to name here (a glance named in another reason, ``_weak_named_once``).
    """
    avoid = set(avoid)
    allowed = [u for u in range(len(contribution)) if signals[u] not in sig.NEGATIVE and u not in avoid]
    if verified:
        best = max((contribution[u] for u in allowed), default=0.0)
        units = [u for u in top_units(contribution, len(contribution))
                 if u in allowed and contribution[u] > 0 and loo_delta[u] > 0
                 and contribution[u] >= floor * best][:most]
        if units:
            return {"units": units, "basis": "weights"}
    units = [u for u in top_units(loo_delta, len(loo_delta)) if u in allowed and loo_delta[u] > 0][:most]
    if units:
        return {"units": units, "basis": "leave_one_out"}
    return {"units": [], "basis": "summary"}


def _counterfactuals(ranker: _Ranker, base_rank: torch.Tensor, loo_delta: torch.Tensor,
                     base_full: torch.Tensor, n: int, cfg: AttributionConfig) -> list[dict]:
    """Return, per item, the smallest greedy removal set that takes it out of the list."""
    C = base_rank.numel()
    limit = [max(cfg.top_k, int(base_rank[c])) for c in range(C)]  # "out of the list it is in"
    chosen: list[list[int]] = [[] for _ in range(C)]
    result: list[dict | None] = [None] * C
    for _step in range(min(cfg.max_removals, n - 1)):
        trials: list[tuple[int, int]] = []  # (item column, unit)
        for c in range(C):
            if result[c] is not None:
                continue
            leaders = [u for u in top_units(loo_delta[:, c].tolist(), n) if u not in chosen[c]]
            trials += [(c, u) for u in leaders[:cfg.shortlist]]
        if not trials:
            break
        sets = [frozenset(chosen[c] + [u]) for c, u in trials]
        _s, ranks, full = ranker.run(sets)
        best: dict[int, tuple[int, int, int]] = {}
        for t, (c, u) in enumerate(trials):
            rank = int(ranks[t, c])
            if c not in best or rank > best[c][0]:
                best[c] = (rank, u, t)
        for c, (rank, u, t) in best.items():
            chosen[c].append(u)
            if rank > limit[c]:
                # the item now in the list that was not in it before takes its place
                before = set(base_full.topk(limit[c]).indices.tolist())
                after = full[t].topk(limit[c]).indices.tolist()
                replacement = next((i for i in after if i not in before), None)
                result[c] = {"removed": list(chosen[c]), "found": True, "rank": rank,
                             "replacement": replacement}
    return [r if r is not None else {"removed": list(chosen[c]), "found": False,
                                      "rank": None, "replacement": None}
            for c, r in enumerate(result)]
