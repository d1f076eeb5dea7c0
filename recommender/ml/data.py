"""Per-person sequences, the leave-one-out split and training batches (pure Python + torch)."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

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
class SequenceData:
    """Chronological item-index sequences per person, with the id map and optional features."""

    users: tuple[str, ...]
    sequences: tuple[tuple[int, ...], ...]  # model indices, oldest first
    item_map: ItemIdMap
    item_features: np.ndarray | None = None  # (n_items + 1, n_features) multi-hot, row 0 = padding
    feature_names: tuple[str, ...] = ()

    @property
    def n_items(self) -> int:
        return self.item_map.n_items

    def fingerprint(self) -> str:
        """Return a sha256 of the sequences and id map, to refuse resuming on other data."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.item_map.external_ids).encode())
        for seq in self.sequences:
            h.update(np.asarray(seq, dtype=np.int32).tobytes() + b"|")
        return h.hexdigest()


def build_sequences(
    rows: Iterable[tuple[Hashable, Hashable, float | int | None]],
    *,
    min_length: int = 3,
    item_genres: Mapping[str, Sequence[str]] | None = None,
) -> SequenceData:
    """Group (person, item, order_key) rows into chronological sequences.

    Rows keep input order; a person's sequence is a stable sort by order_key, so ties and
    None keys keep file order. People with fewer than ``min_length`` interactions are
    dropped (leave-one-out needs a training, a validation and a test item). Item indices
    follow first appearance in the input, which makes the map deterministic.
    """
    per_user: dict[str, list[tuple[int, float, str]]] = {}
    for pos, (user, item, key) in enumerate(rows):
        per_user.setdefault(str(user), []).append((pos, key, str(item)))
    users: list[str] = []
    raw: list[list[str]] = []
    for user, events in per_user.items():
        if len(events) < min_length:
            continue
        if any(k is not None for _, k, _ in events):
            events.sort(key=lambda e: (e[1] if e[1] is not None else float("-inf"), e[0]))
        users.append(user)
        raw.append([it for _, _, it in events])
    index: dict[str, int] = {}
    for seq in raw:
        for it in seq:
            if it not in index:
                index[it] = len(index) + 1
    item_map = ItemIdMap(tuple(index))
    sequences = tuple(tuple(index[it] for it in seq) for seq in raw)
    features, names = None, ()
    if item_genres:
        names = tuple(sorted({g for gs in item_genres.values() for g in gs}))
        col = {g: c for c, g in enumerate(names)}
        features = np.zeros((item_map.n_items + 1, len(names)), dtype=np.float32)
        for ext, k in index.items():
            for g in item_genres.get(ext, ()):
                features[k, col[g]] = 1.0
        if not names:
            features = None
    return SequenceData(tuple(users), sequences, item_map, features, names)


@dataclass(frozen=True)
class Split:
    """Leave-one-out split: train prefix per person, then validation and test (input, target)."""

    train: tuple[tuple[int, ...], ...]  # all but the last two items
    valid: tuple[tuple[tuple[int, ...], int], ...]  # (history = train, target = second-last)
    test: tuple[tuple[tuple[int, ...], int], ...]  # (history = train + valid, target = last)


def leave_one_out(data: SequenceData) -> Split:
    """Split each sequence by time: last item is test, second-last is validation."""
    train, valid, test = [], [], []
    for seq in data.sequences:
        if len(seq) < 3:
            raise ValueError("every sequence needs at least 3 items for leave-one-out")
        train.append(seq[:-2])
        valid.append((seq[:-2], seq[-2]))
        test.append((seq[:-1], seq[-1]))
    return Split(tuple(train), tuple(valid), tuple(test))


def pad_left(seqs: Sequence[Sequence[int]], max_len: int, length: int | None = None) -> torch.Tensor:
    """Keep each sequence's last ``max_len`` items and left-pad with 0 to a common length.

    ``length`` defaults to the longest kept sequence, so a batch of short histories is not
    padded to ``max_len`` (padding costs compute and carries no signal).
    """
    kept = [s[-max_len:] for s in seqs]
    width = length if length is not None else max(1, max(len(s) for s in kept))
    out = torch.zeros(len(kept), width, dtype=torch.long)
    for r, s in enumerate(kept):
        if s:
            out[r, width - len(s):] = torch.as_tensor(s, dtype=torch.long)
    return out


def training_batches(
    train: Sequence[Sequence[int]], *, max_len: int, batch_size: int, seed: int, epoch: int,
    earlier_window_p: float = 0.0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (inputs, targets), each (B, L) and left-padded, for one epoch.

    Each person contributes ``max_len + 1`` consecutive training items (inputs = all but the
    last, targets = shifted by one): their last ones, or, with probability
    ``earlier_window_p`` for a history longer than that, a window ending at a uniformly
    drawn earlier item, so the older part of long histories is trained on too. Batches
    group people of similar length (sorted within shuffled chunks) so little compute goes
    to padding; the order and the windows depend only on (seed, epoch), which keeps a
    resumed run identical to an uninterrupted one.
    """
    rng = np.random.default_rng([seed, epoch])
    window = max_len + 1
    ends = [len(s) for s in train]
    if earlier_window_p > 0:
        wrng = np.random.default_rng([seed, epoch, 1])
        for i, s in enumerate(train):
            if len(s) > window and wrng.random() < earlier_window_p:
                ends[i] = int(wrng.integers(window, len(s)))  # ends before the last item
    usable = [i for i, s in enumerate(train) if len(s) >= 2]
    order = rng.permutation(usable)
    chunk = batch_size * 16
    batches: list[list[int]] = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c:c + chunk], key=lambda i: min(len(train[i]), window))
        batches += [part[b:b + batch_size] for b in range(0, len(part), batch_size)]
    for b in rng.permutation(len(batches)):
        seqs = [train[i][max(0, ends[i] - window):ends[i]] for i in batches[b]]
        yield pad_left([s[:-1] for s in seqs], max_len), pad_left([s[1:] for s in seqs], max_len)
