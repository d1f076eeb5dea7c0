"""The recommender: a taste summary and item-level target attention, both over single items.

A person's history is a sequence of entries, one per item, each with a signal
(``signals.py``: rated 5 stars, viewed, rated 1 star...). For a candidate item i:

    score(i) = e_i . s  +  sum_h sum_j a_hj(i) * v_hj(i)

- A SASRec-style causal encoder reads the person's *positive* entries (ratings of 3 stars
  or more, likes, purchases: what they chose); low ratings and views never reach it.
  ``summary="state"`` (plain SASRec) takes s as its state after the last read entry;
  ``summary="readout"`` (the default) makes s itself attention over single items: that
  state is only the *query*, s = sum_j b_j g_j with keys from each read entry's item,
  signal and recency and values g_j from its item and signal. e_i . s is the cheap first
  stage that picks the ``candidates`` the head re-ranks (``scoring="last"``: it alone).
- The head's keys and values are item-level, never encoder states: x_j = e_j + signal_j +
  recency_j; logits q_h(e_i) . k_h(x_j) / sqrt(d_h) + r_h[recency_j]. Choices share one
  softmax with a null slot (value 0) that takes the weight no item deserves; a view has a
  sigmoid gate of its own, so it adds its term without taking weight from anything else.
  v_hj(i) = strength(signal_j) * u_h(e_i) . w_h(x_j); strengths start at ``signals.POLICY``
  (a view a quarter of a choice) and are learned for signals the training data holds.
  A low rating is a policy, not learned: its term is -strength * max(0, cos(e_i, e_j)),
  so it can only push down, and most what most resembles the film rated low.

So with the readout every part of the score belongs to one history entry: entry j's term
is b_j e_i . g_j + sum_h a_hj v_hj, and the weights shown are the weights used. Recency
counts read entries only, so adding a view or a low rating changes nothing but its own
term. Why this design: docs/design.md, "The model"; figures: docs/benchmarks.md.

This file is longer than the project's ~400 lines on purpose: ``Recommender`` keeps the
encoding, the scoring, the training loss and the exact explanation in one class, as
minGPT's GPT does, because the explanation must be the scoring (same tensors, same
masks) and reads best beside it. Its parts live elsewhere: the configuration in
``config.py``, the encoder's layers in ``layers.py``, the head and the readout in
``heads.py``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import signals as sig
from .config import ModelConfig
from .heads import NEG_INF, Readout, TargetAttentionHead
from .layers import Block
from .ops import Dropout, linear_cross_entropy

# each entry's place in time and the history's "now" (Recommender.clock)
Clock = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class EncoderPrefix:
    """One history's encoder keys and values per layer, outputs and visibility, for
    encoding histories that share its first entries (``state_continued``)."""

    kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values (1, nh, n, dh)
    H: torch.Tensor  # (1, n, d) encoder output (0 where not visible)
    visible: torch.Tensor  # (1, n) bool: positive entries the encoder reads


@dataclass(frozen=True)
class EntryTables:
    """What each entry of one history gives, whatever else the history keeps, each entry
    held in its place in time (``Recommender.entry_tables``): removal experiments score
    many histories made of its entries by gathering rows. Row 0 of each entry axis is
    padding's."""

    values: torch.Tensor | None  # (n + 1, d) the readout's values
    keys: torch.Tensor | None  # (readout heads, n + 1, dh) the readout's keys, recency included
    logits: torch.Tensor | None  # (head heads, n_items + 1, n + 1) the head's, every item against every entry
    head_values: torch.Tensor | None  # (head heads, n_items + 1, n + 1)
    rows: torch.Tensor | None = None  # (B, L) the rows a batch of histories reads (``at``)

    def at(self, rows: torch.Tensor) -> EntryTables:
        """Return these tables read at ``rows`` (B, L): entry index + 1, 0 for padding."""
        return replace(self, rows=rows)


class Recommender(nn.Module):
    """Taste summary + item-level target-attention head, with a RecBole-like interface."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.item_emb = nn.Embedding(cfg.n_items + 1, d, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len + 1, d, padding_idx=0)  # 0 at padding
        self.signal_emb = nn.Embedding(sig.N_SIGNALS, d, padding_idx=0)  # encoder input
        self.drop = Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        if cfg.summary == "readout":
            self.readout = Readout(cfg)
        elif cfg.summary != "state":
            raise ValueError(f"unknown summary {cfg.summary!r}")
        self.head = TargetAttentionHead(cfg) if cfg.scoring == "head" else None
        # signal -> the signal whose embeddings are read (itself once learned, else a
        # stand-in, signals.effective); set from the training data by ``learn_signals``
        self.register_buffer("signal_map", torch.tensor(
            [0] + [sig.effective(s, {sig.INTERACTED}) for s in range(1, sig.N_SIGNALS)], dtype=torch.long))
        positive = torch.zeros(sig.N_SIGNALS, dtype=torch.bool)
        positive[list(sig.POSITIVE)] = True
        self.register_buffer("positive", positive)
        if cfg.text_dim:
            self.register_buffer("text", torch.zeros(cfg.n_items + 1, cfg.text_dim))
            self.text_proj = nn.Linear(cfg.text_dim, d, bias=False)
        if cfg.n_genres:  # each item's genres, one-hot rows scaled to length 1 (``set_genres``)
            self.register_buffer("genres", torch.zeros(cfg.n_items + 1, cfg.n_genres))
        self.lift = True  # a new person's genre lift in eval (``lift_off``)
        # items added after training, known by their text only (``extend_items``)
        self.register_buffer("extra_text", torch.zeros(0, max(cfg.text_dim, 1)), persistent=False)
        self._vectors: tuple | None = None
        self.apply(self._init)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
            self.pos_emb.weight[0].zero_()
            self.signal_emb.weight[0].zero_()
            if self.head is not None:
                self.head.signal.weight[0].zero_()
        self.learn_signals([sig.INTERACTED])

    def _init(self, m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=self.cfg.init_std)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def learn_signals(self, learned) -> None:
        """Read and learn the given signals' own embeddings and strengths; the others read
        a stand-in's embedding and keep the policy strength, as a low rating always does.
        Data holding no signal often enough learns plain interactions."""
        learned = set(learned) or {sig.INTERACTED}
        with torch.no_grad():
            for s in range(1, sig.N_SIGNALS):
                self.signal_map[s] = sig.effective(s, learned)
            if self.head is not None:
                self.head.learned.zero_()
                self.head.learned[sorted(learned - sig.NEGATIVE)] = True

    def learned_signals(self) -> list[int]:
        """Return the signals whose strength the model learned."""
        if self.head is None:
            return [s for s in range(1, sig.N_SIGNALS) if int(self.signal_map[s]) == s]
        return [s for s in range(1, sig.N_SIGNALS) if bool(self.head.learned[s])]

    def set_text(self, vectors) -> None:
        """Set the items' frozen text vectors: (n_items + 1, text_dim), row 0 = padding."""
        with torch.no_grad():
            self.text.copy_(torch.as_tensor(vectors, dtype=torch.float32))
            self.text[0].zero_()

    def set_genres(self, genres) -> None:
        """Set the items' genres: (n_items + 1, n_genres), 1 where an item has a genre, row 0
        = padding; stored scaled to length 1, so a dot product is the genres' cosine."""
        with torch.no_grad():
            self.genres.copy_(F.normalize(torch.as_tensor(genres, dtype=torch.float32), dim=-1))
            self.genres[0].zero_()

    def _choice_genres(self, items: torch.Tensor, signals: torch.Tensor):
        """Return (choices n (B,), every item's genres G (N + 1, g) as 0/1, each genre's
        count among the choices (B, g)) where some history is short enough for a new
        person's lift (``signals.NEW_PERSON_LIFT``), else None."""
        if not self.cfg.n_genres or self.training or not self.lift:
            return None
        chosen = (items != 0) & self.positive[signals]  # (B, L)
        n = chosen.sum(dim=1)  # (B,)
        if not bool(((n > 0) & (n < sig.NEW_PERSON_CHOICES)).any()):
            return None
        G = (self.genres > 0).float()
        if self.extra_text.shape[0]:  # items added after training (``extend_items``): no genres
            G = torch.cat([G, G.new_zeros(self.extra_text.shape[0], G.shape[1])])
        counts = (G[items] * chosen.unsqueeze(-1)).sum(dim=1)  # (B, g)
        return n, G, counts

    def new_person_lift(self, items: torch.Tensor, signals: torch.Tensor,
                        cand_idx: torch.Tensor | None = None) -> torch.Tensor | None:
        """Return what a new person's genre lift adds to candidates ``cand_idx`` (B, C), or
        without them to every item (B, n_items + 1; column 0, padding, gets 0); None where
        nobody's history is short enough.

        With n < NEW_PERSON_CHOICES choices a candidate gains NEW_PERSON_LIFT * (1 - n/N) *
        f ** NEW_PERSON_FOCUS, f being the share of the choices that hold the candidate's
        genre held most widely among them: the genre the choices have in common brings its
        films, a genre one choice has in passing barely lifts (``signals.NEW_PERSON_LIFT``).
        It is a term of its own, like the taste summary's (``explain``: "boost"), not a
        part of any one entry: it fades as choices are added, so counted again without one
        of five documentaries it would *rise*, and the page would call every rated
        documentary a reason against documentaries.
        """
        terms = self._choice_genres(items, signals)
        if terms is None:
            return None
        n, G, counts = terms
        share = counts / n.clamp(min=1).unsqueeze(-1)  # (B, g)
        held = G.unsqueeze(0) if cand_idx is None else G[cand_idx]  # (1 or B, C, g)
        best = (held * share.unsqueeze(1)).amax(dim=-1)  # (B, C)
        N = sig.NEW_PERSON_CHOICES
        strength = sig.NEW_PERSON_LIFT * torch.where((n > 0) & (n < N), 1.0 - n / N, 0.0)
        return strength.unsqueeze(1) * best.pow(sig.NEW_PERSON_FOCUS)

    @contextmanager
    def lift_off(self):
        """Score without a new person's genre lift while inside: training validates so, the
        policy taking no part in what is learned or in which weights are kept."""
        held, self.lift = self.lift, False
        try:
            yield self
        finally:
            self.lift = held

    def extend_items(self, vectors) -> None:
        """Know items added after training by their text vectors (k, text_dim) alone: they
        take the indices n_items + 1 ... n_items + k."""
        if not self.cfg.text_dim:
            raise ValueError("a model without text vectors cannot score items it never saw")
        self.extra_text = torch.as_tensor(vectors, dtype=torch.float32).reshape(-1, self.cfg.text_dim)

    @property
    def n_ranked(self) -> int:
        """How many columns ``rank`` returns: padding, the trained items, items added since."""
        return self.cfg.n_items + 1 + self.extra_text.shape[0]

    def item_vectors(self) -> torch.Tensor:
        """Return the vector of every item: (n_items + 1 [+ added items], d), the id
        embedding plus the projected text vector (an added item: its text alone)."""
        E = self.item_emb.weight
        if not self.cfg.text_dim:
            return E
        # in eval without gradients (scoring, explanations) the vectors are computed once
        key = (E._version, self.text_proj.weight._version, self.text._version, id(self.extra_text))
        if not self.training and not torch.is_grad_enabled() and self._vectors and self._vectors[0] == key:
            return self._vectors[1]
        E = E + self.text_proj(self.text)
        if self.extra_text.shape[0]:
            E = torch.cat([E, self.text_proj(self.extra_text)])
        if not self.training and not torch.is_grad_enabled():
            self._vectors = (key, E)
        return E

    # ---- encoder -----------------------------------------------------------------------
    def clock(self, items: torch.Tensor, signals: torch.Tensor) -> Clock:
        """Return each entry's place in time (B, L) and the history's "now" (B,): read
        (positive) entries at or before it, and in all. Removal experiments pass the whole
        history's clock with their variants, so the entries left keep their places."""
        read = ((items != 0) & self.positive[signals]).long()
        order = read.cumsum(dim=1) * (items != 0)
        return order, read.sum(dim=1)

    @staticmethod
    def _kept_prefix(prefix: EncoderPrefix, keep: int | torch.Tensor) -> tuple[int, torch.Tensor]:
        """Return (K, visible (1 or B, K)): the prefix entries each row continues, ``keep``
        being one count for every row or one per row (B,)."""
        if not isinstance(keep, torch.Tensor):
            return keep, prefix.visible[:, :keep]
        K = int(keep.max())
        return K, prefix.visible[:, :K] & (torch.arange(K, device=keep.device) < keep.unsqueeze(1))

    def _encode(self, items, signals, need_weights=False, prefix: EncoderPrefix | None = None,
                keep: int | torch.Tensor = 0, clock: Clock | None = None, last_only: bool = False):
        """Encode left-padded entries (B, L); only positive entries are read.

        Returns (H (B, L, d), visible (B, L), per-layer self-attention or Nones, per-layer
        keys and values). With ``prefix``, the entries continue the first ``keep`` entries of
        the prefix's history (one count, or one per row): only theirs are computed,
        attending to the cached keys and values; positions counted from the oldest read
        entry make those states exactly the ones encoding each whole history would give.
        ``clock`` (``clock``): the entries' places in time; default, counted in these
        entries (after the prefix's). ``last_only``: H holds only each row's last read
        entry (0 elsewhere), the last block computing that position alone; no keys, values
        or weights are returned.
        """
        B, L = items.shape
        d = self.cfg.d_model
        visible = (items != 0) & self.positive[signals]  # (B, L)
        keep, before = self._kept_prefix(prefix, keep) if prefix is not None else (0, visible[:, :0])  # (1 or B, K)
        if clock is None:
            offset = before.long().sum(dim=1, keepdim=True)  # (1 or B, 1)
            pos = offset + visible.long().cumsum(dim=1)
        else:
            pos = clock[0]
        pos = (pos * visible).clamp(max=self.cfg.max_len)  # (B, L), 0 where unread
        x = self.item_vectors()[items] * math.sqrt(d) + self.signal_emb(self.signal_map[signals])
        x = self.drop(x + self.pos_emb(pos)) * visible.unsqueeze(-1)
        causal = torch.ones(L, L, dtype=torch.bool, device=items.device).tril()
        eye = torch.eye(L, dtype=torch.bool, device=items.device)
        # an unread query sees only itself (avoids an all-masked row); read queries see read
        # keys at or before them
        allowed = (causal & visible[:, None, :]) | eye  # (B, L, L)
        if keep:
            allowed = torch.cat([before[:, None, :].expand(B, L, keep), allowed], dim=2)  # (B, L, K + L)
        allowed = allowed.unsqueeze(1)  # (B, 1, L, keep + L)
        atts, kvs = [], []
        for n, block in enumerate(self.blocks):
            past = (prefix.kv[n][0][:, :, :keep], prefix.kv[n][1][:, :, :keep]) if keep else None
            if last_only and n == len(self.blocks) - 1:
                last = self._last_index(visible)
                at = (torch.arange(L, device=items.device) == last.unsqueeze(1)) & visible  # (B, L)
                out = block.at(x, allowed, last.clamp(min=0), past)  # (B, d)
                return self.ln_f(out).unsqueeze(1) * at.unsqueeze(-1), visible, [], []
            x, att, kv = block(x, allowed, need_weights, past)
            x = x * visible.unsqueeze(-1)
            atts.append(att)
            kvs.append(kv)
        return self.ln_f(x) * visible.unsqueeze(-1), visible, atts, kvs

    @staticmethod
    def _last_index(visible: torch.Tensor) -> torch.Tensor:
        """Return the position of each row's last read entry (B,); -1 where nothing is read."""
        return torch.where(visible, torch.arange(visible.shape[1], device=visible.device), -1).amax(dim=1)

    @staticmethod
    def _last_read(H: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Return the state after the last read entry (B, d); 0 where nothing is read."""
        idx = Recommender._last_index(visible)  # (B,)
        S = H.gather(1, idx.clamp(min=0).view(-1, 1, 1).expand(-1, 1, H.shape[-1])).squeeze(1)
        return S * (idx >= 0).unsqueeze(-1)

    def _entry_vectors(self, items: torch.Tensor, signals: torch.Tensor) -> torch.Tensor:
        """Return the item-level vectors the readout attends over: (B, L, d)."""
        return self.item_vectors()[items] * math.sqrt(self.cfg.d_model) + self.signal_emb(self.signal_map[signals])

    def summary_of(self, state: torch.Tensor, items: torch.Tensor, signals: torch.Tensor,
                   uniform: bool = False, clock: Clock | None = None,
                   tables: EntryTables | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return (the taste summary s (B, d), readout weights (B, L) or None) from the
        encoder's last state (B, d) and the history's entries (B, L); with ``tables``
        (``entry_tables``, at these entries' rows), the entries' keys and values read from it."""
        if self.cfg.summary == "state":
            return state, None
        read = (items != 0) & self.positive[signals]
        if tables is not None:
            keys = tables.keys[:, tables.rows].transpose(0, 1)  # (B, nh, L, dh)
            S, b, _ = self.readout(state.unsqueeze(1), None, read.unsqueeze(1), None, uniform,
                                   tables.values[tables.rows], keys)
        else:
            dist = self._distance(items, signals, clock)
            x = self._entry_vectors(items, signals)
            S, b, _ = self.readout(state.unsqueeze(1), x, read.unsqueeze(1), dist.unsqueeze(1), uniform)
        return S.squeeze(1), b.squeeze(2)  # (B, d), (B, nh, L)

    @torch.no_grad()
    def entry_tables(self, items: torch.Tensor, signals: torch.Tensor) -> EntryTables:
        """Return what each entry of one unpadded history (1, n) gives, whatever else is kept
        (``EntryTables``): a history made of some of its entries, each in its place in time
        (the whole history's clock), reads its rows instead of computing them again."""
        if bool((items == 0).any()) or items.shape[0] != 1:
            raise ValueError("entry tables are of one unpadded history")
        E = self.item_vectors()
        dist = self._distance(items, signals)  # (1, n)
        pad = lambda t, dim: torch.cat([torch.zeros_like(t.narrow(dim, 0, 1)), t], dim=dim)  # noqa: E731
        values = keys = logits = head_values = None
        if self.cfg.summary == "readout":
            x = self._entry_vectors(items, signals)
            values = pad(self.readout.values(x)[0], 0)  # (n + 1, d)
            keys = pad(self.readout.keys(x, dist)[0], 1)  # (nh, n + 1, dh)
        if self.head is not None:
            logits, head_values = self.head.entry_scores(
                E[None, None], E[items], signals, self.signal_map[signals], dist.unsqueeze(1))
            logits, head_values = pad(logits[0, :, 0], 2), pad(head_values[0, :, 0], 2)  # (nh, N + 1, n + 1)
        return EntryTables(values, keys, logits, head_values)

    def summarize(self, items: torch.Tensor, signals: torch.Tensor, uniform: bool = False,
                  clock: Clock | None = None) -> torch.Tensor:
        """Return the taste summary s after each history (B, L): (B, d); 0 with nothing read."""
        H, visible, _, _ = self._encode(items, signals, clock=clock)
        return self.summary_of(self._last_read(H, visible), items, signals, uniform, clock)[0]

    def encode_prefix(self, items: torch.Tensor, signals: torch.Tensor) -> EncoderPrefix:
        """Encode one unpadded history (1, n) and keep what continuing it needs."""
        if bool((items == 0).any()) or items.shape[0] != 1:
            raise ValueError("a prefix is one unpadded history")
        H, visible, _, kvs = self._encode(items, signals)
        return EncoderPrefix(kvs, H, visible)

    def state_continued(self, prefix: EncoderPrefix, keep: int | torch.Tensor, items: torch.Tensor,
                        signals: torch.Tensor, clock: Clock | None = None) -> torch.Tensor:
        """Return the encoder's last state (B, d) after histories made of the prefix's first
        ``keep`` entries (one count, or one per row (B,)) followed by each row of ``items``
        (B, S), left-padded: only those rows go through the encoder (``clock``: their
        places in time, as ``_encode``)."""
        B = items.shape[0]
        Hs, vis_s, _, _ = self._encode(items, signals, prefix=prefix, keep=keep, clock=clock, last_only=True)
        K, before = self._kept_prefix(prefix, keep)
        # the last read entry is the continued part's last, or where nothing in it is read,
        # the kept prefix's
        in_prefix = self._last_read(prefix.H[:, :K].expand(B, -1, -1), before.expand(B, -1)) if K else 0.0
        return torch.where(vis_s.any(dim=1, keepdim=True), Hs.sum(dim=1), in_prefix)

    # ---- scoring -------------------------------------------------------------------------
    def first_stage(self, S: torch.Tensor, E: torch.Tensor) -> torch.Tensor:
        """Return the summary term e_i . s of every item (..., N) after summaries S (..., d)."""
        return S @ E[1:].t()

    def head_scores(self, S, items, signals, cand_idx, uniform=False, clock: Clock | None = None,
                    tables: EntryTables | None = None, lift: torch.Tensor | None = None):
        """Return (final scores, summary term, head scores, weights, values, a new person's
        lift (B, C) or None) of candidates ``cand_idx`` (B, C) after histories (items,
        signals) (B, L) with summaries S (B, d). The query position is the history's last
        entry; the head scores include the lift. ``tables``: as ``summary_of``. ``lift``:
        every item's lift (B, n_items + 1) to use instead of the histories' own (removal
        experiments hold the whole history's, ``explain``)."""
        E = self.item_vectors()
        B, L = items.shape
        cand = E[cand_idx]  # (B, C, d)
        summary = (cand * S.unsqueeze(1)).sum(-1)  # (B, C)
        real = (items != 0).unsqueeze(1)  # (B, 1, L)
        if tables is not None:  # (nh, B, C, L) -> (B, nh, 1, C, L); gather is faster than t[:, c, r]
            C = cand_idx.shape[1]
            rows = tables.rows[None, :, None, :].expand(-1, -1, C, -1)  # (1, B, C, L)

            def read(t: torch.Tensor) -> torch.Tensor:
                t = t.index_select(1, cand_idx.flatten()).view(t.shape[0], B, C, -1)
                return t.gather(3, rows.expand(t.shape[0], -1, -1, -1)).transpose(0, 1).unsqueeze(2)

            logits, values = read(tables.logits), read(tables.head_values)
        else:
            dist = self._distance(items, signals, clock).unsqueeze(1)  # (B, 1, L)
            logits, values = self.head.entry_scores(cand.unsqueeze(1), E[items], signals,
                                                    self.signal_map[signals], dist)
        head, att, values = self.head.weigh(logits, values, signals, real, uniform)
        head = head.squeeze(1)
        if lift is None:
            lift = self.new_person_lift(items, signals, cand_idx)
        else:
            lift = lift.gather(1, cand_idx)
        if lift is not None:
            head = head + lift
        return summary + head, summary, head, att.squeeze(2), values.squeeze(2), lift

    def _distance(self, items: torch.Tensor, signals: torch.Tensor, clock: Clock | None = None) -> torch.Tensor:
        """Return each entry's recency (B, L): how many read (positive) entries follow it.

        Counted over read entries only, so a view or a low rating never moves the recency
        of anything else: adding one changes only its own term. With the history's
        ``clock``, the entries a removal leaves keep their recency.
        """
        order, now = clock if clock is not None else self.clock(items, signals)
        return ((now.unsqueeze(1) - order).clamp(min=0)) * (items != 0)

    @staticmethod
    def _distance_between(visible: torch.Tensor, query: torch.Tensor, ar: torch.Tensor) -> torch.Tensor:
        """Return (B, Q, L): read entries after entry j up to each query position (B, Q) or
        (L,) shared; the training form of ``_distance``."""
        count = visible.long().cumsum(1)  # (B, L) read entries up to and including t
        if query.dim() == 1:
            at_q = count[:, query].unsqueeze(-1)  # (B, Q, 1)
        else:
            at_q = count.gather(1, query).unsqueeze(-1)
        return (at_q - count.unsqueeze(1)).clamp(min=0)

    def rank(self, S, items, signals, exclude=None, uniform=False, clock: Clock | None = None,
             tables: EntryTables | None = None, lift: torch.Tensor | None = None) -> torch.Tensor:
        """Score every item (B, n_items + 1), column 0 = -inf, from summaries and histories.

        The first stage's top ``candidates`` allowed items get the final score (summary +
        head); every other item is placed below them in first-stage order, so the final
        ranking of the candidates is the head's. A new person's genre lift is part of the
        first stage's order here: the candidates it would raise are scored, not only the
        ones the summary already favours. ``exclude`` (B, n_items + 1) bool marks
        items that may not be ranked (the history). ``lift``: as ``head_scores``.
        """
        E = self.item_vectors()
        first = self.first_stage(S, E).float()  # (B, N)
        first = torch.cat([torch.full_like(first[:, :1], NEG_INF), first], dim=1)  # (B, N + 1)
        if exclude is not None:
            first = first.masked_fill(exclude, NEG_INF)
        if self.head is None:
            return first
        if lift is None:
            lift = self.new_person_lift(items, signals)
        if lift is not None:  # a new person's genres take part in choosing the candidates
            first = first + lift
        C = min(self.cfg.candidates, E.shape[0] - 1)
        top = first.topk(C, dim=1).indices  # (B, C)
        final = self.head_scores(S, items, signals, top, uniform, clock, tables, lift)[0]  # (B, C)
        # everything outside the candidates ranks below the lowest candidate
        floor = final.min(dim=1, keepdim=True).values - 1.0
        finite = first > NEG_INF
        hi = first.masked_fill(~finite, 0.0).amax(dim=1, keepdim=True)
        scores = (floor - (hi - first)).scatter(1, top, final)
        return scores.masked_fill(~finite, NEG_INF)

    def full_sort_predict(self, items, signals, exclude=None, uniform=False,
                          clock: Clock | None = None) -> torch.Tensor:
        """Score every item after each history (items, signals) (B, L): (B, n_items + 1).
        ``uniform`` puts equal weights everywhere the model attends over items (ablation);
        ``clock`` gives the entries' places in time (default: counted in these entries)."""
        S = self.summarize(items, signals, uniform, clock)
        return self.rank(S, items, signals, exclude, uniform, clock)

    # ---- training ------------------------------------------------------------------------
    def calculate_loss(self, items: torch.Tensor, signals: torch.Tensor, targets: torch.Tensor):
        """Return the training loss for (B, L) left-padded entries and next-item targets.

        First stage: full-catalogue cross-entropy of the summary term at every position with
        a target (SASRec's strong recipe), the summary being the state after the last read
        entry so far. Head: cross-entropy of the final score over the first stage's top
        ``candidates`` items (history excluded) where they contain the target, at the last
        and ``head_positions - 1`` random positions of each sequence: the same candidate
        sets it re-ranks at inference. The head's loss trains only the head: the summary
        and the item vectors stay exactly SASRec's.
        """
        cfg = self.cfg
        H, visible, _, _ = self._encode(items, signals)
        B, L = items.shape
        ar = torch.arange(L, device=items.device)
        last = torch.where(visible, ar, -1).cummax(dim=1).values  # (B, L) last read entry <= t
        S_all = H.gather(1, last.clamp(min=0).unsqueeze(-1).expand(B, L, H.shape[-1]))  # (B, L, d)
        mask = (targets != 0) & (last >= 0)
        E = self.item_vectors()
        state_loss = None
        if cfg.summary == "readout":  # at every position t, over the read entries j <= t
            if cfg.state_loss_weight:  # on a random quarter of the positions: a third of the cost
                some = mask & (torch.rand(B, L, device=items.device) < 0.25)
                if bool(some.any()):
                    state_loss = linear_cross_entropy(S_all[some], E[1:], targets[some] - 1)
            read = visible.unsqueeze(1) & (ar.view(1, 1, L) <= ar.view(1, L, 1))  # (B, L, L)
            dist = self._distance_between(visible, ar, ar)  # (B, L, L)
            x = self._entry_vectors(items, signals)
            S_all, _, _ = self.readout(S_all, x, read, dist)
        loss = linear_cross_entropy(S_all[mask], E[1:], targets[mask] - 1)  # first_stage's logits
        if state_loss is not None:
            loss = loss + cfg.state_loss_weight * state_loss
        if self.head is None:
            return loss
        P = min(cfg.head_positions, L)
        pick = torch.rand(B, L, device=items.device).masked_fill(~mask, -1.0)
        pick = pick + 2.0 * (ar == (torch.where(mask, ar, -1).amax(dim=1, keepdim=True)))  # last
        pos = pick.topk(P, dim=1).indices  # (B, P)
        valid = mask.gather(1, pos)  # (B, P)
        S_pos = S_all.detach().gather(1, pos.unsqueeze(-1).expand(B, P, H.shape[-1]))  # (B, P, d)
        Ed = E.detach()
        row = (S_pos.reshape(B * P, -1) @ Ed[1:].t()).float()  # (B*P, N)
        tgt = targets.gather(1, pos).flatten()
        after = ar.view(1, 1, L) > pos.unsqueeze(-1)  # (B, P, L) entries after the query
        seen = items.unsqueeze(1).masked_fill(after, 0)  # (B, P, L)
        history = torch.zeros(B * P, E.shape[0], dtype=torch.bool, device=items.device)
        history.scatter_(1, seen.view(B * P, L), True)
        row = row.masked_fill(history[:, 1:], NEG_INF)
        C = min(cfg.candidates, E.shape[0] - 1)
        cand = row.topk(C, dim=1).indices + 1  # (B*P, C)
        hit = cand == tgt.unsqueeze(1)
        keep = valid.flatten() & hit.any(dim=1)
        if not bool(keep.any()):
            return loss
        real = items != 0
        # low ratings act by policy, not by what the head learns (``TargetAttentionHead``)
        allowed = (real & ~self.head.negative[signals]).unsqueeze(1) & ~after  # (B, P, L)
        dist = self._distance_between(visible, pos, ar)  # (B, P, L)
        cand_emb = Ed[cand].view(B, P, C, -1)
        head, _, _ = self.head(cand_emb, Ed[items], signals, self.signal_map[signals], allowed, dist)
        summary = (cand_emb * S_pos.unsqueeze(2)).sum(-1)  # (B, P, C)
        scores = (summary + head).view(B * P, C)
        head_loss = F.cross_entropy(scores[keep], hit[keep].float().argmax(dim=1))
        return loss + cfg.head_loss_weight * head_loss

    # ---- explanation ---------------------------------------------------------------------
    def explain(self, items: torch.Tensor, signals: torch.Tensor, cand_idx: torch.Tensor) -> dict:
        """Return how candidates ``cand_idx`` (B, C) were scored after histories (B, L).

        ``scores`` (B, C) final; ``summary`` (B, C) the taste summary's term; ``rest`` (B, C)
        the part of the score no entry owns (the whole summary term with ``summary="state"``,
        only the readout's bias e_i . beta with the readout); ``boost`` (B, C) a new
        person's genre lift (``new_person_lift``; 0 from the tenth choice on), so scores =
        rest + boost + terms.sum(-1); ``readout`` (B, L) the readout's weights or None;
        ``head`` (B, head_heads, C, L) the item-level weights; ``terms`` (B, C, L) each
        entry's exact part of the score, sum_h a_hj * v_hj (plus its part of the readout);
        ``contributions`` (B, C, L) what removing entry j alone takes from the score with the
        encoder's state and the boost held, exactly and in closed form: its weights go back
        to the other entries (and the head's null slot), head h losing a_hj * (v_hj - s_h) /
        (1 - a_hj), the readout renormalised and its output normalised again; only the
        encoder's own reading of the shorter history is left to the removal experiments,
        which hold the boost too (``explain.attribution``);
        ``encoder``: one (B, n_heads, L, L) self-attention tensor per layer.
        """
        H, visible, atts, _ = self._encode(items, signals, need_weights=True)
        S, b = self.summary_of(self._last_read(H, visible), items, signals)
        final, summary, head, att, values, lift = self.head_scores(S, items, signals, cand_idx)
        shared = self.head.shared[signals][:, None, None, :]  # (B, 1, 1, L)
        per_head = (att * values * shared).sum(dim=-1, keepdim=True)  # (B, nh, C, 1)
        terms = (att * values).sum(dim=1)  # (B, C, L)
        # a choice's removal gives its weight back to the other choices and the null slot:
        # head h loses a_hj (v_hj - s_h) / (1 - a_hj); a gated entry's removal takes away
        # exactly its term
        keep = (1.0 - att).clamp(min=1e-6)
        contributions = torch.where(shared, att * (values - per_head) / keep, att * values).sum(dim=1)
        rest = summary
        if b is not None:  # the summary term is itself a sum over entries (Readout.parts)
            g = self.readout.values(self._entry_vectors(items, signals))
            E_cand = self.item_vectors()[cand_idx]
            part, rest = self.readout.parts(b, g, E_cand)  # (B, nh, C, L)
            terms = terms + part.sum(1)
            contributions = contributions + self.readout.removal_effects(b, g, E_cand)
        boost = torch.zeros_like(final) if lift is None else lift
        return {"scores": final, "summary": summary, "rest": rest, "boost": boost, "head": att, "readout": b,
                "terms": terms, "contributions": contributions,
                "encoder": atts, "visible": visible}
