"""Training's records that leave the trainer: each epoch of a run and what a finished run
measured. Torch-free, so the web process (staff pages) can name them too."""
from typing import TypedDict

# One epoch of a run, as TrainState.history, the checkpoint and TrainingRun.history hold it
# (the staff pages' training curves read it).
EpochRecord = TypedDict("EpochRecord", {
    "epoch": int, "loss": float, "elapsed_s": float,
    "val_ndcg@10": float | None, "val_hr@10": float | None,  # None: not validated that epoch
    "lr": float | None,
})

# What a finished run measured, as ModelVersion.metrics, TrainingRun.metrics and the
# artifact's header hold it (the staff pages and bench.served read it).
VersionMetrics = TypedDict("VersionMetrics", {
    "val_ndcg@10": float, "best_epoch": int,  # what chose the weights
    "test_ndcg@10": float, "test_hr@10": float,  # held-out last items, full ranking: reported only
    "epochs": int, "train_seconds": float,
})
