"""What reads single history items: the scoring head's target attention and the readout
that makes the taste summary attention over items (``Recommender``; docs/design.md)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import signals as sig
from .config import ModelConfig
from .layers import NEG_INF
from .ops import Dropout


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


class TargetAttentionHead(nn.Module):
    """Scores candidates by attending from each candidate over item-level history entries."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, nh = cfg.d_model, cfg.head_heads
        assert d % nh == 0
        self.nh, self.dh = nh, d // nh
        self.q = nn.Linear(d, d, bias=False)  # from the candidate
        self.k = nn.Linear(d, d)  # from each history entry
        self.u = nn.Linear(d, d, bias=False)  # value side of the candidate
        self.w = nn.Linear(d, d)  # value side of each history entry
        self.signal = nn.Embedding(sig.N_SIGNALS, d, padding_idx=0)
        self.recency = nn.Embedding(cfg.max_len, d)  # entries after this one (0 = latest)
        dist = torch.arange(cfg.max_len, dtype=torch.float32)
        self.prior = nn.Parameter((-cfg.recency_init * torch.log1p(dist)).repeat(nh, 1))
        self.null = nn.Parameter(torch.zeros(nh))  # the null slot's logit, per head
        raw = torch.zeros(sig.N_SIGNALS)
        for s, p in sig.POLICY.items():
            raw[s] = _inverse_softplus(abs(p))
        self.strength_raw = nn.Parameter(raw)  # |strength| = softplus(raw)
        # signals whose strength is learned (the others keep their policy); set by training
        self.register_buffer("learned", torch.zeros(sig.N_SIGNALS, dtype=torch.bool))
        policy = torch.zeros(sig.N_SIGNALS)
        for s, p in sig.POLICY.items():
            policy[s] = abs(p)
        self.register_buffer("policy", policy)
        negative = torch.zeros(sig.N_SIGNALS, dtype=torch.bool)
        negative[list(sig.NEGATIVE)] = True
        self.register_buffer("negative", negative)
        shared = torch.zeros(sig.N_SIGNALS, dtype=torch.bool)
        shared[list(sig.POSITIVE)] = True
        self.register_buffer("shared", shared)

    def strengths(self) -> torch.Tensor:
        """Return |strength| per signal (N_SIGNALS,): learned ones, else the policy's."""
        return torch.where(self.learned, F.softplus(self.strength_raw), self.policy)

    def project(self, lin: nn.Linear, E_hist: torch.Tensor, eff: torch.Tensor, dist: torch.Tensor):
        """Return lin(x_j) for the entry vectors x_j = e_j + signal_j + recency_j: (B, Q, L, d).

        lin is linear, so lin(x) = lin(e + signal) + W recency: the recency part is a row of
        one small table per distance, gathered instead of multiplied per query position.
        """
        base = lin(E_hist + self.signal(eff))  # (B, L, d), the bias included once
        table = self.recency.weight @ lin.weight.t()  # (max_len, d)
        return base.unsqueeze(1) + table[dist.clamp(0, table.shape[0] - 1)]

    def entry_scores(self, cand: torch.Tensor, E_hist: torch.Tensor, signals: torch.Tensor,
                     eff: torch.Tensor, dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits, values) (B, nh, Q, C, L): what each candidate and history entry give
        each other, whatever else the history holds; the recency prior is in the logits, the
        signal's strength in the values (a low rating's: its push, below).

        cand: (B, Q, C, d) C candidates at each of Q query positions; E_hist (B, L, d),
        signals and eff (B, L): the history's items, signals and the signals read; dist
        (B, Q, L) >= 0: entries between each entry and its query.
        """
        B, L, d = E_hist.shape
        _, Q, C, _ = cand.shape
        nh, dh = self.nh, self.dh
        k = self.project(self.k, E_hist, eff, dist).view(B, Q, L, nh, dh).permute(0, 3, 1, 4, 2)
        w = self.project(self.w, E_hist, eff, dist).view(B, Q, L, nh, dh).permute(0, 3, 1, 4, 2)
        q = self.q(cand).view(B, Q, C, nh, dh).permute(0, 3, 1, 2, 4)  # (B, nh, Q, C, dh)
        u = self.u(cand).view(B, Q, C, nh, dh).permute(0, 3, 1, 2, 4)
        logits = (q @ k) / math.sqrt(dh)  # (B, nh, Q, C, L)
        prior = self.prior[:, dist.clamp(0, self.prior.shape[1] - 1)]  # (nh, B, Q, L)
        logits = logits + prior.permute(1, 0, 2, 3).unsqueeze(3)
        values = (u @ w).float() * self.strengths()[signals][:, None, None, None, :]  # (B, nh, Q, C, L)
        neg = self.negative[signals][:, None, None, None, :]  # (B, 1, 1, 1, L)
        if bool(neg.any()):
            # a low rating pushes down what resembles it, in proportion to how closely: its
            # value is -strength * max(0, cos(e_i, e_j)), split over the heads at full weight.
            # A policy, not learned: in rating data what people watch next resembles their
            # low-rated films too (docs/design.md, "What a person did: signals")
            sim = F.normalize(cand.float(), dim=-1) @ F.normalize(E_hist.float(), dim=-1).transpose(1, 2).unsqueeze(1)
            push = -self.strengths()[sig.RATED_LOW] * F.relu(sim).unsqueeze(1) / nh  # (B, 1, Q, C, L)
            values = torch.where(neg, push, values)
        return logits, values

    def weigh(self, logits: torch.Tensor, values: torch.Tensor, signals: torch.Tensor,
              allowed: torch.Tensor, uniform: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (head scores (B, Q, C), weights (B, nh, Q, C, L), values (B, nh, Q, C, L))
        from ``entry_scores`` over the entries ``allowed`` (B, Q, L) at each query.

        A candidate's score is sum_h sum_j weights * values; the null slot's weight is
        1 - sum_j weights. ``uniform=True`` puts equal weight on every allowed entry
        (the ablation).
        """
        B, nh, Q, C, L = logits.shape
        null = self.null.view(1, nh, 1, 1, 1).expand(B, nh, Q, C, 1)
        if uniform:
            logits, null = torch.zeros_like(logits), torch.full_like(null, NEG_INF)
        mask = ~allowed[:, None, :, None, :]  # (B, 1, Q, 1, L)
        shared = self.shared[signals][:, None, None, None, :]  # (B, 1, 1, 1, L)
        # choices share one softmax with the null slot; a view has a gate of its own, so it
        # adds its term without taking weight from anything else
        soft = torch.cat([logits.float().masked_fill(mask | ~shared, NEG_INF), null.float()], dim=-1)
        att = soft.softmax(dim=-1)[..., :L]  # (B, nh, Q, C, L), the null slot's share dropped
        if not bool((shared | mask).all()):  # only where some entry is neither a choice nor padding
            gate = torch.sigmoid(logits.float()) if not uniform else torch.full_like(logits.float(), 0.5)
            att = torch.where(shared, att, gate.masked_fill(mask, 0.0))
        neg = self.negative[signals][:, None, None, None, :]  # (B, 1, 1, 1, L)
        if bool(neg.any()):  # a low rating's push counts in full
            att = torch.where(neg, 1.0, att)
        att = att.masked_fill(mask, 0.0)
        values = values.masked_fill(mask, 0.0)
        scores = (att * values).sum(dim=-1).sum(dim=1)  # (B, Q, C)
        return scores, att, values

    def forward(self, cand: torch.Tensor, E_hist: torch.Tensor, signals: torch.Tensor,
                eff: torch.Tensor, allowed: torch.Tensor, dist: torch.Tensor,
                uniform: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (head scores (B, Q, C), weights, values (B, nh, Q, C, L)): ``entry_scores``
        weighed over the entries ``allowed`` (B, Q, L), real ones at or before each query."""
        return self.weigh(*self.entry_scores(cand, E_hist, signals, eff, dist), signals, allowed, uniform)


class Readout(nn.Module):
    """The taste summary as attention over item-level vectors: s = norm(concat_h sum_j b_hj g_j^h).

    The query is the encoder's state after the last read entry (what the whole history
    says); the keys come from each read entry alone (its item, signal and recency: how
    many entries ago), the values g_j = x_j + ffn(ln(x_j)) from its item and signal alone;
    each head h reads its slice g_j^h. ``readout_norm="none"``: norm(v) = gamma * v + beta, so
    e_i . s is exactly one term per entry plus e_i . beta, which no history changes, and
    removing an entry changes the others only by giving its weight back. "layer": a layer
    norm, whose mean is linear too but whose scale is one number per person that every
    removal moves (``parts``).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, nh = cfg.d_model, cfg.readout_heads
        assert d % nh == 0
        self.nh, self.dh, self.norm = nh, d // nh, cfg.readout_norm
        self.recency = nn.Embedding(cfg.max_len, d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d)
        self.ln = nn.LayerNorm(d)
        # dropout as in the encoder's blocks: without it this per-item network memorised
        # (ML-1M validation peaked at epoch 15 and fell while the training loss kept falling)
        self.ffn = nn.Sequential(nn.Linear(d, cfg.ffn_mult * d), nn.GELU(),
                                 nn.Linear(cfg.ffn_mult * d, d))
        self.drop = Dropout(cfg.dropout)
        self.ln_out = nn.LayerNorm(d)  # "layer": a layer norm; "none": its gain and bias only
        if self.norm not in ("layer", "none"):
            raise ValueError(f"unknown readout_norm {self.norm!r}")

    def values(self, x: torch.Tensor) -> torch.Tensor:
        """Return g = x + ffn(ln(x)) for item-level vectors x (..., d), with dropout on the
        input, the hidden layer and the output while training."""
        x = self.drop(x)
        hidden = self.drop(self.ffn[1](self.ffn[0](self.ln(x))))
        return x + self.drop(self.ffn[2](hidden))

    def out(self, raw: torch.Tensor) -> torch.Tensor:
        if self.norm == "layer":
            return self.ln_out(raw)
        return raw * self.ln_out.weight + self.ln_out.bias

    def parts(self, b: torch.Tensor, g: torch.Tensor, E_cand: torch.Tensor):
        """Return (each head's part per entry of e_i . s (B, nh, C, L), the part no entry
        owns (B, C)) for weights b (B, nh, L), values g (B, L, d), candidates E_cand (B, C, d)."""
        B, L, d = g.shape
        nh, dh = self.nh, self.dh
        gamma = self.ln_out.weight
        gh = (g * gamma).view(B, L, nh, dh).transpose(1, 2)  # (B, nh, L, dh)
        eh = E_cand.view(B, -1, nh, dh).transpose(1, 2)  # (B, nh, C, dh)
        A = eh @ gh.transpose(-2, -1)  # (B, nh, C, L): e_i^h . gamma^h g_j^h
        part = b.unsqueeze(2) * A
        if self.norm == "layer":  # minus each entry's share of the mean, over one scale
            raw = torch.einsum("bhl,blhd->bhd", b, g.view(B, L, nh, dh)).reshape(B, d)
            sigma = torch.sqrt(raw.var(dim=-1, unbiased=False) + self.ln_out.eps)  # (B,)
            M = g.view(B, L, nh, dh).sum(-1).transpose(1, 2) / d  # (B, nh, L)
            G = E_cand @ gamma  # (B, C)
            part = (part - (b * M).unsqueeze(2) * G[:, None, :, None]) / sigma[:, None, None, None]
        return part, E_cand @ self.ln_out.bias

    def removal_effects(self, b: torch.Tensor, g: torch.Tensor, E_cand: torch.Tensor) -> torch.Tensor:
        """Return, per entry, how much removing it alone lowers e_i . s with the query held
        (B, C, L): its weight goes back to the others (each head's b renormalised) and the
        output is normalised again. b (B, nh, L), g (B, L, d), E_cand (B, C, d)."""
        B, L, d = g.shape
        nh, dh = self.nh, self.dh
        gh = g.float().view(B, L, nh, dh)
        raw = torch.einsum("bhl,blhd->bhd", b, gh)  # (B, nh, dh)
        keep = (1.0 - b).clamp(min=1e-6).transpose(1, 2).unsqueeze(-1)  # (B, L, nh, 1)
        without = (raw.unsqueeze(1) - b.transpose(1, 2).unsqueeze(-1) * gh) / keep  # (B, L, nh, dh)
        without = without * (b.transpose(1, 2).unsqueeze(-1) < 1 - 1e-6)  # the only entry: nothing left
        s_all = self.out(raw.reshape(B, 1, d))  # (B, 1, d)
        s_wo = self.out(without.reshape(B, L, d))  # (B, L, d)
        return (E_cand @ s_all.transpose(1, 2)) - E_cand @ s_wo.transpose(1, 2)  # (B, C, L)

    def keys(self, x: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
        """Return the keys (B, nh, L, dh) of entry vectors x (B, L, d) at recency dist (B, L)
        from one query: k(x_j) + W r_dist(j), each entry's own, whatever else is read."""
        B, L, _ = x.shape
        rec = self.recency.weight @ self.k.weight.t()  # (R, d)
        k = self.k(x) + rec[dist.clamp(0, rec.shape[0] - 1)]
        return k.view(B, L, self.nh, self.dh).transpose(1, 2)

    def forward(self, state: torch.Tensor, x: torch.Tensor | None, read: torch.Tensor,
                dist: torch.Tensor | None, uniform: bool = False, g: torch.Tensor | None = None,
                keys: torch.Tensor | None = None):
        """Return (summaries (B, Q, d), weights (B, nh, Q, L), values g (B, L, d)).

        state: (B, Q, d) encoder states at Q query positions; x: (B, L, d) entry vectors
        (item + signal); read: (B, Q, L) the entries each query may use; dist: (B, Q, L)
        entries between each entry and its query; g: ``values(x)`` and, with one query,
        keys: ``keys(x, dist)``, if already computed (they depend on each entry alone).
        """
        B, Q = state.shape[:2]
        L = read.shape[-1]
        d, nh, dh = state.shape[-1], self.nh, self.dh
        q = self.q(state).view(B, Q, nh, dh).transpose(1, 2)  # (B, nh, Q, dh)
        if keys is not None:
            logits = (q @ keys.transpose(-2, -1)) / math.sqrt(dh)  # (B, nh, Q, L)
        else:
            k = self.k(x).view(B, L, nh, dh).transpose(1, 2)  # (B, nh, L, dh)
            rec = (self.recency.weight @ self.k.weight.t()).view(-1, nh, dh).transpose(0, 1)  # (nh, R, dh)
            logits = q @ k.transpose(-2, -1)  # (B, nh, Q, L)
            by_dist = q @ rec.unsqueeze(0).transpose(-2, -1)  # (B, nh, Q, R): q . W r
            idx = dist.clamp(0, rec.shape[1] - 1).unsqueeze(1).expand(B, nh, Q, L)
            logits = (logits + by_dist.gather(3, idx)) / math.sqrt(dh)
        if uniform:
            logits = torch.zeros_like(logits)
        read_h = read.unsqueeze(1)  # (B, 1, Q, L)
        empty = ~read_h.any(dim=-1, keepdim=True)
        b = logits.float().masked_fill(~read_h, NEG_INF).masked_fill(empty, 0.0).softmax(dim=-1)
        b = b * read_h
        g = self.values(x) if g is None else g
        raw = (b @ g.float().view(B, L, nh, dh).transpose(1, 2)).transpose(1, 2).reshape(B, Q, d)
        return self.out(raw), b, g
