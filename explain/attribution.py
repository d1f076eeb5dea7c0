"""Why a model recommended an item: attention weights, rollout, and checks by removal.

Pure torch, no Django. Works on model indices (1..n_items). A person's history is reduced
to its distinct items ("units", ordered by last occurrence, oldest first): removing an item
removes every interaction with it, which is what "if you hadn't watched X" means. Every
removal experiment is a whole re-ranking of all items (``full_sort_predict``, or its
continuation of the history's encoded prefix) with the person's real exclusion mask, so
ranks are the ranks the person would see (rank = 1 + items scored strictly higher); the
variants of one person run as a few deduplicated batches (leave-one-out and random sets,
the methods' top-k sets, one per counterfactual step).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import torch

from recommender.ml.data import pad_left


@dataclass(frozen=True)
class AttributionConfig:
    top_k: int = 10  # the list a counterfactual must push the item out of
    ks: tuple[int, ...] = (1, 3, 5)  # comprehensiveness@k sizes
    random_draws: int = 10  # random k-sets averaged for the random baseline
    seed: int = 0  # fixes the random draws
    max_removals: int = 5  # largest counterfactual set
    shortlist: int = 2  # leave-one-out leaders tried at each greedy counterfactual step
    batch: int = 256  # sequences per forward pass
    # encode a variant only from its first removed item on, continuing the history's cached
    # encoder states (models with positions counted from the oldest item); same ranks
    reuse_prefix: bool = True


@dataclass(frozen=True)
class ItemExplanation:
    """Attribution of one recommended item over the person's distinct history items."""

    item: int  # model index
    rank: int
    score: float
    head: list[list[float]]  # [head][unit]: target-attention weights, each head sums to 1
    weights: list[float]  # [unit]: mean over heads (the heatmap's cells), sums to 1
    # [unit]: the head's contribution to the score, summed over heads: weight times how far
    # the item's value lies above its head's average (model.explain); sums to 0. The items
    # an explanation names are the top ones by this.
    contribution: list[float]
    rollout: list[float]  # [unit]: head weights pushed through the encoder's rollout
    loo_delta: list[float]  # [unit]: score drop when that item is removed (> 0: it helped)
    loo_rank: list[int]  # [unit]: the item's rank when that item is removed
    faithfulness: dict[str, float | int | bool]
    counterfactual: dict  # {"removed": [unit], "found", "rank", "replacement": index | None}
    reason: dict  # {"units": [unit], "basis": "weights" | "leave_one_out"}


@dataclass(frozen=True)
class PersonExplanation:
    """Explanations of a person's recommended items, sharing one history."""

    history: list[int]  # distinct history items (model indices), oldest first
    top: list[int]  # the person's current top ``top_k`` (model indices), best first
    items: list[ItemExplanation] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def history_units(history: Sequence[int]) -> tuple[list[int], list[int]]:
    """Return (distinct items ordered by last occurrence, unit index of each position)."""
    last = {item: pos for pos, item in enumerate(history)}
    units = sorted(last, key=last.__getitem__)
    where = {item: u for u, item in enumerate(units)}
    return units, [where[item] for item in history]


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
    """Rank all items after many variants of one history, batched and deduplicated.

    A history with items removed is the same history up to the first removed item, so with
    a model that can continue an encoded prefix (positions counted from the oldest item)
    only the positions from there on are encoded: variants are sorted by their first
    removed position and each batch of ``chunk`` continues the history's cached states.
    """

    chunk = 32  # variants per continued batch (sorted by first removed position)

    def __init__(self, model, history: list[int], pos_unit: list[int], exclude: torch.Tensor,
                 items: torch.Tensor, batch: int, reuse_prefix: bool = True):
        self.model, self.history, self.pos_unit = model, history, pos_unit
        self.exclude, self.items, self.batch = exclude, items, batch
        self.first_pos: dict[int, int] = {}  # unit -> its first position in the history
        for p, u in enumerate(pos_unit):
            self.first_pos.setdefault(u, p)
        self.prefix = None
        if reuse_prefix and getattr(model.cfg, "positions", None) == "from_start":
            self.prefix = model.encode_prefix(torch.tensor([history]))

    def _full(self, seqs: list[list[int]], removals: list[frozenset[int]]) -> torch.Tensor:
        """Return full_sort_predict's scores (V, N+1) after each variant."""
        if self.prefix is None:
            out = []
            for start in range(0, len(seqs), self.batch):
                part = seqs[start:start + self.batch]
                seq = pad_left(part, self.model.cfg.max_len)  # (b, L)
                out.append(self.model.full_sort_predict(seq, exclude=self.exclude.expand(len(part), -1)))
            return torch.cat(out).float()
        first = [min((self.first_pos[u] for u in r), default=len(self.history)) for r in removals]
        order = sorted(range(len(seqs)), key=first.__getitem__)
        full = torch.empty(len(seqs), self.exclude.shape[1])
        for start in range(0, len(order), self.chunk):
            idx = order[start:start + self.chunk]
            keep = first[idx[0]]  # shared by the whole batch (the smallest)
            seq = pad_left([seqs[v][keep:] for v in idx], self.model.cfg.max_len)  # (b, S)
            full[idx] = self.model.full_sort_predict_continued(
                self.prefix, keep, seq, exclude=self.exclude.expand(len(idx), -1)).float()
        return full

    def run(self, removals: list[frozenset[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (scores (V, C), ranks (V, C), full scores (V, N+1)) for each removal set."""
        seqs = [[it for it, u in zip(self.history, self.pos_unit) if u not in r] for r in removals]
        empty = torch.tensor([not s for s in seqs])
        full = self._full(seqs, removals).masked_fill(empty[:, None], float("-inf"))  # nothing left
        s = full[:, self.items]  # (V, C)
        ranks = 1 + (full.unsqueeze(1) > s.unsqueeze(2)).sum(-1)  # (V, C)
        return s, ranks, full


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


@torch.no_grad()
def explain_history(
    model,
    history: Sequence[int],
    items: Sequence[int],
    *,
    exclude: Iterable[int] = (),
    config: AttributionConfig | None = None,
) -> PersonExplanation:
    """Explain why ``items`` (model indices, best first) were recommended after ``history``.

    ``history`` is the model's input (oldest first; its last ``max_len`` are used);
    ``exclude`` are the items never ranked for this person (what they saw or blocked).
    The model must be in eval mode and have the target-attention head.
    """
    cfg = config or AttributionConfig()
    history = list(history)[-model.cfg.max_len:]
    units, pos_unit = history_units(history)
    n = len(units)
    if not history or not items:
        return PersonExplanation(history=units, top=[])
    item_t = torch.as_tensor(list(items), dtype=torch.long)
    C = item_t.numel()
    exclude_mask = torch.zeros(1, model.cfg.n_items + 1, dtype=torch.bool)
    blocked = [i for i in exclude if 0 < i <= model.cfg.n_items]
    if blocked:
        exclude_mask[0, torch.as_tensor(blocked)] = True

    # 1. weights: the head's per-head weights, its contributions, and the weights pushed
    # through the rollout
    out = model.explain(torch.tensor([history]), item_t[None])
    if out["head"] is None:
        raise ValueError("explanations need the target-attention head (scoring='head')")
    head = out["head"][0].float()  # (heads, C, L)
    roll = attention_rollout(out["encoder"])[0]  # (L, L)
    scatter = torch.zeros(len(history), n)
    scatter[torch.arange(len(history)), torch.as_tensor(pos_unit)] = 1.0  # (L, n)
    head_u = head @ scatter  # (heads, C, n)
    weights = head_u.mean(dim=0)  # (C, n)
    contribution = out["contributions"][0].float().sum(dim=0) @ scatter  # (C, n)
    rollout = (head.mean(dim=0) @ roll) @ scatter  # (C, n)

    # 2. leave-one-out (the unchanged history and each unit removed) and 3. faithfulness
    # (the top-k by each method, and random k-sets shared by all items): one deduplicated
    # batch; every single-item removal is a leave-one-out variant already
    ranker = _Ranker(model, history, pos_unit, exclude_mask, item_t, cfg.batch, cfg.reuse_prefix)
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
    # leave-one-out drops pick its own top-k sets, so those go in a second, smaller pass
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
        values = {"head": contribution[c].tolist(), "weights": weights[c].tolist(),
                  "rollout": rollout[c].tolist(), "loo": loo_delta[:, c].tolist()}
        per_item_values.append(values)
        method_sets.append({m: {k: want(top_units(v, kk)) for k, kk in ks.items()}
                            for m, v in values.items()})
    order = sorted(sets, key=sets.__getitem__)
    fs2, fr2, _ = ranker.run(order[loo_only:]) if len(order) > loo_only else (s[:0], r[:0], None)
    fs, fr = torch.cat([s, fs2]), torch.cat([r, fr2])  # (S, C), indexed by `sets`
    drop = base_score[None, :] - fs  # (S, C)

    # 4. counterfactual: greedy, at most max_removals, over the leave-one-out leaders
    counterfactuals = _counterfactuals(ranker, base_rank, loo_delta, full[0], n, cfg)

    explained = []
    for c in range(C):
        values = per_item_values[c]
        faith: dict[str, float | int | bool] = {}
        for k in cfg.ks:
            # "head" is what the page names (the top contributions); "weights" the plain
            # attention weights; "loo" the ceiling
            for method, name in (("head", "comprehensiveness"), ("weights", "weights"),
                                 ("rollout", "rollout"), ("loo", "loo")):
                v = method_sets[c][method][k]
                faith[f"{name}_at_{k}"] = _finite(float(drop[v, c]))
                faith[f"rank_after_{method}_at_{k}"] = int(fr[v, c])
            rs = random_sets[k]
            faith[f"random_at_{k}"] = sum(_finite(float(drop[v, c])) for v in rs) / len(rs)
            faith[f"rank_after_random_at_{k}"] = int(torch.tensor([int(fr[v, c]) for v in rs]).median())
        top3 = set(top_units(values["loo"], 3))
        for method, suffix in (("head", ""), ("weights", "_weights"), ("rollout", "_rollout")):
            faith[f"kendall_tau{suffix}"] = kendall_tau(values[method], values["loo"])
            faith[f"top3_overlap{suffix}"] = len(top3 & set(top_units(values[method], 3))) / max(min(3, n), 1)
        faith["verified"] = bool(n > 1 and faith["comprehensiveness_at_3"] > faith["random_at_3"])
        explained.append(ItemExplanation(
            item=int(item_t[c]), rank=int(base_rank[c]), score=float(base_score[c]),
            head=head_u[:, c].tolist(), weights=values["weights"], contribution=values["head"],
            rollout=values["rollout"],
            loo_delta=values["loo"], loo_rank=loo_rank[:, c].tolist(), faithfulness=faith,
            counterfactual=counterfactuals[c],
            reason=reason_units(values["head"], values["loo"], bool(faith["verified"])),
        ))
    return PersonExplanation(history=units, top=top_list, items=explained)


def reason_units(contribution: Sequence[float], loo_delta: Sequence[float], verified: bool,
                 most: int = 2) -> dict:
    """Return the history units a reason may name, and on what basis.

    Verified: the items contributing most whose own removal lowers the score (checked, not
    just attributed), leaving out any that contributes less than a fifth of the first (a
    reason names what mattered, not a runner-up at 0.000). Unverified: the items whose
    removal lowers the score most.
    """
    if verified:
        floor = 0.2 * max(contribution, default=0.0)
        units = [u for u in top_units(contribution, 3)
                 if loo_delta[u] > 0 and contribution[u] > 0 and contribution[u] >= floor][:most]
        if units:
            return {"units": units, "basis": "weights"}
    units = [u for u in top_units(loo_delta, most) if loo_delta[u] > 0]
    return {"units": units, "basis": "leave_one_out"}


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
