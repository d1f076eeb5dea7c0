"""A hand-checkable stand-in for the recommender, with the interface attribution uses."""
from types import SimpleNamespace

import torch

from recommender.ml.model import EntryTables


class BagModel:
    """score(i | h) = prior[i] + sum_j a_ij * value[i, h_j], with a_i = softmax_j(query[i, h_j]).

    One head; the prior is the part of the score no entry owns (as the plain state summary
    is). The "encoder" passes items through unchanged (identity attention).
    ``reported_value``, when set, is the value matrix ``explain`` reports contributions from
    instead of the one that scores: a stand-in for what a first-order attribution misses.
    ``boost``, when set (N+1,), is a new person's boost as the model's: a term of the score
    of its own, boost[i] * (1 - n/10) after n entries, fading with every entry added.
    """

    def __init__(self, prior: list[float], query: torch.Tensor, value: torch.Tensor, max_len: int = 10):
        self.prior = torch.tensor([0.0, *prior])  # index 0 = padding
        self.query, self.value = query, value  # (N+1, N+1): [candidate, history item]
        self.reported_value: torch.Tensor | None = None
        self.boost: torch.Tensor | None = None
        self.cfg = SimpleNamespace(n_items=len(prior), max_len=max_len)
        self.head = object()  # explanations need a head
        self.n_ranked = len(prior) + 1

    def _score(self, seq: torch.Tensor, items: torch.Tensor):
        real = seq != 0  # (B, L)
        q = self.query[items.unsqueeze(-1), seq.unsqueeze(1)]  # (B, C, L)
        a = q.masked_fill(~real.unsqueeze(1), float("-inf")).softmax(-1).nan_to_num(0.0)
        v = self.value[items.unsqueeze(-1), seq.unsqueeze(1)]  # (B, C, L)
        return self.prior[items] + (a * v).sum(-1), a

    def new_person_lift(self, seq, signals, items=None):
        if self.boost is None:
            return None
        fade = (1.0 - (seq != 0).sum(1, keepdim=True) / 10).clamp(min=0)  # (B, 1)
        every = self.boost.unsqueeze(0) * fade  # (B, N+1)
        return every if items is None else every.gather(1, items)

    def explain(self, seq, signals, items):
        scores, a = self._score(seq, items)
        lift = self.new_person_lift(seq, signals, items)
        boost = torch.zeros_like(scores) if lift is None else lift
        value = self.value if self.reported_value is None else self.reported_value
        v = value[items.unsqueeze(-1), seq.unsqueeze(1)]  # (B, C, L)
        contributions = a * (v - (a * v).sum(-1, keepdim=True))
        L = seq.shape[1]
        eye = torch.eye(L).expand(seq.shape[0], 1, L, L)
        return {"scores": scores + boost, "summary": self.prior[items], "rest": self.prior[items], "boost": boost,
                "head": a.unsqueeze(1),
                "terms": a * v, "contributions": contributions, "encoder": [eye],
                "visible": seq != 0}

    # the removal experiments' interface: no encoder state, the history is all there is
    def encode_prefix(self, items, signals):
        return None

    def clock(self, items, signals):
        real = (items != 0).long()
        return real.cumsum(1) * real, real.sum(1)

    def state_continued(self, prefix, keep, items, signals, clock=None):
        return torch.zeros(items.shape[0], 1)

    def entry_tables(self, items, signals):
        return EntryTables(None, None, None, None)  # nothing per entry to keep: scoring reads the history

    def summary_of(self, state, items, signals, clock=None, tables=None):
        return state, None

    def rank(self, S, seq, signals, exclude=None, clock=None, tables=None, lift=None):
        n = self.cfg.n_items
        items = torch.arange(n + 1).expand(seq.shape[0], -1)
        scores, _ = self._score(seq, items)
        lift = self.new_person_lift(seq, signals) if lift is None else lift
        if lift is not None:
            scores = scores + lift
        scores[:, 0] = float("-inf")
        if exclude is not None:
            scores = scores.masked_fill(exclude, float("-inf"))
        return scores


def deciding_model() -> BagModel:
    """Eight items; history item 1 alone lifts item 5 to the top, and attention knows it."""
    n = 8
    query = torch.zeros(n + 1, n + 1)
    value = torch.zeros(n + 1, n + 1)
    query[5, 1] = 3.0
    value[5, 1] = 10.0
    prior = [0.8, 0.7, 0.6, 0.5, 0.1, 0.45, 0.4, 0.35]  # items 1..8
    return BagModel(prior, query, value)
