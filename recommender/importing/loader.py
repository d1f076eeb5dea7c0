"""Write a parsed data set into the database: genres, items, placeholder people, events.

Naming, so imports never collide with each other or with real sign-ups:

- a data set is imported under a *source* name (`ml-100k`, `ml-1m`, `demo`, ...): a short
  slug without ':';
- its items get `external_id = "<source>:<id>"` (MovieLens 100K and 1M reuse the same
  numbers for different films, so ids must be namespaced);
- its people become placeholder accounts named `"<source>:<id>"`, with an unusable
  password. Django's username validator refuses ':' on sign-up, so no real account can
  ever hold such a name.

Idempotency: each imported event carries `client_event_id = "imp:" + hash(item,
timestamp, kind, n)` where n counts earlier identical (item, timestamp, kind) events of
that person in the file. Before writing, the loader drops rows whose (user, client event
id) is already stored, so a re-import adds nothing and appending events to a file adds
only those; the unique constraint on that pair backs this up (a racing second import
fails and writes nothing). A changed rating value for an existing event is not updated.
Existing items keep their title, year and genres (staff may have edited them); they only
gain what is additive: tags the file gives that they lack, and a description when theirs
is empty. Every item of the file is then queued for its text vector (recommender/text),
which re-embeds only those whose text changed.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from recommender.serving import answer_cache
from recommender.models import Event, Genre, Item, Tag
from recommender.text.services import items_text_changed
from recsite.accounts.models import User

from .records import EVENT_KINDS, EventRecord, ParsedDataset

SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,22}$")
DEFAULT_SOURCES = {"movielens-100k": "ml-100k", "movielens-1m": "ml-1m", "movielens-latest": "ml-latest"}
CLIENT_ID_PREFIX = "imp:"
# Files without times (sequence files, ml-1m.txt) only give an order. Each person's k-th
# event is placed at SYNTHETIC_EPOCH + k minutes: order is kept, and the fixed epoch makes
# a re-import produce the same times. The values are not real times and say so by their age.
SYNTHETIC_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
SYNTHETIC_STEP = timedelta(minutes=1)
BATCH_ROWS = 20_000  # rows per executemany / COPY / progress tick
PG_BULK_ROWS = 100_000  # from this many new events on, PostgreSQL loads in bulk mode

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportResult:
    """What an import changed: rows created, and events that were already there."""

    items_created: int
    users_created: int
    events_created: int
    events_skipped: int


def default_source(fmt: str, path: str | Path) -> str:
    """Return the source name used when none is given: `ml-*` or a slug of the file name."""
    if fmt in DEFAULT_SOURCES:
        return DEFAULT_SOURCES[fmt]
    slug = re.sub(r"[^a-z0-9._-]+", "-", Path(path).stem.lower()).strip("-._")
    return (slug or "import")[:23]


def source_validate(source: str) -> None:
    """Raise ValueError unless `source` is 1-23 of [a-z0-9._-], starting alphanumeric."""
    if not SOURCE_PATTERN.match(source):
        raise ValueError(
            f"Source {source!r} must be 1 to 23 characters of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit."
        )


def placeholder_username(source: str, user: str) -> str:
    """Return the username of an imported person."""
    return f"{source}:{user}"


def item_external_id(source: str, item: str) -> str:
    """Return the stored external id of an imported item."""
    return f"{source}:{item}"


def _dataset_check(parsed: ParsedDataset) -> None:
    """Refuse records a reader would never produce (callers may build their own)."""
    known = {record.external_id for record in parsed.items}
    if len(known) != len(parsed.items):
        raise ValueError("The data set lists an item id twice.")
    missing = {event.item for event in parsed.events} - known
    if missing:
        raise ValueError(f"Events reference items that are not in the data set: {sorted(missing)[:5]}")
    kinds = {event.kind for event in parsed.events} - set(EVENT_KINDS)
    if kinds:
        raise ValueError(f"Unknown event kinds: {sorted(kinds)}")
    valued = {event.kind for event in parsed.events if event.kind != "rate" and event.value is not None}
    if valued:
        raise ValueError(f"Only ratings have a value, not: {sorted(valued)}")


def _genres_ensure(names: set[str]) -> dict[str, int]:
    """Return {name: id} for every genre, creating the missing ones."""
    existing = dict(Genre.objects.values_list("name", "id"))
    Genre.objects.bulk_create(
        [Genre(name=name) for name in sorted(names - existing.keys())], ignore_conflicts=True
    )
    return dict(Genre.objects.values_list("name", "id"))


def _tags_ensure(names: set[str]) -> dict[str, int]:
    """Return {name: id} for these tags, creating the missing ones."""
    Tag.objects.bulk_create([Tag(name=name) for name in sorted(names)], ignore_conflicts=True)
    ids: dict[str, int] = {}
    names_list = sorted(names)
    for start in range(0, len(names_list), 500):  # stay far below SQLite's parameter limit
        ids.update(Tag.objects.filter(name__in=names_list[start:start + 500]).values_list("name", "id"))
    return ids


def _tags_link(parsed: ParsedDataset, ids: dict[str, int], old: set[str]) -> None:
    """Give every item of the file the tags it lists and lacks; fill empty descriptions."""
    tagged = [r for r in parsed.items if r.tags]
    tag_ids = _tags_ensure({name for r in tagged for name in r.tags})
    through = Item.tags.through
    have: set[tuple[int, int]] = set()
    old_pks = [ids[r.external_id] for r in tagged if r.external_id in old]
    for start in range(0, len(old_pks), 500):
        have.update(through.objects.filter(item_id__in=old_pks[start:start + 500]).values_list("item_id", "tag_id"))
    rows = {(ids[r.external_id], tag_ids[name]) for r in tagged for name in r.tags} - have
    through.objects.bulk_create([through(item_id=i, tag_id=t) for i, t in sorted(rows)], batch_size=5000)
    described = {ids[r.external_id]: r.description for r in parsed.items if r.description and r.external_id in old}
    changed = {i for i, _t in rows} & {ids[e] for e in old}
    pks = sorted(described)
    for start in range(0, len(pks), 500):
        for item in Item.objects.filter(pk__in=pks[start:start + 500], description=""):
            item.description = described[item.pk]
            item.save(update_fields=["description", "updated_at"])
            changed.discard(item.pk)
    # The title index of search rebuilds when updated_at moves: new tags count as an edit.
    changed_list = sorted(changed)
    for start in range(0, len(changed_list), 500):
        Item.objects.filter(pk__in=changed_list[start:start + 500]).update(updated_at=timezone.now())


def _items_ensure(parsed: ParsedDataset, source: str) -> tuple[dict[str, int], int]:
    """Return ({item id in file: Item pk}, items created); new items get their genres,
    and every item the tags it lacks (see the module docstring)."""
    prefix = item_external_id(source, "")
    existing = set(Item.objects.filter(external_id__startswith=prefix).values_list("external_id", flat=True))
    new = [r for r in parsed.items if item_external_id(source, r.external_id) not in existing]
    now = timezone.now()
    Item.objects.bulk_create(
        [Item(external_id=item_external_id(source, r.external_id), title=r.title, year=r.year,
              description=r.description, created_at=now) for r in new],
        batch_size=2000,
    )
    ids = {
        ext[len(prefix):]: pk
        for ext, pk in Item.objects.filter(external_id__startswith=prefix).values_list("external_id", "id")
    }
    genre_ids = _genres_ensure({name for r in new for name in r.genres})
    through = Item.genres.through
    through.objects.bulk_create(
        [through(item_id=ids[r.external_id], genre_id=genre_ids[name]) for r in new for name in r.genres],
        batch_size=5000,
    )
    old = {ext[len(prefix):] for ext in existing}
    _tags_link(parsed, ids, old)
    return ids, len(new)


def _placeholders_ensure(users: Iterable[str], source: str) -> tuple[dict[str, int], set[str]]:
    """Return ({user id in file: User pk}, ids of the people created) for placeholders."""
    prefix = placeholder_username(source, "")
    existing = set(User.objects.filter(username__startswith=prefix).values_list("username", flat=True))
    new = [u for u in users if placeholder_username(source, u) not in existing]
    User.objects.bulk_create(
        # make_password(None) is an unusable password ("!" + random): nobody can log in.
        [User(username=placeholder_username(source, u), is_placeholder=True,
              password=make_password(None)) for u in new],
        batch_size=2000,
    )
    ids = {
        name[len(prefix):]: pk
        for name, pk in User.objects.filter(username__startswith=prefix).values_list("username", "id")
    }
    return ids, set(new)


def _client_event_id(event: EventRecord, n: int) -> str:
    key = f"{event.item}\x1f{event.timestamp}\x1f{event.kind}\x1f{n}".encode()
    return CLIENT_ID_PREFIX + hashlib.blake2b(key, digest_size=10).hexdigest()


def _stored_keys(user_pks: list[int]) -> set[tuple[int, str]]:
    """Return (user pk, client event id) of the imported events these people already have."""
    keys: set[tuple[int, str]] = set()
    for start in range(0, len(user_pks), 500):  # stay far below SQLite's parameter limit
        keys.update(Event.objects.filter(
            user_id__in=user_pks[start:start + 500], client_event_id__startswith=CLIENT_ID_PREFIX,
        ).values_list("user_id", "client_event_id"))
    return keys


class _RowMaker:
    """Turn one person's events (in file order) into Event rows, skipping stored ones."""

    def __init__(self, user_ids: dict[str, int], item_ids: dict[str, int]) -> None:
        self.user_ids, self.item_ids = user_ids, item_ids
        self.adapt = connection.ops.adapt_datetimefield_value
        self.created_at = self.adapt(timezone.now())
        self.stamps: dict[int, object] = {}  # unix seconds -> adapted value; times repeat
        self.synthetic: list[object] = []  # position in a history -> adapted synthetic time

    def _time(self, event: EventRecord, position: int) -> object:
        if event.timestamp is None:
            while len(self.synthetic) <= position:
                moment = SYNTHETIC_EPOCH + len(self.synthetic) * SYNTHETIC_STEP
                self.synthetic.append(self.adapt(moment))
            return self.synthetic[position]
        value = self.stamps.get(event.timestamp)
        if value is None:
            moment = datetime.fromtimestamp(event.timestamp, tz=UTC)
            value = self.stamps[event.timestamp] = self.adapt(moment)
        return value

    def rows(self, user: str, history: list[EventRecord], stored: set[tuple[int, str]]) -> Iterator[tuple]:
        user_id, item_ids, created_at = self.user_ids[user], self.item_ids, self.created_at
        seen: dict[tuple, int] = {}
        for position, event in enumerate(history):
            key = (event.item, event.timestamp, event.kind)
            n = seen[key] = seen.get(key, -1) + 1
            client_id = _client_event_id(event, n)
            if stored and (user_id, client_id) in stored:
                continue
            yield (user_id, item_ids[event.item], event.kind, event.value,
                   self._time(event, position), client_id, created_at)


def _event_batches(events: list[EventRecord], maker: _RowMaker,
                   old_users: set[str]) -> Iterator[tuple[list[tuple], int]]:
    """Yield (new rows, events handled) for groups of whole people, in file order per person.

    A person's rows stay in file order, so ids break ties of equal times the way a stable
    sort by timestamp would. Only people who existed before this import can have stored
    events, so only they cost a look-up.
    """
    by_user: dict[str, list[EventRecord]] = {}
    for event in events:
        by_user.setdefault(event.user, []).append(event)
    group: list[str] = []
    handled = 0
    for position, (user, history) in enumerate(by_user.items(), 1):
        group.append(user)
        handled += len(history)
        if handled < BATCH_ROWS and position < len(by_user):
            continue
        stored = _stored_keys([maker.user_ids[u] for u in group if u in old_users])
        yield [row for u in group for row in maker.rows(u, by_user[u], stored)], handled
        group, handled = [], 0


_COLUMNS = ("user_id", "item_id", "kind", "value", "occurred_at", "client_event_id", "created_at")
_PG_TYPES = ("int8", "int8", "varchar", "float8", "timestamptz", "varchar", "timestamptz")


def _insert_sqlite(batches: Iterator[tuple[list[tuple], int]], progress: Progress | None,
                   expected: int) -> int:
    """Insert each batch with one executemany; return the number of rows inserted."""
    sql = (f'INSERT INTO "{Event._meta.db_table}" ({", ".join(_COLUMNS)}) '
           f'VALUES ({", ".join(["%s"] * len(_COLUMNS))})')
    created = 0
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (cache_size,) = cursor.fetchone()
        # Five indexes on scattered keys (item, client id) miss SQLite's 2 MB default page
        # cache on most rows; 256 MiB for this connection halved a 1M-event import here.
        cursor.execute("PRAGMA cache_size = -262144")
        try:
            for rows, handled in batches:
                if rows:
                    cursor.executemany(sql, rows)
                created += len(rows)
                if progress:
                    progress(handled)
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
    return created


def _insert_postgresql(batches: Iterator[tuple[list[tuple], int]], progress: Progress | None,
                       expected: int) -> int:
    """COPY each batch into the events table; return the number of rows inserted.

    COPY cannot skip conflicts, which is why stored events are filtered out beforehand.
    For a large import (`expected` new rows), the foreign keys are dropped and re-added
    around the COPY: otherwise each row queues two deferred checks that run one by one at
    commit (12 of 32 s for ML-1M here), whereas re-adding validates all rows in one join.
    The price is an exclusive lock on events, people and items until the import commits,
    acceptable for a bulk load; smaller imports keep the row checks and lighter locks.
    """
    table = Event._meta.db_table
    sql = f'COPY "{table}" ({", ".join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)'
    created = 0
    with connection.cursor() as cursor:
        foreign_keys: list[tuple[str, str]] = []
        if expected >= PG_BULK_ROWS:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname", [table],
            )
            foreign_keys = cursor.fetchall()
            for name, _definition in foreign_keys:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for rows, handled in batches:
            if rows:
                with cursor.cursor.copy(sql) as copy:
                    # Binary spares the server from parsing text times and numbers.
                    copy.set_types(_PG_TYPES)
                    for row in rows:
                        copy.write_row(row)
            created += len(rows)
            if progress:
                progress(handled)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        if expected >= PG_BULK_ROWS:
            # Fresh statistics, or the planner guesses at a table that just grew a lot.
            cursor.execute(f'ANALYZE "{table}"')
    return created


@transaction.atomic
def dataset_import(parsed: ParsedDataset, *, source: str, progress: Progress | None = None) -> ImportResult:
    """Store a parsed data set under `source`, all or nothing; re-importing adds nothing.

    `progress`, if given, is called with the number of events handled since its last call.
    Raises ValueError for an invalid source or inconsistent records (nothing written).
    Two imports of the same source at once: the second fails on the unique constraint
    and writes nothing.
    """
    insert = {"postgresql": _insert_postgresql, "sqlite": _insert_sqlite}.get(connection.vendor)
    if insert is None:
        raise NotImplementedError(f"Bulk import supports SQLite and PostgreSQL, not {connection.vendor}.")
    source_validate(source)
    _dataset_check(parsed)
    item_ids, items_created = _items_ensure(parsed, source)
    user_ids, new_users = _placeholders_ensure(dict.fromkeys(e.user for e in parsed.events), source)
    old_users = set(user_ids) - new_users
    # Events of people created just now are certainly new: a lower bound of what is written.
    expected = sum(1 for event in parsed.events if event.user in new_users)
    batches = _event_batches(parsed.events, _RowMaker(user_ids, item_ids), old_users)
    created = insert(batches, progress, expected)
    answer_cache.catalogue_changed()  # new events may hide recommended items; new genres
    items_text_changed([item_ids[r.external_id] for r in parsed.items])
    return ImportResult(items_created, len(new_users), created, len(parsed.events) - created)
