"""Generate a plausible demo catalogue and histories (pure functions, deterministic per seed).

Histories carry learnable structure on purpose: people lean to a few genres, watch film
series in order (part 1, then 2, then 3), and often follow a film with its "companion"
(a fixed, same-genre successor), so a sequential model has something to find.
"""
from __future__ import annotations

import random
from .records import EventRecord, ItemRecord, ParsedDataset

GENRE_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Action": (("Iron", "Burning", "Rapid", "Final", "Steel", "Crimson", "Rogue"),
               ("Strike", "Protocol", "Vendetta", "Fury", "Extraction", "Payload", "Pursuit")),
    "Adventure": (("Lost", "Hidden", "Golden", "Forgotten", "Northern", "Endless", "Sunken"),
                  ("Expedition", "Map", "River", "Kingdom", "Compass", "Voyage", "Island")),
    "Animation": (("Little", "Brave", "Tiny", "Magic", "Clever", "Sleepy", "Paper"),
                  ("Fox", "Robot", "Lantern", "Penguin", "Balloon", "Dragon", "Kite")),
    "Comedy": (("Accidental", "Awkward", "Perfect", "Wrong", "Big", "Lucky", "Borrowed"),
               ("Wedding", "Roommate", "Weekend", "Vacation", "Interview", "Reunion", "Neighbours")),
    "Crime": (("Dirty", "Cold", "Quiet", "Broken", "Late", "Blind", "Crooked"),
              ("Money", "Alibi", "Heist", "Witness", "Ledger", "Confession", "Precinct")),
    "Documentary": (("Secret", "Untold", "Wild", "Deep", "Urban", "Ancient", "Frozen"),
                    ("Oceans", "Bees", "Cities", "Forests", "Machines", "Rivers", "Deserts")),
    "Drama": (("Quiet", "Distant", "Long", "Second", "Winter", "Paper", "Borrowed"),
              ("Summer", "Letters", "Harbour", "Promise", "Garden", "Daughters", "Silence")),
    "Fantasy": (("Shadow", "Elder", "Silver", "Thorn", "Moon", "Ember", "Hollow"),
                ("Crown", "Throne", "Sword", "Witch", "Realm", "Oath", "Gate")),
    "Horror": (("Hollow", "Dead", "Pale", "Black", "Hungry", "Whispering", "Rotting"),
               ("House", "Woods", "Cellar", "Night", "Doll", "Well", "Chapel")),
    "Romance": (("Sweet", "Late", "Parisian", "Summer", "Second", "Lovely", "Sudden"),
                ("Kiss", "Chance", "Affair", "Heart", "Dance", "Letter", "Promise")),
    "Sci-Fi": (("Distant", "Quantum", "Dark", "Red", "Silent", "Last", "Binary"),
               ("Orbit", "Signal", "Colony", "Horizon", "Nebula", "Frontier", "Drift")),
    "Thriller": (("Silent", "Fatal", "Deep", "Double", "Zero", "Blind", "Sleeping"),
                 ("Cover", "Trace", "Window", "Hour", "Contact", "Room", "Agent")),
}
GENRES = tuple(GENRE_WORDS)
PLACES = ("Avalon", "Marrow Bay", "Eastport", "the North", "Calder", "Old Town", "Kessel")
SEQUEL_SUBTITLES = ("Rising", "Reckoning", "Legacy", "Returns", "Origins", "The Last Chapter")
ROMAN = ("", "II", "III", "IV", "V")
DAY = 86_400
# A fixed latest year rather than today's: the same seed then gives the same catalogue in
# any year, and a demo needs plausible films, not this week's releases.
LATEST_YEAR = 2024


def _title_pool(genre: str, rng: random.Random) -> list[str]:
    """Return every title the genre's words allow, shuffled."""
    adjectives, nouns = GENRE_WORDS[genre]
    titles = {f"The {a} {n}" for a in adjectives for n in nouns}
    titles |= {f"{a} {n}" for a in adjectives for n in nouns}
    titles |= {f"{n} of {p}" for n in nouns for p in PLACES}
    pool = sorted(titles)
    rng.shuffle(pool)
    return pool


def demo_catalogue(n_items: int, rng: random.Random, this_year: int = LATEST_YEAR,
                   ) -> tuple[list[ItemRecord], list[list[int]]]:
    """Return items and film series (lists of item indices, in release order)."""
    pools = {genre: _title_pool(genre, rng) for genre in GENRES}
    used: set[str] = set()

    def fresh_title(genre: str) -> str:
        while pools[genre]:
            title = pools[genre].pop()
            if title not in used:
                used.add(title)
                return title
        title = f"{genre} Story No. {len(used) + 1}"  # only for catalogues of thousands
        used.add(title)
        return title

    items: list[ItemRecord] = []
    series: list[list[int]] = []
    while len(items) < n_items:
        genre = rng.choice(GENRES)
        genres = (genre,) if rng.random() < 0.5 else (genre, rng.choice([g for g in GENRES if g != genre]))
        if rng.random() < 0.12 and n_items - len(items) >= 2:  # a film series
            parts = min(rng.randint(2, 5), n_items - len(items))
            base, year = fresh_title(genre), rng.randint(1975, this_year - 3 * parts)
            members = []
            subtitles = rng.sample(SEQUEL_SUBTITLES, len(SEQUEL_SUBTITLES))
            for part in range(parts):
                title = base if part == 0 else (
                    f"{base} {ROMAN[part]}" if rng.random() < 0.6 else f"{base}: {subtitles.pop()}"
                )
                members.append(len(items))
                items.append(ItemRecord(f"m{len(items) + 1:04d}", title, year, genres))
                year = min(this_year, year + rng.randint(2, 4))
            series.append(members)
        else:
            year = rng.randint(1965, this_year)
            items.append(ItemRecord(f"m{len(items) + 1:04d}", fresh_title(genre), year, genres))
    return items, series


def _history(rng: random.Random, items: list[ItemRecord], taste: dict[str, float],
             by_genre: dict[str, list[int]], popularity: list[float],
             series_of: dict[int, tuple[list[int], int]], companion: list[int]) -> list[int]:
    """Return the item indices one person watched, in order."""
    length = min(len(items) // 2, 12 + int(rng.expovariate(1 / 28)))
    seen: set[int] = set()
    order: list[int] = []
    pending: list[int] = []  # next parts of series the person has started
    genres, weights = list(taste), list(taste.values())
    misses = 0
    while len(order) < length:
        if misses > 50:  # the person's genres are exhausted: anything unseen will do
            pick = rng.choice([i for i in range(len(items)) if i not in seen])
        elif pending and rng.random() < 0.7:
            pick = pending.pop()
        elif order and rng.random() < 0.3 and companion[order[-1]] not in seen:
            pick = companion[order[-1]]
        else:
            genre = rng.choices(genres, weights)[0] if rng.random() < 0.9 else rng.choice(GENRES)
            pool = by_genre[genre]
            pick = rng.choices(pool, [popularity[i] for i in pool])[0]
            if pick in series_of and rng.random() < 0.8:
                members, _ = series_of[pick]
                pick = next((m for m in members if m not in seen), pick)  # start at part 1
        if pick in seen:
            misses += 1
            continue
        misses = 0
        seen.add(pick)
        order.append(pick)
        if pick in series_of:
            members, part = series_of[pick]
            if part + 1 < len(members) and members[part + 1] not in seen:
                pending.append(members[part + 1])
    return order


def demo_dataset(*, n_items: int = 300, n_users: int = 300, seed: int = 7, now: int) -> ParsedDataset:
    """Return a demo data set; the same arguments always give the same records.

    Times fall in the 180 days before `now` (unix seconds); another `now` shifts every
    time by the difference and changes nothing else. Every watch is a `view`; some
    are followed by a 1-5 star `rate` (higher in the person's genres) and a `like`.
    """
    if n_items < 20 or n_users < 1:
        raise ValueError("The demo needs at least 20 items and 1 person.")
    rng = random.Random(seed)
    items, series = demo_catalogue(n_items, rng)
    by_genre: dict[str, list[int]] = {g: [] for g in GENRES}
    for index, item in enumerate(items):
        for genre in item.genres:
            by_genre[genre].append(index)
    for genre in GENRES:  # a tiny catalogue may miss a genre: let it fall back to all items
        by_genre[genre] = by_genre[genre] or list(range(len(items)))
    ranks = list(range(1, len(items) + 1))
    rng.shuffle(ranks)
    popularity = [1 / rank ** 0.8 for rank in ranks]  # a long tail, as in real catalogues
    series_of = {m: (members, part) for members in series for part, m in enumerate(members)}
    companion = [rng.choice(by_genre[item.genres[0]]) for item in items]
    events: list[EventRecord] = []
    for person in range(1, n_users + 1):
        user = f"u{person:04d}"
        favourites = rng.sample(GENRES, rng.randint(1, 3))
        taste = {g: rng.uniform(1, 3) for g in favourites} | {g: 0.15 for g in GENRES if g not in favourites}
        order = _history(rng, items, taste, by_genre, popularity, series_of, companion)
        # Draw offsets, not absolute times: how many random bits randint consumes depends
        # on its range, and ranges built from `now` would change everything after them.
        span = rng.randint(14, 180) * DAY
        times = sorted(now - rng.randint(3600, span) for _ in order)
        for index, moment in zip(order, times):
            item = items[index].external_id
            events.append(EventRecord(user, item, moment, "view", None))
            liked_genre = any(g in favourites for g in items[index].genres)
            if rng.random() < 0.45:
                stars = min(5, max(1, round(rng.gauss(4.1 if liked_genre else 2.6, 0.8))))
                events.append(EventRecord(user, item, moment + rng.randint(60, 1800), "rate", float(stars)))
                if stars >= 4 and rng.random() < 0.5:
                    events.append(EventRecord(user, item, moment + rng.randint(1801, 2400), "like", None))
    return ParsedDataset("demo", items, events)
