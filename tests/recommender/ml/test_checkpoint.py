"""Checkpoints: round trip, refusal of corrupt/truncated/mismatched files, resume."""

import pytest
import torch

from recommender.ml.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from recommender.ml.data import ItemIdMap, build_sequences
from recommender.ml.model import ModelConfig, Recommender
from recommender.ml.train import Trainer, TrainConfig
from tests.recommender.ml.conftest import successor_rows


def _saved(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=5, max_len=6, d_model=8, head_heads=2, candidates=3)
    model = Recommender(cfg).eval()
    path = tmp_path / "model.ckpt"
    digest = save_checkpoint(path, config=cfg, item_map=ItemIdMap(tuple("abcde")),
                             payload={"model": model.state_dict()}, metrics={"ndcg@10": 0.5})
    return model, path, digest


def test_round_trip_gives_identical_scores(tmp_path):
    """Loading a checkpoint reproduces the config, id map, metrics and scores exactly."""
    model, path, digest = _saved(tmp_path)
    ckpt = load_checkpoint(path, expected_sha256=digest)
    assert ckpt.item_map.external_ids == tuple("abcde")
    assert ckpt.metrics == {"ndcg@10": 0.5}
    seq, signals = torch.tensor([[0, 1, 2, 3, 4, 5]]), torch.tensor([[0, 5, 1, 2, 9, 4]])
    assert torch.equal(model.full_sort_predict(seq, signals),
                       ckpt.build_model().full_sort_predict(seq, signals))
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "foreign"])
def test_damaged_checkpoint_is_refused(tmp_path, damage):
    """A corrupt, truncated, empty or foreign file raises CheckpointError."""
    _, path, _ = _saved(tmp_path)
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-100] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "empty":
        raw = bytearray()
    else:
        raw = bytearray(b"PK\x03\x04 a zip file")
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_mismatched_checkpoint_is_refused(tmp_path):
    """Weights that do not fit the stored config, or an unexpected checksum, are refused."""
    _, path, _ = _saved(tmp_path)
    other = ModelConfig(n_items=5, max_len=6, d_model=16, candidates=3)
    save_checkpoint(path, config=other, item_map=ItemIdMap(tuple("abcde")),
                    payload={"model": Recommender(ModelConfig(n_items=5, max_len=6, d_model=8)).state_dict()})
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(path)
    _, path, _ = _saved(tmp_path)
    with pytest.raises(CheckpointError, match="expected"):
        load_checkpoint(path, expected_sha256="0" * 64)


def test_resumed_training_matches_uninterrupted(tmp_path):
    """Two epochs, checkpoint, two more in a new Trainer == four epochs straight."""
    data = build_sequences(successor_rows(n_users=40, n_items=15, length=8))
    cfg = ModelConfig(n_items=data.n_items, max_len=8, d_model=16, candidates=5)
    tcfg = TrainConfig(batch_size=8, max_epochs=4, patience=10, seed=3, stable_eval_every=1)
    seen = []
    straight = Trainer(data, cfg, tcfg).fit()
    ckpt = tmp_path / "run.ckpt"
    Trainer(data, cfg, tcfg, [seen.append]).fit(max_epochs=2, checkpoint_path=ckpt)
    resumed = Trainer(data, cfg, tcfg, [seen.append]).fit(max_epochs=2, resume_from=ckpt)
    assert [p.epoch for p in seen] == [1, 2, 3, 4] and seen[-1].done
    assert seen[0].val_ndcg is not None and seen[0].elapsed_s > 0
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    assert straight.history[-1]["loss"] == resumed.history[-1]["loss"]


def test_resume_on_other_data_is_refused(tmp_path):
    """A training checkpoint from other data raises CheckpointError."""
    data = build_sequences(successor_rows(n_users=20, n_items=10, length=6))
    cfg = ModelConfig(n_items=data.n_items, max_len=6, d_model=8, candidates=5)
    tcfg = TrainConfig(batch_size=8, max_epochs=1)
    ckpt = tmp_path / "run.ckpt"
    Trainer(data, cfg, tcfg).fit(checkpoint_path=ckpt)
    other = build_sequences(successor_rows(n_users=20, n_items=10, length=6, seed=1))
    with pytest.raises(CheckpointError, match="different data"):
        Trainer(other, cfg, tcfg).fit(resume_from=ckpt)


def test_checkpoint_of_the_earlier_design_is_refused_with_a_clear_message(tmp_path):
    """A format-1 file (the head over encoder states) cannot be served: it is refused,
    saying a new version must be trained."""
    model, path, _ = _saved(tmp_path)
    raw = path.read_bytes()
    raw = raw.replace(b'"format_version": 2', b'"format_version": 1', 1)
    path.write_bytes(raw)
    with pytest.raises(CheckpointError, match="earlier model design.*train a new model version"):
        load_checkpoint(path)
