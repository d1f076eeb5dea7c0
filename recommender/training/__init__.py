"""Training, web side and worker side: runs (queue, busy, due, stalled), model versions
(checksum, activate, roll back), the training worker (runner: torch) and its time estimates.
Importing this package imports no submodule: the web process never loads torch."""
