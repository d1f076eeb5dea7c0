"""`manage.py generate_demo`: fill an empty site with an invented catalogue and histories."""
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.importing.demo import demo_dataset
from recommender.importing.loader import dataset_import, item_external_id
from recommender.models import Item

SOURCE = "demo"


class Command(BaseCommand):
    help = (
        "Generate demo items and placeholder people ('demo:...') with histories that follow "
        "genre tastes and film-series order. Does nothing if demo data already exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=300, help="catalogue size (default 300)")
        parser.add_argument("--users", type=int, default=300, help="people (default 300)")
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
        parser.add_argument("--if-empty", action="store_true",
                            help="also do nothing if the catalogue holds any item (for `make run`)")

    def handle(self, *args, items: int, users: int, seed: int, if_empty: bool, **options) -> None:
        if Item.objects.filter(external_id__startswith=item_external_id(SOURCE, "")).exists():
            self.stdout.write("Demo data is already there; nothing to do.")
            return
        if if_empty and Item.objects.exists():
            self.stdout.write("The catalogue is not empty; no demo data added.")
            return
        try:
            parsed = demo_dataset(n_items=items, n_users=users, seed=seed, now=int(time.time()))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        result = dataset_import(parsed, source=SOURCE)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data created: {result.items_created:,} items, {result.users_created:,} "
            f"placeholder people, {result.events_created:,} events (seed {seed})."
        ))
