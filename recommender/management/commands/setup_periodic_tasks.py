"""`manage.py setup_periodic_tasks`: create or update the beat schedules (idempotent)."""
import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

EVERY_MINUTE = [
    ("recsite: refresh stale recommendations", "recommender.tasks.scoring_sweep"),
    ("recsite: resume stalled training, retrain after new events", "recommender.tasks.training_sweep"),
    ("recsite: embed item texts left without a current vector", "recommender.tasks.text_sweep"),
]
NIGHTLY = ("recsite: nightly retraining", "recommender.tasks.training_nightly")


class Command(BaseCommand):
    help = "Create or update the periodic tasks: sweeps every minute, retraining nightly."

    def add_arguments(self, parser):
        parser.add_argument("--nightly-hour", type=int, default=3, choices=range(24),
                            help="Hour (UTC) of the nightly retraining (default 3).")

    @transaction.atomic
    def handle(self, *args, nightly_hour: int, **options):
        minute, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
        for name, task in EVERY_MINUTE:
            PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": minute, "crontab": None,
                                     "args": json.dumps([]), "enabled": True},
            )
        nightly, _ = CrontabSchedule.objects.get_or_create(
            minute="0", hour=str(nightly_hour), day_of_week="*", day_of_month="*",
            month_of_year="*", timezone="UTC",
        )
        name, task = NIGHTLY
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "crontab": nightly, "interval": None,
                                 "args": json.dumps([]), "enabled": True},
        )
        self.stdout.write(self.style.SUCCESS(
            f"{PeriodicTask.objects.filter(name__startswith='recsite:').count()} periodic tasks set up."))
