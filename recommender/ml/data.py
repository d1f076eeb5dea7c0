"""Per-person histories, the leave-one-out split and training batches (pure Python + torch).

A history is a sequence of items with one signal each (``signals.py``: what the person did:
rated 5 stars, viewed, rated 1 star...), oldest first. Only positive signals are
predicted: the held-out items of the split and the training targets are items a person
chose; low ratings and views stay in the history as evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from . import signals as sig

PAD = 0  # item index 0 is padding everywhere; real items are 1..n_items


@dataclass(frozen=True)
class ItemIdMap:
    """Bijection between external item ids (strings) and model indices 1..n."""

    external_ids: tuple[str, ...]  # external_ids[k - 1] is the id of index k

    @property
    def n_items(self) -> int:
        return len(self.external_ids)

    def index(self) -> dict[str, int]:
        """Return {external id: model index}."""
        return {ext: k + 1 for k, ext in enumerate(self.external_ids)}

    def external(self, index: int) -> str:
        """Return the external id of a model index (1-based)."""
        if not 1 <= index <= len(self.external_ids):
            raise KeyError(index)
        return self.external_ids[index - 1]


@dataclass(frozen=True)
class History:
    """One person's items (model indices) and their signals, oldest first."""

    items: tuple[int, ...]
    signals: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, s: slice) -> History:
        return History(self.items[s], self.signals[s])

    @classmethod
    def of(cls, items: Sequence[int], signals: Sequence[int] | None = None) -> History:
        """Return a history; without ``signals`` every item is a plain interaction."""
        items = tuple(int(i) for i in items)
        return cls(items, tuple(signals) if signals is not None else (sig.INTERACTED,) * len(items))


@dataclass(frozen=True)
class SequenceData:
    """Chronological histories per person, with the id map."""

    users: tuple[str, ...]
    histories: tuple[History, ...]
    item_map: ItemIdMap
    # the items' frozen text vectors, (n_items + 1, dim) float32, row 0 = padding (or none)
    item_text: np.ndarray | None = None
    # the items' genres, (n_items + 1, n_genres) 0/1 float32, row 0 = padding (or none)
    item_genres: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return self.item_map.n_items

    @property
    def sequences(self) -> tuple[tuple[int, ...], ...]:
        return tuple(h.items for h in self.histories)

    def signal_counts(self) -> dict[int, int]:
        """Return how many history items carry each signal."""
        counts: dict[int, int] = {}
        for h in self.histories:
            for s in h.signals:
                counts[s] = counts.get(s, 0) + 1
        return counts

    def fingerprint(self) -> str:
        """Return a sha256 of the histories and id map, to refuse resuming on other data."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.item_map.external_ids).encode())
        for hist in self.histories:
            h.update(np.asarray(hist.items, dtype=np.int32).tobytes() + b"|")
            if any(s != sig.INTERACTED for s in hist.signals):
                h.update(np.asarray(hist.signals, dtype=np.int8).tobytes() + b"|")
        return h.hexdigest()


Row = tuple[Hashable, Hashable, float | int | None, str, float | None]


def genre_matrix(genres: dict[str, Iterable], item_map: ItemIdMap) -> np.ndarray | None:
    """Return the items' genres as (n_items + 1, n_genres) float32 0/1 rows in the map's
    order (row 0 = padding; columns in sorted genre order), or None when no item has one.
    ``genres``: {external item id: its genres (names or ids)}."""
    columns = {g: k for k, g in enumerate(sorted({g for gs in genres.values() for g in gs}))}
    if not columns:
        return None
    matrix = np.zeros((item_map.n_items + 1, len(columns)), dtype=np.float32)
    for row, ext in enumerate(item_map.external_ids, start=1):
        for g in genres.get(ext, ()):
            matrix[row, columns[g]] = 1.0
    return matrix


def build_sequences(rows: Iterable[Row], *, min_length: int = 3) -> SequenceData:
    """Group (person, item, order_key, kind, value) rows into chronological histories.

    A person's events are a stable sort by order_key (ties and None keep input order) and
    collapse to one entry per item (``signals.collapse``; someone who has only opened pages
    is read as ``signals.cold_start`` says). People with fewer than
    ``min_length`` positive items are dropped (the split holds out two of them and trains
    on the rest). Item indices follow first appearance in the input, which makes the map
    deterministic.
    """
    per_user: dict[str, list[tuple[int, float | int | None, str, str, float | None]]] = {}
    for pos, (user, item, key, kind, value) in enumerate(rows):
        per_user.setdefault(str(user), []).append((pos, key, str(item), kind, value))
    users: list[str] = []
    raw: list[list[tuple[str, int]]] = []
    for user, events in per_user.items():
        if any(e[1] is not None for e in events):
            events.sort(key=lambda e: (e[1] if e[1] is not None else float("-inf"), e[0]))
        entries = sig.cold_start(sig.collapse((item, kind, value) for _, _, item, kind, value in events))
        if sum(s in sig.POSITIVE for _, s in entries) < min_length:
            continue
        users.append(user)
        raw.append(entries)
    index: dict[str, int] = {}
    for entries in raw:
        for it, _ in entries:
            if it not in index:
                index[it] = len(index) + 1
    histories = tuple(
        History(tuple(index[it] for it, _ in e), tuple(s for _, s in e)) for e in raw)
    return SequenceData(tuple(users), histories, ItemIdMap(tuple(index)))


@dataclass(frozen=True)
class Split:
    """Leave-one-out split: a training history per person, then validation and test pairs."""

    train: tuple[History, ...]  # everything before the validation item
    valid: tuple[tuple[History, int], ...]  # (history = train, target = second-last chosen)
    test: tuple[tuple[History, int], ...]  # (history before the last chosen item, that item)


def leave_one_out(data: SequenceData) -> Split:
    """Split each history by time: its last positive item is the test target, the one
    before the validation target. Entries after the last positive item are left out
    (they came after the moment the test asks about); data whose every item is positive
    (ML-1M) splits as the last item / second-last item protocol of the literature."""
    train, valid, test = [], [], []
    for h in data.histories:
        pos = [t for t, s in enumerate(h.signals) if s in sig.POSITIVE]
        if len(pos) < 3:
            raise ValueError("every history needs at least 3 positive items for leave-one-out")
        v, t = pos[-2], pos[-1]
        train.append(h[:v])
        valid.append((h[:v], h.items[v]))
        test.append((h[:t], h.items[t]))
    return Split(tuple(train), tuple(valid), tuple(test))


def pad_left(seqs: Sequence[Sequence[int]], max_len: int, length: int | None = None) -> torch.Tensor:
    """Keep each sequence's last ``max_len`` entries and left-pad with 0 to a common length.

    ``length`` defaults to the longest kept sequence, so a batch of short histories is not
    padded to ``max_len`` (padding costs compute and carries no signal).
    """
    kept = [s[-max_len:] for s in seqs]
    width = length if length is not None else max(1, max(len(s) for s in kept))
    out = np.zeros((len(kept), width), dtype=np.int64)  # filled in numpy: a torch copy per row costs ~70 us
    for r, s in enumerate(kept):
        if len(s):
            out[r, width - len(s):] = s
    return torch.from_numpy(out)


def batch_of(histories: Sequence[History], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (items, signals), each (B, L) and left-padded, of the last ``max_len`` entries."""
    return (pad_left([h.items for h in histories], max_len),
            pad_left([h.signals for h in histories], max_len))


def training_batches(
    train: Sequence[History], *, max_len: int, batch_size: int, seed: int, epoch: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Yield (items, signals, targets), each (B, L) and left-padded, for one epoch.

    Each person contributes their last ``max_len + 1`` training entries: inputs are all but
    the last, the target at each position is the next entry's item when that entry is
    positive (0 = no target: a low rating or a view is never learned as a recommendation).
    Batches group people of similar length (sorted within shuffled chunks) so little
    compute goes to padding; the order depends only on (seed, epoch), which keeps a resumed
    run identical to an uninterrupted one.
    """
    rng = np.random.default_rng([seed, epoch])
    window = max_len + 1
    usable = [i for i, h in enumerate(train) if len(h) >= 2]
    order = rng.permutation(usable)
    chunk = batch_size * 16
    batches: list[list[int]] = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c:c + chunk], key=lambda i: min(len(train[i]), window))
        batches += [part[b:b + batch_size] for b in range(0, len(part), batch_size)]
    for b in rng.permutation(len(batches)):
        hs = [train[i][-window:] for i in batches[b]]
        items, signals = batch_of([h[:-1] for h in hs], max_len)
        targets = pad_left([[it if s in sig.POSITIVE else PAD for it, s in zip(h.items[1:], h.signals[1:])]
                            for h in hs], max_len)
        yield items, signals, targets
