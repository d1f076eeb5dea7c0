"""`manage.py embed_items`: compute the items' text vectors here, without a worker."""
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.models import Item, RunStatus, TextRun
from recommender.text.encoder import EncoderUnavailable
from recommender.text.services import items_text_changed, text_run_chunk, text_run_schedule


class Command(BaseCommand):
    help = ("Embed every item whose text vector is missing, stale or of another model, in this "
            "process (the worker's text queue does the same in the background).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="re-read every item, not only stale ones")

    def handle(self, *args, all: bool, **options) -> None:
        started = time.perf_counter()
        if all:
            items_text_changed(Item.objects.values_list("pk", flat=True))
        run = text_run_schedule(reason="embed_items", enqueue=False)
        if run is None:
            self.stdout.write("Every item has a current text vector; nothing to do.")
            return
        cursor = run.cursor
        try:
            while True:
                outcome = text_run_chunk(run.pk, cursor)
                run.refresh_from_db()
                self.stdout.write(f"{run.done:,}/{run.total:,} items", ending="\r")
                if outcome.startswith("continue:"):
                    cursor = int(outcome.split(":")[1])
                elif outcome == "skipped" and run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
                    cursor = run.cursor  # a worker did that chunk: go on from where it is
                else:
                    break
        except EncoderUnavailable as exc:
            raise CommandError(str(exc)) from exc
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Text run {run.pk} ended {run.status}: {run.error or outcome}")
        self.stdout.write(self.style.SUCCESS(
            f"\nText run {run.pk}: {run.done:,} items read, {run.embedded:,} embedded in "
            f"{time.perf_counter() - started:.1f} s ({run.model_name} {run.model_version})."))
        if TextRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
            self.stdout.write("Items changed meanwhile: another run is queued for them.")
