"""`manage.py import_data PATH`: import a MovieLens, events-CSV or sequence data set."""
import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from recommender.importing.loader import dataset_import, default_source, source_validate
from recommender.importing.readers import FORMATS, ImportFormatError, read_dataset


class Command(BaseCommand):
    help = (
        "Import interactions from a data set (a directory or a file). Items become "
        "'<source>:<id>', people become placeholder accounts '<source>:<id>' that cannot "
        "log in. Re-running adds nothing; a malformed file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="data-set directory or file")
        parser.add_argument("--format", default="auto", choices=("auto", *FORMATS),
                            help="file layout (default: detect from names and contents)")
        parser.add_argument("--items-csv", help="items CSV (item,title[,year,genres]) for events-csv")
        parser.add_argument("--source", help="namespace for ids and usernames "
                            "(default: ml-100k / ml-1m / ml-latest, else the file name)")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, path: str, format: str, items_csv: str | None, source: str | None,
               no_progress: bool, **options) -> None:
        started = time.perf_counter()
        self.stdout.write(f"Reading {path} ...")
        try:
            parsed = read_dataset(path, format, items_csv=items_csv)
        except ImportFormatError as exc:
            raise CommandError(f"Nothing imported. {exc}") from exc
        source = source or default_source(parsed.format, path)
        try:
            source_validate(source)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Read {parsed.format}: {len(parsed.items):,} items, {len(parsed.events):,} events "
            f"in {time.perf_counter() - started:.1f} s. Writing as source '{source}' ..."
        )
        # tqdm hides itself when stderr is not a terminal (disable=None), so logs stay clean.
        with tqdm(total=len(parsed.events), unit=" events", unit_scale=True, file=sys.stderr,
                  disable=True if no_progress else None, dynamic_ncols=True) as bar:
            result = dataset_import(parsed, source=source, progress=bar.update)
        self.stdout.write(self.style.SUCCESS(
            f"Done in {time.perf_counter() - started:.1f} s: {result.items_created:,} items, "
            f"{result.users_created:,} placeholder people and {result.events_created:,} events "
            f"created; {result.events_skipped:,} events were already there."
        ))
