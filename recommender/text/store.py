"""Text vectors in the database: their byte form, and reading them back for a model.

Torch-free (numpy only): the web process reads vectors for search, the training worker
reads them with `text_vectors` to feed the recommender.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.models import ItemText

from .encoder import EncoderInfo, model_info

_DTYPE = np.dtype("<f4")  # float32, little-endian, whatever the machine


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """Return a vector as the bytes stored in ItemText.vector."""
    return np.ascontiguousarray(vector, dtype=_DTYPE).tobytes()


def vector_from_bytes(data: bytes | memoryview, dim: int) -> np.ndarray:
    """Return the float32 vector stored as `data`; raise ValueError on a wrong length."""
    vector = np.frombuffer(bytes(data), dtype=_DTYPE)
    if vector.shape != (dim,):
        raise ValueError(f"A stored vector has {vector.size} values, not {dim}.")
    return vector.astype(np.float32)


class TextVectorsError(LookupError):
    """Some items have no text vector of the expected model; `item_ids` says which."""

    def __init__(self, message: str, item_ids: Sequence[int]) -> None:
        super().__init__(message)
        self.item_ids = list(item_ids)


@dataclass(frozen=True)
class TextVectors:
    """Text vectors for a list of items: `matrix[k]` belongs to `item_ids[k]`."""

    item_ids: tuple[int, ...]
    matrix: np.ndarray  # (len(item_ids), dim) float32, unit rows
    model_name: str
    model_version: str


def text_vectors(item_ids: Sequence[int], *, model: EncoderInfo | None = None,
                 allow_stale: bool = True) -> TextVectors:
    """Return the stored text vectors of these items, rows aligned with `item_ids`.

    `model` defaults to the installed encoder. Raises TextVectorsError naming the items
    whose vector is missing or of another model (or, with `allow_stale=False`, waiting to
    be re-embedded after an edit): a model trained on vectors must not mix models.
    """
    info = model or model_info()
    ids = list(item_ids)
    rows: dict[int, tuple[str, str, int, bytes, bool]] = {}
    for start in range(0, len(ids), 500):  # stay far below SQLite's parameter limit
        for item_id, name, version, dim, data, stale in ItemText.objects.filter(
            item_id__in=ids[start:start + 500]
        ).values_list("item_id", "model_name", "model_version", "dim", "vector", "stale"):
            rows[item_id] = (name, version, dim, data, stale)
    missing = [pk for pk in ids if pk not in rows]
    if missing:
        raise TextVectorsError(
            f"{len(missing)} of {len(ids)} items have no text vector yet (first: {missing[:5]}); "
            "wait for the text run to finish (admin: text runs) or run `manage.py embed_items`.", missing)
    other = [pk for pk in ids if rows[pk][:2] != (info.name, info.version)]
    if other:
        found = sorted({f"{rows[pk][0]} {rows[pk][1]}" for pk in other})
        raise TextVectorsError(
            f"{len(other)} items have vectors of another model ({', '.join(found)}), not "
            f"{info.name} {info.version}; they are re-embedded in the background.", other)
    if not allow_stale:
        stale = [pk for pk in ids if rows[pk][4]]
        if stale:
            raise TextVectorsError(f"{len(stale)} items changed and wait to be re-embedded.", stale)
    matrix = np.zeros((len(ids), info.dim), dtype=np.float32)
    for k, pk in enumerate(ids):
        matrix[k] = vector_from_bytes(rows[pk][3], rows[pk][2])
    return TextVectors(tuple(ids), matrix, info.name, info.version)
