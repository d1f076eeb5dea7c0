"""The recommender: a SASRec-style causal encoder and a target-attention scoring head.

For a candidate item i and the encoded history H (B, L, d) the head computes, per head h,

    a_h(i) = softmax_j( q_h(e_i) . k_h(H_j) / sqrt(d_h) + r_h[t - j] )   over real j <= t
    score(i) = sum_h sum_j a_h(i)_j * G_hj(i)

so the weights a(i) shown to a person are exactly the ones that produced the score. The
values G are, by default (``head_values="state"``), the first stage's own score of i read
from each position's state, split across the heads' slices of the vectors:
G_hj(i) = ê_i[h] . Ĥ_j[h] / temp (ê, Ĥ unit vectors; plain e_i . H_j without a temperature).
"What the history up to item j says about i", and the head decides, per candidate, which of
those readings to trust; a head attending only to the last position scores exactly as the
first stage does, which is where the learned recency prior r_h (one scalar per head and
distance) starts it. On ML-1M this head re-ranks above its first stage in every seed (3
seeds: 0.1810 vs 0.1782 test NDCG@10, docs/benchmarks.md); the older learned readout G = o_h(e_i) . v_h(H_j)
(``head_values="learned"``, v and o from identity) ended 3% below it. With ``head_residual`` (off) the first stage's logit is added on top.

Scoring all N items at all L training positions through the head costs B*L*N*L*d, so a
cheap first stage (e_i . H_t, or cos(e_i, H_t) / temp; trained with SASRec's full cross-entropy) picks
the top ``candidates`` items and the head re-ranks them; the final order is the head's.

``scoring="last"`` turns the same module into plain SASRec (the first stage alone), the
baseline.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG_INF = float("-inf")


def score_space(H: torch.Tensor, E: torch.Tensor, temp: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (H, E) ready for the first stage's dot product: unit vectors with H over
    ``temp`` when a temperature is set (cosine / temp), else unchanged (e . h)."""
    if not temp:
        return H, E
    return F.normalize(H, dim=-1) / temp, F.normalize(E, dim=-1)


@dataclass
class ModelConfig:
    n_items: int  # real items are 1..n_items; 0 is padding
    max_len: int = 200  # history positions kept (most recent)
    d_model: int = 128  # embedding width (ML-1M, 40 epochs: 128 beat 64 by 0.007 NDCG@10)
    n_layers: int = 2  # encoder blocks
    n_heads: int = 1  # encoder self-attention heads
    head_heads: int = 2  # target-attention heads in the scoring head
    # feed-forward hidden = ffn_mult * d_model (SASRec uses 1). ML-1M, 12 epochs, one seed:
    # 4 reached test NDCG@10 0.1799 against 0.1730 for 1 (validation 0.1892 vs 0.1847), for
    # about 10% more CPU per epoch; at 30 minutes (3 seeds) its validation was higher and
    # its test level with 1 (docs/benchmarks.md)
    ffn_mult: int = 4
    dropout: float = 0.1  # on embeddings, attention outputs and feed-forward
    n_features: int = 0  # width of the multi-hot item feature vector (0 = none)
    scoring: str = "head"  # "head": target-attention head (recsite); "last": plain SASRec
    candidates: int = 100  # first-stage top items the head scores (train and inference)
    head_positions: int = 2  # positions per sequence where the head is trained (incl. last);
    # 8 cost 2.2x the CPU of a SASRec step on ML-1M, 2 cost 1.1x
    head_loss_weight: float = 1.0  # weight of the head's cross-entropy next to the first stage
    recency_init: float = 4.0  # head's recency prior starts at -recency_init*log(1+t-j); <0 = none
    head_identity_init: bool = True  # v and o start as identity: head starts as SASRec's score
    # head score = first-stage logit e_i . H_t + the attention term. Off: on ML-1M (20 epochs)
    # it re-ranked no better than the plain head (+0.0017 vs +0.0013 test NDCG@10 over the
    # first stage) and freezing its weights to uniform cost 0.9% instead of 63%, i.e. the
    # weights no longer explained the score.
    head_residual: bool = False
    head_detach: bool = True  # head loss trains only the head, not the shared encoder/items
    init_std: float = 0.02  # small-std init; N(0, 1) embeddings train far slower
    # first-stage score: e_i . H_t when 0, else cos(e_i, H_t) / score_temp (HSTU's recipe).
    # ML-1M, 16 epochs, one seed, bf16: 0.05 gave test NDCG@10 0.1733, 0 gave 0.1738 at 5%
    # less CPU per epoch (validation 0.1877 vs 0.1827)
    score_temp: float = 0.0
    # first-stage loss: cross-entropy over the whole catalogue when 0, else a sampled
    # softmax over the target and this many uniform negatives shared by the batch
    n_negatives: int = 0
    # head values o_h(e_i) . v_h(H_j): "learned" (v, o trained from identity) or "state"
    # (v = o = identity, fixed: position j's value is its own first-stage logit for i, per
    # head slice, so a head attending only to the last position is exactly the first stage)
    head_values: str = "state"
    # position embedding index of a history item: "from_end" (the most recent item is always
    # max_len) or "from_start" (1 for the oldest kept item, counting up)
    positions: str = "from_start"

    def to_dict(self) -> dict:
        return asdict(self)


def positions_after(pos: torch.Tensor, L: int) -> torch.Tensor:
    """Return (B, P, L) bool: True at history positions j after each query position pos (B, P)."""
    return torch.arange(L, device=pos.device).view(1, 1, L) > pos.unsqueeze(-1)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention that can return its weights."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        assert cfg.d_model % cfg.n_heads == 0
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, need_weights: bool = False,
                past: tuple[torch.Tensor, torch.Tensor] | None = None):
        """Return (output (B, L, d), weights or None, (keys, values) (B, nh, P + L, dh)).

        ``past``: keys and values (1 or B, nh, P, dh) of P earlier positions that the L
        positions of ``x`` continue; ``allowed`` (B, 1, L, P + L) then covers them too.
        """
        B, L, d = x.shape
        nh = self.n_heads
        q, k, v = self.qkv(x).split(d, dim=2)
        q = q.view(B, L, nh, d // nh).transpose(1, 2)  # (B, nh, L, dh)
        k = k.view(B, L, nh, d // nh).transpose(1, 2)  # (B, nh, L, dh)
        v = v.view(B, L, nh, d // nh).transpose(1, 2)  # (B, nh, L, dh)
        if past is not None:
            k = torch.cat([past[0].expand(B, -1, -1, -1), k], dim=2)  # (B, nh, P + L, dh)
            v = torch.cat([past[1].expand(B, -1, -1, -1), v], dim=2)  # (B, nh, P + L, dh)
        if need_weights:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(d // nh)  # (B, nh, L, L)
            att = att.masked_fill(~allowed, NEG_INF).softmax(dim=-1)
            y = att @ v  # (B, nh, L, dh)
        else:  # same maths, fused kernel, no weights (training)
            att = None
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        y = y.transpose(1, 2).reshape(B, L, d)  # (B, L, d)
        return self.drop(self.proj(y)), att, (k, v)


class Block(nn.Module):
    """Pre-norm transformer block: causal attention, then a position-wise feed-forward."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        hidden = cfg.ffn_mult * cfg.d_model
        self.ffn = nn.Sequential(
            nn.Linear(cfg.d_model, hidden), nn.GELU(), nn.Dropout(cfg.dropout),
            nn.Linear(hidden, cfg.d_model), nn.Dropout(cfg.dropout),
        )

    def forward(self, x, allowed, need_weights=False, past=None):
        y, att, kv = self.attn(self.ln1(x), allowed, need_weights, past)
        x = x + y
        return x + self.ffn(self.ln2(x)), att, kv


class TargetAttentionHead(nn.Module):
    """Scores candidates by attending from each candidate item over the encoded history."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, nh = cfg.d_model, cfg.head_heads
        assert d % nh == 0
        self.nh, self.dh = nh, d // nh
        self.residual = cfg.head_residual
        self.temp = cfg.score_temp
        self.q = nn.Linear(d, d, bias=False)  # from the candidate's embedding
        self.k = nn.Linear(d, d)  # from the encoded history
        if cfg.head_values == "learned":
            self.v = nn.Linear(d, d)
            self.o = nn.Linear(d, d, bias=False)  # readout: score = o(e_i) . v(H), per head
        elif cfg.head_values == "state":
            self.v = self.o = None  # values are the first stage's own logits, per head slice
        else:
            raise ValueError(f"unknown head_values {cfg.head_values!r}")
        # learned recency prior per head, indexed by distance t - j; starts favouring the
        # most recent items so the head begins close to SASRec's last-position score
        dist = torch.arange(cfg.max_len, dtype=torch.float32)
        init = -cfg.recency_init * torch.log1p(dist)
        self.recency = nn.Parameter(init.repeat(nh, 1)) if cfg.recency_init >= 0 else None

    def forward(
        self, H: torch.Tensor, allowed: torch.Tensor, cand: torch.Tensor, uniform: bool = False,
        query_pos: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (scores (B, Q, C), weights (B, nh, Q, C, L)) for candidates ``cand``.

        With ``head_residual`` the score is the first stage's logit e_i . H_t plus the
        attention term, so the head re-ranks by correcting the first stage, not by
        re-learning it; the weights still decide every candidate's correction.

        H: (B, L, d) encoded history; cand: (B, Q, C, d), C candidates for each of Q query
        positions; allowed: (B, Q, L) bool, the history positions a query may attend to
        (real and not after its position); query_pos: (B, Q) those positions t (default:
        the last, L - 1). Weights sum to 1 over allowed positions and are exactly 0
        elsewhere. ``uniform=True`` replaces the learned weights by uniform ones (ablation).
        """
        B, L, _ = H.shape
        _, Q, C, d = cand.shape
        nh, dh = self.nh, self.dh
        k = self.k(H).view(B, L, nh, dh).transpose(1, 2)  # (B, nh, L, dh)
        q = self.q(cand).view(B, Q * C, nh, dh).transpose(1, 2)  # (B, nh, Q*C, dh)
        att = (q @ k.transpose(-2, -1)).view(B, nh, Q, C, L) / math.sqrt(dh)  # (B, nh, Q, C, L)
        if self.recency is not None:
            j = torch.arange(L, device=H.device)
            t = query_pos if query_pos is not None else torch.full((B, Q), L - 1, device=H.device)
            dist = (t.unsqueeze(-1) - j).clamp(0, self.recency.shape[1] - 1)  # (B, Q, L)
            att = att + self.recency[:, dist].permute(1, 0, 2, 3).unsqueeze(3)  # (B, nh, Q, 1, L)
        if uniform:
            att = torch.zeros_like(att)
        # A query with no allowed position (training picks padding positions in a history
        # shorter than head_positions, then leaves their loss out) gets all-zero weights,
        # not softmax's NaN: a zero gradient times NaN is still NaN, and it would poison the
        # head's parameters.
        empty = ~allowed.any(dim=-1)  # (B, Q)
        mask = ~(allowed | empty.unsqueeze(-1))[:, None, :, None, :]  # (B, 1, Q, 1, L)
        att = att.float().masked_fill(mask, NEG_INF).softmax(dim=-1)  # (B, nh, Q, C, L)
        att = att.masked_fill(empty[:, None, :, None, None], 0.0)
        G = self.values(H, cand)  # (B, nh, Q, C, L)
        scores = (att * G).sum(dim=-1).sum(dim=1)  # (B, Q, C) = sum_h a_h(i) . (o_h(e_i) . V_h)
        if self.residual:
            if query_pos is None:
                Ht = H[:, -1:].expand(B, Q, -1)  # (B, Q, d)
            else:
                Ht = H.gather(1, query_pos.unsqueeze(-1).expand(B, Q, H.shape[-1]))  # (B, Q, d)
            Ht, ei = score_space(Ht.float().unsqueeze(2), cand.float(), self.temp)
            scores = scores + (ei * Ht).sum(dim=-1)  # + the first stage's logit for i
        return scores, att

    def values(self, H: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """Return o_h(e_i) . v_h(H_j), what each history position adds per unit of weight.

        H: (B, L, d); cand: (B, Q, C, d). Returns (B, nh, Q, C, L) float32; a candidate's
        score is the weighted sum of its row: sum_h sum_j a_hj(i) * values_hj(i).
        """
        B, L, _ = H.shape
        _, Q, C, _ = cand.shape
        nh, dh = self.nh, self.dh
        if self.v is None:  # "state": split the first stage's score e_i . H_j across heads
            u, v = score_space(cand, H, self.temp)  # (the temperature on the candidate side)
        else:
            v, u = self.v(H), self.o(cand)
        v = v.reshape(B, L, nh, dh).transpose(1, 2)  # (B, nh, L, dh)
        u = u.reshape(B, Q * C, nh, dh).transpose(1, 2)  # (B, nh, Q*C, dh)
        return (u @ v.transpose(-2, -1)).view(B, nh, Q, C, L).float()


@dataclass(frozen=True)
class EncoderPrefix:
    """One history's encoder output and per-layer keys and values (``encode_prefix``), for
    encoding histories that share its first items (``full_sort_predict_continued``)."""

    kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values (1, nh, n, dh)
    H: torch.Tensor  # (1, n, d) encoder output


class Recommender(nn.Module):
    """SASRec encoder + target-attention head, with a RecBole-like interface."""

    def __init__(self, cfg: ModelConfig, item_features: torch.Tensor | None = None):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.item_emb = nn.Embedding(cfg.n_items + 1, d, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len + 1, d, padding_idx=0)  # 0 at padding
        if cfg.n_features:
            if item_features is None:
                item_features = torch.zeros(cfg.n_items + 1, cfg.n_features)
            feats = item_features.float()
            feats = feats / feats.sum(dim=1, keepdim=True).clamp(min=1.0)  # mean of genres
            self.register_buffer("item_features", feats)
            self.feat_proj = nn.Linear(cfg.n_features, d, bias=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = TargetAttentionHead(cfg) if cfg.scoring == "head" else None
        self.apply(self._init)
        with torch.no_grad():
            # the residual head already starts at SASRec's score (its attention term starts
            # near 0), so identity v/o would only double the first stage's logit
            if (self.head is not None and self.head.v is not None and cfg.head_identity_init
                    and not cfg.head_residual):
                eye = torch.eye(d)
                self.head.v.weight.copy_(eye + cfg.init_std * torch.randn(d, d))
                self.head.o.weight.copy_(eye + cfg.init_std * torch.randn(d, d))
            self.item_emb.weight[0].zero_()
            self.pos_emb.weight[0].zero_()

    def _init(self, m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=self.cfg.init_std)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    # ---- encoder -----------------------------------------------------------------------
    def item_vectors(self) -> torch.Tensor:
        """Return the embedding of every item, features included: (n_items + 1, d)."""
        E = self.item_emb.weight
        if self.cfg.n_features:
            E = E + self.feat_proj(self.item_features)
        return E

    def encode(self, seq: torch.Tensor, need_weights: bool = False):
        """Encode left-padded histories (B, L) into H (B, L, d); padding rows are 0.

        Returns (H, real (B, L) bool, per-layer self-attention weights or Nones).
        """
        H, real, atts, _ = self._encode(seq, need_weights)
        return H, real, atts

    def encode_prefix(self, seq: torch.Tensor) -> EncoderPrefix:
        """Encode one unpadded history (1, n) and keep what continuing it needs."""
        if self.cfg.positions != "from_start" or bool((seq == 0).any()) or seq.shape[0] != 1:
            raise ValueError("a prefix needs positions='from_start' and one unpadded history")
        H, _, _, kvs = self._encode(seq)
        return EncoderPrefix(kvs, H)

    def _encode(self, seq, need_weights=False, prefix: EncoderPrefix | None = None, keep: int = 0):
        """``encode``, plus each layer's keys and values; with ``prefix``, ``seq`` (B, L,
        left-padded) continues the first ``keep`` items of the prefix's history and only its
        positions are computed, attending to the prefix's cached keys and values. Causal
        attention and positions counted from the oldest item make those states exactly
        the ones encoding each whole history would give."""
        B, L = seq.shape
        d = self.cfg.d_model
        real = seq != 0  # (B, L)
        if self.cfg.positions == "from_start":  # 1 for the oldest kept item (left padding)
            pos = (keep + real.long().cumsum(dim=1)) * real  # (B, L), 0 at padding
        else:  # position max_len is always the most recent item, whatever the batch width
            pos = torch.arange(self.cfg.max_len - L + 1, self.cfg.max_len + 1, device=seq.device)
            pos = pos.unsqueeze(0) * real  # (B, L), 0 at padding
        x = self.item_vectors()[seq] * math.sqrt(d) + self.pos_emb(pos)  # (B, L, d)
        x = self.drop(x) * real.unsqueeze(-1)
        causal = torch.ones(L, L, dtype=torch.bool, device=seq.device).tril()  # (L, L)
        eye = torch.eye(L, dtype=torch.bool, device=seq.device)
        # a padding query sees only itself (avoids an all-masked row); real queries see
        # real keys at or before them
        allowed = (causal & real[:, None, :]) | eye  # (B, L, L)
        if keep:  # every kept prefix position precedes all of seq's
            allowed = torch.cat([allowed.new_ones(B, L, keep), allowed], dim=2)  # (B, L, keep + L)
        allowed = allowed.unsqueeze(1)  # (B, 1, L, keep + L)
        atts, kvs = [], []
        for n, block in enumerate(self.blocks):
            past = (prefix.kv[n][0][:, :, :keep], prefix.kv[n][1][:, :, :keep]) if keep else None
            x, att, kv = block(x, allowed, need_weights, past)
            x = x * real.unsqueeze(-1)
            atts.append(att)
            kvs.append(kv)
        return self.ln_f(x) * real.unsqueeze(-1), real, atts, kvs

    # ---- RecBole-like interface ----------------------------------------------------------
    def first_stage(self, H: torch.Tensor, E: torch.Tensor) -> torch.Tensor:
        """Return the cheap first-stage scores of every item after states H: (..., N).

        e_i . H_t, or cos(e_i, H_t) / score_temp when ``score_temp`` is set.
        """
        H, E = score_space(H, E, self.cfg.score_temp)
        return H @ E[1:].t()

    def first_stage_items(self, H: torch.Tensor, E_items: torch.Tensor) -> torch.Tensor:
        """Return first-stage scores of given item vectors E_items (B, C, d) after H (B, d)."""
        H, E_items = score_space(H, E_items, self.cfg.score_temp)
        return (H.unsqueeze(1) * E_items).sum(-1)

    def calculate_loss(self, seq: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return the training loss for (B, L) left-padded inputs and next-item targets.

        First stage: full-catalogue cross-entropy at every real position (SASRec's strong
        recipe). Head (``scoring="head"``): cross-entropy over the first stage's top
        ``candidates`` items where they contain the target, at the last and
        ``head_positions - 1`` random real positions of each sequence: the same candidate
        sets it re-ranks at inference.
        """
        cfg = self.cfg
        H, real, _ = self.encode(seq)
        E = self.item_vectors()
        mask = targets != 0
        loss = self.first_stage_loss(H[mask], E, targets[mask])
        if self.head is None:
            return loss
        B, L = seq.shape
        P = min(cfg.head_positions, L)
        pick = torch.rand(B, L, device=seq.device).masked_fill(~mask, -1.0)
        pick[:, -1] = 2.0  # always train the position used at inference
        pos = pick.topk(P, dim=1).indices  # (B, P)
        valid = mask.gather(1, pos)  # (B, P) a short history may yield fewer real positions
        H_pos = H.detach().gather(1, pos.unsqueeze(-1).expand(B, P, H.shape[-1]))  # (B, P, d)
        row_logits = self.first_stage(H_pos.reshape(B * P, -1), E.detach()).float()  # (B*P, N)
        tgt = targets.gather(1, pos).flatten()  # (B*P,)
        # Inference never ranks the history, so the head must not learn on it either: left
        # in, the items the history holds (never the target in once-per-item data such as
        # ratings) are the best attention matches, and the head learns that a candidate
        # resembling the history is a negative.
        seen = seq.unsqueeze(1).masked_fill(positions_after(pos, L), 0)  # (B, P, L) items up to t
        history = torch.zeros(B * P, E.shape[0], dtype=torch.bool, device=seq.device)
        history.scatter_(1, seen.view(B * P, L), True)
        row_logits = row_logits.masked_fill(history[:, 1:], NEG_INF)
        C = min(cfg.candidates, E.shape[0] - 1)
        cand = row_logits.topk(C, dim=1).indices + 1  # (B*P, C) item indices
        # The head learns to re-rank exactly what it re-ranks at inference: the first
        # stage's top C outside the history, and only where the target is among them.
        # Forcing the target into the set instead teaches the head that items the first
        # stage likes are negatives.
        hit = cand == tgt.unsqueeze(1)  # (B*P, C)
        keep = valid.flatten() & hit.any(dim=1)  # (B*P,)
        if not bool(keep.any()):
            return loss
        allowed = real.unsqueeze(1) & ~positions_after(pos, L)  # (B, P, L)
        if cfg.head_detach:  # the first stage stays exactly SASRec; the head learns on top
            H, E = H.detach(), E.detach()
        cand_emb = E[cand].view(B, P, C, -1)  # (B, P, C, d)
        scores, _ = self.head(H, allowed, cand_emb, query_pos=pos)  # (B, P, C)
        scores = scores.view(B * P, C)
        head_loss = F.cross_entropy(scores[keep], hit[keep].float().argmax(dim=1))
        return loss + cfg.head_loss_weight * head_loss

    def first_stage_loss(self, H: torch.Tensor, E: torch.Tensor, targets: torch.Tensor):
        """Return the first stage's cross-entropy for states H (n, d) and targets (n,).

        Over the whole catalogue, or (``n_negatives``) over the target and that many
        uniform negatives shared by the batch, a negative equal to the target left out.
        """
        if not self.cfg.n_negatives:
            logits = self.first_stage(H, E)  # (n, N)
            labels = targets - 1
        else:
            neg = torch.randint(1, E.shape[0], (self.cfg.n_negatives,), device=H.device)
            pos_logit = self.first_stage_items(H, E[targets].unsqueeze(1))  # (n, 1)
            Hs, En = score_space(H, E[neg], self.cfg.score_temp)
            neg_logits = Hs @ En.t()  # (n, K)
            neg_logits = neg_logits.masked_fill(neg == targets.unsqueeze(1), NEG_INF)
            logits = torch.cat([pos_logit, neg_logits], dim=1)  # (n, 1 + K)
            labels = torch.zeros_like(targets)
        # Under bf16 autocast, cross_entropy would upcast the whole (positions, items) matrix
        # to float32, which costs more than the matmul that made it; the bf16 kernel
        # accumulates in float32 and gives the same gradient to ~1e-3 (it is cast to bf16
        # for the backward matmul anyway), at 2.4x less CPU.
        with torch.autocast(logits.device.type, enabled=False):
            return F.cross_entropy(logits, labels).float()

    def full_sort_predict(
        self, seq: torch.Tensor, exclude: torch.Tensor | None = None, uniform: bool = False
    ) -> torch.Tensor:
        """Score every item after each history (B, L): (B, n_items + 1), column 0 = -inf.

        ``exclude`` (B, n_items + 1) bool marks items that may not be candidates (the
        history). With the head, the first stage's top ``candidates`` allowed items get the
        head's scores and every other item is placed below them in first-stage order, so the
        final ranking of the candidates is the head's. ``uniform`` is the ablation.
        """
        H, real, _ = self.encode(seq)
        return self.rank_states(H, real, exclude, uniform)

    def full_sort_predict_continued(
        self, prefix: EncoderPrefix, keep: int, seq: torch.Tensor, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``full_sort_predict`` for histories made of the prefix's first ``keep`` items
        followed by each row of ``seq`` (B, S), left-padded. Only seq's positions go through
        the encoder (what removal experiments need: a history with items removed shares
        its states up to the first removed one)."""
        if self.cfg.positions != "from_start":
            raise ValueError("continuing a prefix needs positions='from_start'")
        B = seq.shape[0]
        Hs, real_s, _, _ = self._encode(seq, prefix=prefix, keep=keep)
        H = torch.cat([prefix.H[:, :keep].expand(B, -1, -1), Hs], dim=1)  # (B, keep + S, d)
        real = torch.cat([real_s.new_ones(B, keep), real_s], dim=1)  # (B, keep + S)
        # lay each history out as encode does: padding first, then its items in order
        order = torch.argsort(real.to(torch.int8), dim=1, stable=True)
        width = max(1, int(real.sum(dim=1).max()))
        order = order[:, -width:]
        H = H.gather(1, order.unsqueeze(-1).expand(B, width, H.shape[-1]))
        return self.rank_states(H, real.gather(1, order), exclude)

    def rank_states(
        self, H: torch.Tensor, real: torch.Tensor, exclude: torch.Tensor | None = None,
        uniform: bool = False,
    ) -> torch.Tensor:
        """``full_sort_predict`` from encoded histories H (B, L, d), real (B, L)."""
        E = self.item_vectors()
        first = self.first_stage(H[:, -1], E).float()  # (B, N)
        pad = torch.full_like(first[:, :1], NEG_INF)
        first = torch.cat([pad, first], dim=1)  # (B, N + 1)
        if exclude is not None:
            first = first.masked_fill(exclude, NEG_INF)
        if self.head is None:
            return first
        C = min(self.cfg.candidates, E.shape[0] - 1)
        top = first.topk(C, dim=1).indices  # (B, C)
        head, _ = self.head(H, real.unsqueeze(1), E[top].unsqueeze(1), uniform=uniform)
        head = head.squeeze(1)  # (B, C)
        # everything outside the candidates ranks below the lowest candidate
        floor = head.min(dim=1, keepdim=True).values - 1.0  # (B, 1)
        finite = first > NEG_INF
        hi = first.masked_fill(~finite, 0.0).amax(dim=1, keepdim=True)  # (B, 1)
        scores = (floor - (hi - first)).scatter(1, top, head)
        return scores.masked_fill(~finite, NEG_INF)  # excluded items stay out

    def predict(self, seq: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Score the given candidates (B, C) for each history (B, L) through the head: (B, C)."""
        H, real, _ = self.encode(seq)
        E = self.item_vectors()
        if self.head is None:
            return self.first_stage_items(H[:, -1], E[items])
        return self.head(H, real.unsqueeze(1), E[items].unsqueeze(1))[0].squeeze(1)

    def explain(self, seq: torch.Tensor, items: torch.Tensor) -> dict:
        """Return scores and attention for candidates ``items`` (B, C) after histories (B, L).

        ``scores``: (B, C) head scores; ``head``: (B, head_heads, C, L) target-attention
        weights (0 at padding) that produced them; ``contributions``: (B, head_heads, C, L),
        each position's share of the score measured against its head's average,
        a_hj * (values_hj - score_h): removing position j alone, with the encoder's output
        held fixed, lowers head h's score by exactly contribution_hj / (1 - a_hj), so the
        positions it ranks first are the ones whose removal costs most, and it sums to 0
        over a head's positions (a random removal costs 0 to first order); ``encoder``: one
        (B, n_heads, L, L) self-attention tensor per layer. With ``scoring="last"``
        ``head`` and ``contributions`` are None.
        """
        H, real, atts = self.encode(seq, need_weights=True)
        E = self.item_vectors()
        if self.head is None:
            return {"scores": self.first_stage_items(H[:, -1], E[items]), "head": None,
                    "contributions": None, "encoder": atts}
        cand = E[items].unsqueeze(1)  # (B, 1, C, d)
        scores, weights = self.head(H, real.unsqueeze(1), cand)
        values = self.head.values(H, cand)  # (B, nh, 1, C, L)
        per_head = (weights * values).sum(dim=-1, keepdim=True)  # (B, nh, 1, C, 1)
        contributions = weights * (values - per_head)  # exactly 0 at padding (weight 0)
        return {"scores": scores.squeeze(1), "head": weights.squeeze(2),
                "contributions": contributions.squeeze(2), "encoder": atts}
