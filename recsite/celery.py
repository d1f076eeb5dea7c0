"""The Celery app: queues for training, scoring and explanations on a Redis broker."""
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.local")

app = Celery("recsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
# A new pool process imports torch before it reports up (below), which took over 4 s on a
# busy machine: with Celery's default of 4 s the worker killed every replacement of a
# process that had died, over and over, and the task delivered again never ran (found by
# bench/faults.py).
app.conf.worker_proc_alive_timeout = 60.0
app.autodiscover_tasks()


@worker_process_init.connect
def _limit_torch_threads(**_kwargs) -> None:
    """Pin torch's thread count in each worker process.

    torch in forked prefork children can hang on its inherited thread pool, and several
    busy processes on few cores oversubscribe them.
    """
    from django.conf import settings

    import torch

    torch.set_num_threads(settings.RECSITE_TORCH_THREADS)
