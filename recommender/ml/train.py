"""Training: AdamW, full-catalogue cross-entropy, early stopping on validation NDCG@10.

The trainer knows nothing of the model's internals (it calls ``calculate_loss``), reports
through callbacks, and can stop after any number of epochs and resume from its checkpoint
in another process with identical results: each epoch's batch order and dropout draws
depend only on (seed, epoch).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import SequenceData, Split, leave_one_out, training_batches
from .signals import MIN_LEARNED
from .evaluate import evaluate_model
from .model import ModelConfig, Recommender
from .ops import keep_freed_memory
from .records import EpochRecord


@dataclass
class TrainConfig:
    lr: float = 2e-3  # AdamW learning rate (2e-3 with batch 64 converges faster than 1e-3/128)
    # AdamW weight decay, on matrices and embeddings only (docs/benchmarks.md, "Weight decay")
    weight_decay: float = 0.3
    batch_size: int = 64  # people per step
    max_epochs: int = 200  # hard cap on epochs (the horizon of a run without a time budget)
    # evaluations without a better validation NDCG@10 before stopping a run that has no
    # planned horizon (lr_schedule "constant"); a "wsd" run trains to the end of its decay
    patience: int = 5
    eval_every: int = 1  # epochs between validation evaluations
    # while a "wsd" run holds its rate, validate only every this many epochs: the best
    # weights come from the decay
    stable_eval_every: int = 5
    val_users: int = 0  # people used for validation (0 = all); a fixed seeded subset
    seed: int = 0  # fixes init, batch order and dropout
    grad_clip: float = 1.0  # max gradient norm (0 = off)
    # "wsd" (warm-up-free, stable, decay): hold the rate, then decay it linearly to 0 over the
    # last ``decay_frac`` of the horizon (the epochs the time budget holds, else max_epochs);
    # "constant": no decay, early stopping by patience
    lr_schedule: str = "wsd"
    decay_frac: float = 0.2  # share of the horizon the "wsd" schedule decays over
    # start the decay as soon as a validation while the rate is held does not beat the best
    # so far; the decay then takes decay_frac of the shortened horizon
    decay_on_plateau: bool = True
    # stop before an epoch that would not fit (0 = none). The site and the benchmark of
    # record train with this budget (docs/benchmarks.md, "Model quality")
    time_budget_s: float = 1800.0
    device: str = "auto"  # "auto" = cuda when present, else cpu

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after each epoch."""

    epoch: int
    loss: float
    val_ndcg: float | None  # None when this epoch was not evaluated
    val_hr: float | None
    elapsed_s: float
    best_epoch: int
    done: bool
    horizon: float = 0.0  # epochs the run now plans (TrainState.horizon; 0 = no plan, max_epochs caps it)


@dataclass
class TrainState:
    """Everything needed to continue training: weights, optimizer, best-so-far, history."""

    model: Recommender
    optimizer: torch.optim.Optimizer
    epoch: int = 0  # epochs completed
    best_ndcg: float = -1.0
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    bad_evals: int = 0
    elapsed_s: float = 0.0
    history: list[EpochRecord] = field(default_factory=list)
    done: bool = False
    horizon: float = 0.0  # epochs the learning rate decays over (0 = max_epochs)
    decay_from: int = 0  # epoch whose validation plateau started the decay (0 = none)

    def best_model(self) -> Recommender:
        """Return a copy of the model with the best validation weights (eval mode)."""
        model = copy.deepcopy(self.model)
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
        return model.eval()


ProgressCallback = Callable[[Progress], None]


class Trainer:
    """Train a Recommender on leave-one-out sequences, in resumable chunks of epochs."""

    def __init__(
        self,
        data: SequenceData,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig | None = None,
        callbacks: list[ProgressCallback] | None = None,
    ):
        if model_cfg.n_items != data.n_items:
            raise ValueError("model_cfg.n_items must equal the data's item count")
        self.data = data
        self.model_cfg = model_cfg
        self.cfg = train_cfg or TrainConfig()
        self.callbacks = list(callbacks or [])
        self.split: Split = leave_one_out(data)
        keep_freed_memory()  # about a third of a CPU step otherwise (ops.py)
        self.device = torch.device(
            ("cuda" if torch.cuda.is_available() else "cpu") if self.cfg.device == "auto"
            else self.cfg.device
        )
        valid = list(self.split.valid)
        keep = list(range(len(valid)))
        if self.cfg.val_users and self.cfg.val_users < len(valid):
            g = torch.Generator().manual_seed(self.cfg.seed)
            keep = sorted(torch.randperm(len(valid), generator=g)[: self.cfg.val_users].tolist())
            valid = [valid[i] for i in keep]
        self.valid, self.valid_people = valid, keep  # keep: their indices in the split

    # ---- state ---------------------------------------------------------------------------
    def init_state(self) -> TrainState:
        """Return a fresh state: seeded initial weights and optimizer."""
        torch.manual_seed(self.cfg.seed)
        model = Recommender(self.model_cfg)
        model.learn_signals(self.learned_signals())
        if self.model_cfg.text_dim:
            if self.data.item_text is None or self.data.item_text.shape != (self.data.n_items + 1, self.model_cfg.text_dim):
                raise ValueError(f"the model reads text vectors of width {self.model_cfg.text_dim}: "
                                 "the data needs item_text of shape (n_items + 1, text_dim)")
            model.set_text(self.data.item_text)
        if self.model_cfg.n_genres:
            if self.data.item_genres is None or self.data.item_genres.shape != (self.data.n_items + 1, self.model_cfg.n_genres):
                raise ValueError(f"the model reads genre vectors of width {self.model_cfg.n_genres}: "
                                 "the data needs item_genres of shape (n_items + 1, n_genres)")
            model.set_genres(self.data.item_genres)
        model = model.to(self.device)
        return TrainState(model, self._optimizer(model))

    def learned_signals(self) -> list[int]:
        """Return the signals the training data holds often enough to learn what they mean."""
        counts = self.data.signal_counts()
        return sorted(s for s, n in counts.items() if n >= MIN_LEARNED)

    def _optimizer(self, model: Recommender) -> torch.optim.Optimizer:
        params = list(model.parameters())
        groups: list[dict] = [{"params": params}]
        if self.cfg.weight_decay:
            # decay matrices and embeddings only, not biases or layer-norm gains (nanoGPT's
            # grouping); without decay one group, as checkpoints before this change hold
            groups = [{"params": [p for p in params if p.ndim >= 2]},
                      {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW(
            groups, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay, betas=(0.9, 0.98),
        )

    def save(self, state: TrainState, path: str | Path) -> str:
        """Checkpoint the state atomically; return the file's payload sha256."""
        payload = {
            "model": state.model.state_dict(),
            "best": state.best_state,
            "optimizer": state.optimizer.state_dict(),
        }
        meta = {
            "train_config": self.cfg.to_dict(),
            "data_fingerprint": self.data.fingerprint(),
            "epoch": state.epoch,
            "best_epoch": state.best_epoch,
            "best_ndcg": state.best_ndcg,
            "bad_evals": state.bad_evals,
            "elapsed_s": state.elapsed_s,
            "history": state.history,
            "done": state.done,
            "horizon": state.horizon,
            "decay_from": state.decay_from,
        }
        metrics = {"val_ndcg@10": state.best_ndcg, "best_epoch": state.best_epoch}
        return save_checkpoint(
            path, config=self.model_cfg, item_map=self.data.item_map, payload=payload,
            metrics=metrics, meta=meta,
        )

    def load(self, path: str | Path) -> TrainState:
        """Restore a state saved by ``save``; refuse one from other data or settings."""
        ckpt = load_checkpoint(path)
        meta = ckpt.meta
        if meta.get("data_fingerprint") != self.data.fingerprint():
            raise CheckpointError(f"{path} was trained on different data")
        if ckpt.config != self.model_cfg:
            raise CheckpointError(f"{path} has a different model config")
        if "optimizer" not in ckpt.payload:
            raise CheckpointError(f"{path} holds no training state")
        model = ckpt.build_model("model").to(self.device).train()
        opt = self._optimizer(model)
        try:
            opt.load_state_dict(ckpt.payload["optimizer"])
        except ValueError as exc:  # e.g. weight decay on/off changes the parameter groups
            raise CheckpointError(f"{path} has different optimizer settings: {exc}") from exc
        return TrainState(
            model, opt, epoch=meta["epoch"], best_ndcg=meta["best_ndcg"],
            best_epoch=meta["best_epoch"], best_state=ckpt.payload.get("best"),
            bad_evals=meta["bad_evals"], elapsed_s=meta["elapsed_s"],
            history=list(meta["history"]), done=meta["done"], horizon=meta.get("horizon", 0.0),
            decay_from=meta.get("decay_from", 0),
        )

    # ---- training ------------------------------------------------------------------------
    def train_epochs(
        self, state: TrainState, n: int, checkpoint_path: str | Path | None = None
    ) -> TrainState:
        """Run up to ``n`` more epochs (fewer if early stopping or the budget ends it).

        Saves a checkpoint after every epoch when ``checkpoint_path`` is given.
        """
        for _ in range(n):
            if state.done:
                break
            self._one_epoch(state)
            if checkpoint_path is not None:
                self.save(state, checkpoint_path)
        return state

    def fit(
        self,
        max_epochs: int | None = None,
        resume_from: str | Path | None = None,
        checkpoint_path: str | Path | None = None,
    ) -> TrainState:
        """Train from scratch (or from ``resume_from``) until done or ``max_epochs`` more."""
        state = self.load(resume_from) if resume_from else self.init_state()
        return self.train_epochs(state, max_epochs or self.cfg.max_epochs, checkpoint_path)

    def lr_at(self, epochs_done: float, horizon: float) -> float:
        """Return the learning rate after ``epochs_done`` (fractional) of ``horizon`` epochs."""
        cfg = self.cfg
        if cfg.lr_schedule == "constant":
            return cfg.lr
        if cfg.lr_schedule != "wsd":
            raise ValueError(f"unknown lr_schedule {cfg.lr_schedule!r}")
        frac = min(1.0, epochs_done / horizon) if horizon > 0 else 0.0
        return cfg.lr * min(1.0, (1.0 - frac) / max(cfg.decay_frac, 1e-9))

    def _validate(self, model: Recommender) -> dict:
        """Return the validation metrics, without the serving policies' lift (model.py)."""
        with model.lift_off():
            return evaluate_model(model, self.valid)

    def _one_epoch(self, state: TrainState) -> None:
        cfg = self.cfg
        model = state.model.train()
        start = time.perf_counter()
        epoch = state.epoch + 1
        torch.manual_seed(cfg.seed * 100_003 + epoch)  # dropout draws depend on (seed, epoch)
        total, steps = 0.0, 0
        horizon = state.horizon or float(cfg.max_epochs)
        n_steps = self._steps_per_epoch()
        for items, signals, targets in training_batches(
            self.split.train, max_len=self.model_cfg.max_len, batch_size=cfg.batch_size,
            seed=cfg.seed, epoch=epoch,
        ):
            items, signals = items.to(self.device), signals.to(self.device)
            targets = targets.to(self.device)
            lr = self.lr_at(epoch - 1 + (steps + 0.5) / n_steps, horizon)
            for group in state.optimizer.param_groups:
                group["lr"] = lr
            loss = model.calculate_loss(items, signals, targets)
            state.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            state.optimizer.step()
            total += float(loss.detach())
            steps += 1
        state.epoch = epoch
        loss = total / max(steps, 1)
        if not math.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss} at epoch {epoch}")
        val = None
        # A "wsd" run is planned to its horizon and never stops by patience: validation
        # plateaus while the rate is held and improves during the decay that follows, which
        # must run to its end. It validates every ``stable_eval_every`` epochs while the rate
        # is held; a validation then that does not beat the best starts the decay.
        planned = cfg.lr_schedule == "wsd"
        stable = planned and epoch < (1 - cfg.decay_frac) * horizon
        due = epoch % (cfg.stable_eval_every if stable else cfg.eval_every) == 0
        if due or epoch >= cfg.max_epochs:
            val = self._validate(model)
            if val["ndcg@10"] > state.best_ndcg:
                state.best_ndcg, state.best_epoch, state.bad_evals = val["ndcg@10"], epoch, 0
                state.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            elif not planned:
                state.bad_evals += 1
            elif stable and cfg.decay_on_plateau and not state.decay_from:
                state.decay_from = epoch  # validation stopped rising: decay from here
        state.elapsed_s += time.perf_counter() - start
        state.horizon = float(cfg.max_epochs) if planned else 0.0
        if cfg.time_budget_s:
            # the epochs the budget still holds, so the budget bounds training from above
            fit = int((cfg.time_budget_s - state.elapsed_s) // (state.elapsed_s / epoch))
            state.horizon = float(min(cfg.max_epochs, epoch + max(fit, 0)))
        if planned and state.decay_from:  # a plateau started the decay: it ends sooner, the
            # rate having been held for (1 - decay_frac) of the shortened horizon
            end = math.ceil(state.decay_from / max(1.0 - cfg.decay_frac, 1e-9))
            state.horizon = min(state.horizon, float(end))
        at_horizon = planned and epoch >= state.horizon
        state.done = state.bad_evals >= cfg.patience or epoch >= cfg.max_epochs or at_horizon
        if state.done and val is None:  # a run ends validated: its best weights are known
            val = self._validate(model)
            if val["ndcg@10"] > state.best_ndcg:
                state.best_ndcg, state.best_epoch = val["ndcg@10"], epoch
                state.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        record: EpochRecord = {
            "epoch": epoch, "loss": loss, "elapsed_s": state.elapsed_s,
            "val_ndcg@10": val["ndcg@10"] if val else None,
            "val_hr@10": val["hr@10"] if val else None, "lr": lr if steps else None,
        }
        state.history.append(record)
        progress = Progress(
            epoch, loss, val["ndcg@10"] if val else None, val["hr@10"] if val else None,
            state.elapsed_s, state.best_epoch, state.done, state.horizon,
        )
        for cb in self.callbacks:
            cb(progress)

    def _steps_per_epoch(self) -> int:
        usable = sum(1 for s in self.split.train if len(s) >= 2)
        return max(1, math.ceil(usable / self.cfg.batch_size))
