"""Trainer: the learning-rate schedule and the time budget."""

import types

import pytest

from recommender.ml.data import build_sequences
from recommender.ml.model import ModelConfig
from recommender.ml.train import Trainer, TrainConfig

from .conftest import successor_rows


def _trainer(**kw) -> Trainer:
    data = build_sequences(successor_rows(n_users=24, n_items=10, length=6))
    cfg = ModelConfig(n_items=data.n_items, max_len=6, d_model=8, candidates=5)
    return Trainer(data, cfg, TrainConfig(batch_size=8, **{"time_budget_s": 0.0, **kw}))


def test_constant_schedule_keeps_the_rate():
    """lr_schedule "constant" never decays (and its runs stop by patience)."""
    assert _trainer(lr=1e-2, lr_schedule="constant").lr_at(9.0, 10) == 1e-2


def test_wsd_schedule_holds_the_rate_then_decays_over_the_last_fifth():
    """The default: constant until 80% of the horizon, then linearly down to 0 at its end."""
    wsd = _trainer(lr=1e-2)
    assert wsd.cfg.lr_schedule == "wsd" and wsd.cfg.decay_frac == 0.2
    assert wsd.lr_at(0.0, 50) == wsd.lr_at(39.0, 50) == 1e-2
    assert wsd.lr_at(40.0, 50) == pytest.approx(1e-2)
    assert wsd.lr_at(45.0, 50) == pytest.approx(0.5e-2)
    assert wsd.lr_at(50.0, 50) == 0.0


def test_time_budget_stops_before_an_epoch_that_would_not_fit(monkeypatch):
    """Epochs of 10 s under a 35 s budget: 3 epochs, the rate decaying to 0 over those 3."""
    clock = iter(range(0, 1000, 10))  # an epoch reads the clock at its start and end: 10 s
    monkeypatch.setattr("recommender.ml.train.time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    trainer = _trainer(time_budget_s=35.0, max_epochs=50, patience=50, decay_frac=1.0)
    state = trainer.fit()
    assert state.epoch == 3 and state.done and state.elapsed_s <= 35.0
    assert state.horizon == 3.0
    lrs = [h["lr"] for h in state.history]
    assert lrs[1] > lrs[2] > 0.0


def test_a_budgeted_wsd_run_never_stops_by_patience(monkeypatch):
    """Validation that only falls: a "constant" run with patience 2 stops after epoch 3;
    a "wsd" run with a 100 s budget (10 s epochs, decay over the last 2) trains to the
    budget's end, validating every 5th epoch while the rate is held and every epoch of the
    decay, and keeps the best weights it saw."""
    vals = iter([0.5 - 0.01 * n for n in range(100)])
    monkeypatch.setattr("recommender.ml.train.evaluate_model",
                        lambda model, pairs: {"ndcg@10": next(vals), "hr@10": 0.0})
    assert _trainer(max_epochs=50, patience=2, lr_schedule="constant").fit().epoch == 3
    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr("recommender.ml.train.time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    state = _trainer(max_epochs=50, patience=2, time_budget_s=100.0, decay_on_plateau=False).fit()
    # the decay starts at epoch 8 (80% of 10); 3 worse evaluations there do not stop it
    assert [h["epoch"] for h in state.history if h["val_ndcg@10"] is not None] == [5, 8, 9, 10]
    assert state.epoch == 10 and state.best_epoch == 5 and state.bad_evals == 0


def test_a_budgeted_wsd_run_decays_once_validation_stops_rising(monkeypatch, tmp_path):
    """A 1,000 s budget of 10 s epochs holds 100, but validation falls at epoch 15 (held
    rate, every 5th epoch validated): the decay starts there and ends at epoch 19, where
    epoch 15 is 80% of the horizon. A resumed run keeps that horizon. Without the option
    the run keeps the budget's horizon."""
    script = {5: 0.1, 10: 0.2, 15: 0.15}
    monkeypatch.setattr("recommender.ml.train.evaluate_model",
                        lambda model, pairs: {"ndcg@10": script.get(len(state.history) + 1, 0.19),
                                              "hr@10": 0.0})
    clock = iter(range(0, 100_000, 10))
    monkeypatch.setattr("recommender.ml.train.time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    trainer = _trainer(max_epochs=200, time_budget_s=1000.0)
    assert trainer.cfg.decay_on_plateau
    state = trainer.init_state()
    trainer.train_epochs(state, 16, tmp_path / "run.ckpt")
    assert state.decay_from == 15 and state.horizon == 19.0 and not state.done
    state = trainer.load(tmp_path / "run.ckpt")
    assert state.epoch == 16 and state.decay_from == 15 and state.horizon == 19.0
    trainer.train_epochs(state, 100)
    assert state.done and state.epoch == 19 and state.best_epoch == 10
    assert [h["epoch"] for h in state.history if h["val_ndcg@10"] is not None] == [5, 10, 15, 16, 17, 18, 19]
    lrs = [h["lr"] for h in state.history]
    assert lrs[14] == trainer.cfg.lr and lrs[15] > lrs[16] > lrs[17] > lrs[18] > 0.0
    assert lrs[18] < 0.1 * trainer.cfg.lr
    held = _trainer(max_epochs=30, time_budget_s=1000.0, decay_on_plateau=False)
    state = held.init_state()
    held.train_epochs(state, 20)
    assert state.decay_from == 0 and state.horizon == 30.0 and state.epoch == 20


def test_resuming_with_other_optimizer_groups_is_refused_clearly(tmp_path):
    """A checkpoint written without weight decay (one parameter group) cannot resume with
    it (two groups): a CheckpointError, which the site answers by restarting the run."""
    from recommender.ml.checkpoint import CheckpointError

    plain = _trainer(weight_decay=0.0)
    state = plain.init_state()
    plain.train_epochs(state, 1, tmp_path / "run.ckpt")
    with pytest.raises(CheckpointError, match="different optimizer settings"):
        _trainer(weight_decay=0.3).load(tmp_path / "run.ckpt")


def test_weight_decay_spares_biases_and_layer_norms():
    """With weight decay, matrices and embeddings decay and 1-D parameters do not; without
    it the optimizer keeps one group, the layout of checkpoints written before the split."""
    plain = _trainer(weight_decay=0.0)
    state = plain.init_state()
    assert len(state.optimizer.param_groups) == 1
    decayed = _trainer(weight_decay=0.1)
    state = decayed.init_state()
    matrices, vectors = state.optimizer.param_groups
    assert matrices["weight_decay"] == 0.1 and vectors["weight_decay"] == 0.0
    assert matrices["params"] and all(p.ndim >= 2 for p in matrices["params"])
    assert vectors["params"] and all(p.ndim < 2 for p in vectors["params"])
    names = {id(p): n for n, p in state.model.named_parameters()}
    assert {"item_emb.weight", "pos_emb.weight"} <= {names[id(p)] for p in matrices["params"]}
    assert len(matrices["params"]) + len(vectors["params"]) == len(list(state.model.parameters()))


def test_an_epoch_horizon_decays_at_its_end_or_at_a_plateau(monkeypatch):
    """Without a time budget a "wsd" run's horizon is max_epochs: it decays over the last
    fifth, or from a held-rate validation that does not beat the best."""
    vals = iter([0.1, 0.2, 0.3, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37])
    monkeypatch.setattr("recommender.ml.train.evaluate_model",
                        lambda model, pairs: {"ndcg@10": next(vals), "hr@10": 0.0})
    state = _trainer(max_epochs=10, stable_eval_every=1).fit()
    assert state.epoch == 10 and state.horizon == 10.0 and state.decay_from == 0
    script = iter([0.1, 0.2, 0.15] + [0.3] * 20)
    monkeypatch.setattr("recommender.ml.train.evaluate_model",
                        lambda model, pairs: {"ndcg@10": next(script), "hr@10": 0.0})
    state = _trainer(max_epochs=40, stable_eval_every=1).fit()
    assert state.decay_from == 3 and state.epoch == 4 and state.horizon == 4.0


def test_signals_the_data_holds_often_enough_are_learned():
    """Ratings with values (200 or more of a kind) are learned; the others keep the
    policy's strength and read a learned stand-in (here a 5-star rating: plain
    interactions are not in this data); a low rating reads the stand-in too and keeps its
    policy, however often the data holds it."""
    from recommender.ml import signals as sig

    rows = [(f"u{u}", f"i{(u + t) % 12}", t, "rate", 5.0 if t % 2 else 1.0)
            for u in range(60) for t in range(8)]
    rows += [("u0", "i3", 100, "view", None)]
    data = build_sequences(rows)
    trainer = Trainer(data, ModelConfig(n_items=data.n_items, max_len=8, d_model=8, candidates=5),
                      TrainConfig(batch_size=8, time_budget_s=0.0))
    assert trainer.learned_signals() == [sig.RATED_LOW, sig.RATED_5]
    model = trainer.init_state().model
    assert model.learned_signals() == [sig.RATED_5]
    assert float(model.head.strengths()[sig.RATED_LOW].detach()) == sig.POLICY[sig.RATED_LOW]
    assert int(model.signal_map[sig.VIEWED]) == sig.RATED_5
    assert int(model.signal_map[sig.LIKED]) == sig.RATED_5
    assert int(model.signal_map[sig.RATED_LOW]) == sig.RATED_5
    assert int(model.signal_map[sig.RATED_5]) == sig.RATED_5
    strengths = model.head.strengths()
    assert float(strengths[sig.VIEWED].detach()) == pytest.approx(0.25)
    assert bool(model.head.learned[sig.RATED_5]) and not bool(model.head.learned[sig.VIEWED])
