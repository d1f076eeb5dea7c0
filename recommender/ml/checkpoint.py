"""Atomic, checksummed checkpoints carrying the config, the item id map and the metrics.

Layout: a magic line, an 8-byte header length, a JSON header (format version, config,
item ids, metrics, payload size and sha256), then the ``torch.save`` payload of tensors.
The payload is loaded with ``weights_only=True`` and only after its checksum matches.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .data import ItemIdMap
from .model import ModelConfig, Recommender

MAGIC = b"RECSITE-CHECKPOINT\n"
# 2: the item-level head over signals (docs/design.md, "The model"). A version-1 file holds
# the earlier design, whose head attended over encoder states; it cannot be served.
FORMAT_VERSION = 2


class CheckpointError(ValueError):
    """The file is not a usable checkpoint: corrupt, truncated, foreign or mismatched."""


@dataclass
class Checkpoint:
    """What a checkpoint holds; ``payload`` has ``model`` and optionally training state."""

    config: ModelConfig
    item_map: ItemIdMap
    metrics: dict[str, Any]
    payload: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def build_model(self, which: str = "best") -> Recommender:
        """Return the model (eval mode) with the ``best`` weights if stored, else ``model``."""
        state = self.payload.get(which) or self.payload["model"]
        model = Recommender(self.config)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"weights do not match the stored config: {exc}") from None
        return model.eval()


def save_checkpoint(
    path: str | Path,
    *,
    config: ModelConfig,
    item_map: ItemIdMap,
    payload: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> str:
    """Write a checkpoint atomically (temp file, fsync, rename) and return its sha256.

    ``payload`` must hold ``model`` (a state dict); anything else torch can save with plain
    types (optimizer state, best weights) may be added. A crash at any point leaves either
    the old file or the new one, never a half-written one.
    """
    if "model" not in payload:
        raise ValueError("payload needs a 'model' state dict")
    if config.n_items != item_map.n_items:
        raise ValueError("config.n_items does not match the item id map")
    buf = io.BytesIO()
    torch.save(payload, buf)
    body = buf.getvalue()
    digest = hashlib.sha256(body).hexdigest()
    header = json.dumps({
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "item_ids": list(item_map.external_ids),
        "metrics": metrics or {},
        "meta": meta or {},
        "payload_bytes": len(body),
        "payload_sha256": digest,
    }).encode()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + len(header).to_bytes(8, "little") + header + body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
    return digest


def load_checkpoint(path: str | Path, *, expected_sha256: str | None = None) -> Checkpoint:
    """Read and verify a checkpoint; raise CheckpointError unless it is whole and consistent."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None
    if not raw.startswith(MAGIC):
        raise CheckpointError(f"{path} is not a recsite checkpoint")
    pos = len(MAGIC)
    if len(raw) < pos + 8:
        raise CheckpointError(f"{path} is truncated")
    n = int.from_bytes(raw[pos:pos + 8], "little")
    pos += 8
    try:
        header = json.loads(raw[pos:pos + n])
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError(f"{path} has a corrupt or truncated header") from None
    if header.get("format_version") == 1:
        raise CheckpointError(
            f"{path} was trained by the earlier model design (attention over encoder states), "
            "which this version no longer serves: train a new model version")
    if header.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has unsupported format {header.get('format_version')}")
    body = raw[pos + n:]
    if len(body) != header["payload_bytes"]:
        raise CheckpointError(
            f"{path} is truncated: {len(body)} of {header['payload_bytes']} payload bytes"
        )
    digest = hashlib.sha256(body).hexdigest()
    if digest != header["payload_sha256"]:
        raise CheckpointError(f"{path} is corrupt: checksum mismatch")
    if expected_sha256 is not None and digest != expected_sha256:
        raise CheckpointError(f"{path} is not the expected checkpoint (sha256 {digest})")
    try:
        config = ModelConfig(**header["config"])
    except TypeError as exc:
        raise CheckpointError(f"{path} has an incompatible config: {exc}") from None
    item_map = ItemIdMap(tuple(header["item_ids"]))
    if config.n_items != item_map.n_items:
        raise CheckpointError(f"{path}: config has {config.n_items} items, id map {item_map.n_items}")
    payload = torch.load(io.BytesIO(body), map_location="cpu", weights_only=True)
    ckpt = Checkpoint(config, item_map, header["metrics"], payload, header["meta"])
    ckpt.build_model()  # refuses weights that do not fit the config
    return ckpt
