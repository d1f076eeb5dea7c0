"""The encoder's layers: causal self-attention that can return its weights, and a block."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig
from .ops import Dropout

NEG_INF = float("-inf")


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention that can return its weights."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        assert cfg.d_model % cfg.n_heads == 0
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.drop = Dropout(cfg.dropout)

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
        k = k.view(B, L, nh, d // nh).transpose(1, 2)
        v = v.view(B, L, nh, d // nh).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0].expand(B, -1, -1, -1), k], dim=2)  # (B, nh, P + L, dh)
            v = torch.cat([past[1].expand(B, -1, -1, -1), v], dim=2)
        if need_weights:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(d // nh)  # (B, nh, L, P + L)
            att = att.masked_fill(~allowed, NEG_INF).softmax(dim=-1)
            y = att @ v
        else:  # same maths, fused kernel, no weights (training)
            att = None
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        y = y.transpose(1, 2).reshape(B, L, d)
        return self.drop(self.proj(y)), att, (k, v)

    def at(self, x: torch.Tensor, allowed: torch.Tensor, sel: torch.Tensor,
           past: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Return the output (B, d) at one position per row, ``sel`` (B,): the same as
        ``forward(...)[0][arange(B), sel]``, with keys and values for every position and
        the query, attention and projection for that one only."""
        B, L, d = x.shape
        nh = self.n_heads
        rows = torch.arange(B, device=x.device)
        kv = F.linear(x, self.qkv.weight[d:], self.qkv.bias[d:])
        k, v = (t.view(B, L, nh, d // nh).transpose(1, 2) for t in kv.split(d, dim=2))
        q = F.linear(x[rows, sel], self.qkv.weight[:d], self.qkv.bias[:d]).view(B, nh, 1, d // nh)
        if past is not None:
            k = torch.cat([past[0].expand(B, -1, -1, -1), k], dim=2)
            v = torch.cat([past[1].expand(B, -1, -1, -1), v], dim=2)
        mask = allowed[rows, :, sel].unsqueeze(2)  # (B, 1, 1, P + L)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).reshape(B, d)
        return self.drop(self.proj(y))


class Block(nn.Module):
    """Pre-norm transformer block: causal attention, then a position-wise feed-forward."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        hidden = cfg.ffn_mult * cfg.d_model
        self.ffn = nn.Sequential(
            nn.Linear(cfg.d_model, hidden), nn.GELU(), Dropout(cfg.dropout),
            nn.Linear(hidden, cfg.d_model), Dropout(cfg.dropout),
        )

    def forward(self, x, allowed, need_weights=False, past=None):
        y, att, kv = self.attn(self.ln1(x), allowed, need_weights, past)
        x = x + y
        return x + self.ffn(self.ln2(x)), att, kv

    def at(self, x, allowed, sel, past=None) -> torch.Tensor:
        """Return the block's output (B, d) at position ``sel`` (B,) of each row alone."""
        x_sel = x[torch.arange(x.shape[0], device=x.device), sel] + self.attn.at(self.ln1(x), allowed, sel, past)
        return x_sel + self.ffn(self.ln2(x_sel))
