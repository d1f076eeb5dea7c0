"""The catalogue search index: title matching blended with vector similarity. Pure numpy.

A query's score for an item is

    10 * group + title bonus + W_VECTOR * cos(query, item) + W_POPULAR * popularity

where `group` keeps the order the catalogue promises: 2 for an exact title, 1 for a title
that starts with the query or holds it as whole words, 0 for everything else (a
substring inside a word, or meaning alone). Within a group, meaning and popularity decide.
Titles are compared in reading order ("The Godfather" for "Godfather, The"), folded
(case, accents, punctuation, a plural "s"), and a query word found in no title is
corrected to the nearest title word one edit away ("godfater" -> "godfather").
The weights were set on ML-latest-small (docs/benchmarks.md, "Search by meaning").
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.catalogue.titles import reading_order

from .encoder import one_blas_thread
from .links import ItemFacts

W_VECTOR = 1.5
W_POPULAR = 0.4
BONUS_START = 0.3  # "star" -> "Star Wars ..." before "Lone Star"
BONUS_WORD = 0.1
BONUS_SUBSTRING = 0.3
CORRECTED = 0.9  # a corrected query's title bonus counts this much
# Items that match only by meaning are listed when at least this similar to the query
# (cosine; measured, docs/benchmarks.md) and at most this many of them.
MIN_SIMILARITY = 0.2
MEANING_SPAN = 0.25  # ...and within this of the query's most similar item
MAX_MEANING_ONLY = 30

_ALTERNATIVE = re.compile(r"\(([^()]*)\)")
_NOT_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Return text lower-cased, without accents or punctuation, words single-spaced."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", text).split())


def _stem(word: str) -> str:
    """Drop a plural "s" ("aliens" -> "alien"); short words and "-ss/-us/-is" stay."""
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def match_form(text: str) -> str:
    """Return the form titles and queries are compared in: folded, plurals stemmed."""
    return " ".join(_stem(w) for w in fold(text).split())


def title_names(title: str, form=match_form) -> list[str]:
    """Return the forms (match_form, or `form`) of a title and of each alternative title in
    brackets: "Alien³ (a.k.a. Alien 3)" -> ["alien3", "a k a alien 3"]."""
    shown = reading_order(title)
    main = _ALTERNATIVE.sub(" ", shown)
    names = [form(main)] + [form(alt) for alt in _ALTERNATIVE.findall(shown)]
    return [n for n in dict.fromkeys(names) if n]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def edit_distance(a: str, b: str) -> int:
    """Return the Damerau-Levenshtein distance (adjacent swaps count one edit)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@dataclass(frozen=True)
class Hit:
    """One search result: the item, its score, and how it matched (`exact`, `title`,
    `words`, `substring`, `corrected`, or `meaning`)."""

    item_id: int
    score: float
    match: str


class SearchIndex:
    """Titles, vectors and popularity of a catalogue, ready to search and to compare."""

    def __init__(self, items: Sequence[ItemFacts], vectors: np.ndarray | None = None,
                 popularity: np.ndarray | None = None) -> None:
        """`vectors` (n, dim): unit rows aligned with `items`, zero rows for items without
        one; `popularity` (n,) in 0..1. Either may be None."""
        self.items = list(items)
        self.position = {item.id: k for k, item in enumerate(self.items)}
        self.ids = np.array([item.id for item in self.items], dtype=np.int64)
        n = len(self.items)
        self.vectors = vectors if vectors is not None and len(vectors) == n else None
        self.has_vector = (np.linalg.norm(self.vectors, axis=1) > 0) if self.vectors is not None \
            else np.zeros(n, dtype=bool)
        self.popularity = popularity if popularity is not None and len(popularity) == n \
            else np.zeros(n, dtype=np.float32)
        self.names = [title_names(item.title) for item in self.items]
        self.exact_names = [set(title_names(item.title, fold)) for item in self.items]
        self.joined = [" | ".join(names) for names in self.names]
        # All titles in one string, so finding the titles that hold a word is a C-level
        # scan instead of a Python loop over the catalogue (7 ms at 10k items here).
        self._blob = "\n".join(self.joined)
        self._starts = np.cumsum([0] + [len(j) + 1 for j in self.joined[:-1]]) if self.joined \
            else np.zeros(0, dtype=np.int64)
        self.word_sets = [set(" ".join(names).split()) for names in self.names]
        vocabulary: Counter[str] = Counter()
        for item in self.items:
            vocabulary.update(set(fold(reading_order(item.title)).split()))
        self.vocabulary = vocabulary
        self._stems = {_stem(word) for word in vocabulary}
        self._by_delete: dict[str, list[str]] = {}
        for word in vocabulary:
            if len(word) >= 3 and word.isalpha():
                for key in _deletes(word) | {word}:
                    self._by_delete.setdefault(key, []).append(word)

    def _mask(self, ids: set[int]) -> np.ndarray:
        return np.isin(self.ids, np.fromiter(ids, dtype=np.int64, count=len(ids)))

    def __len__(self) -> int:
        return len(self.items)

    # ---- typo correction ------------------------------------------------------------
    def correct_word(self, word: str) -> str | None:
        """Return the title word nearest to a word found in no title (one edit away, two
        for words of six letters or more; the commoner word on a tie, then the first in
        alphabetical order), or None."""
        if _stem(word) in self._stems or len(word) < 4 or not (word.isascii() and word.isalpha()):
            return None  # known (maybe as a plural), too short to guess, or not a Latin word
        limit = 1 if len(word) <= 5 else 2
        candidates = {v for key in _deletes(word) | {word} for v in self._by_delete.get(key, ())}
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            distance = edit_distance(word, candidate)
            if distance <= limit:
                key = (distance, -self.vocabulary[candidate], candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best else None

    def corrected_query(self, query: str) -> str | None:
        """Return the query with its misspelt words corrected, or None if none was."""
        words = fold(query).split()
        fixed = [self.correct_word(w) or w for w in words]
        return " ".join(fixed) if fixed != words else None

    # ---- search -----------------------------------------------------------------------
    def _title_scores(self, query: str, exact: str, candidates: Iterable[int]
                      ) -> dict[int, tuple[int, float, str]]:
        """Return {position: (group, bonus, match)} for titles that hold the query form
        (`exact`: the query folded but not stemmed, for exact titles)."""
        words = query.split()
        result: dict[int, tuple[int, float, str]] = {}
        for k in candidates:
            names = self.names[k]
            if exact in self.exact_names[k]:
                result[k] = (2, 0.0, "exact")
            elif any(n.startswith(query + " ") for n in names):
                result[k] = (1, BONUS_START, "title")
            elif any(f" {query} " in f" {n} " for n in names):
                result[k] = (1, BONUS_WORD, "title")
            elif len(words) > 1 and set(words) <= self.word_sets[k]:
                result[k] = (1, 0.0, "words")
            elif query in self.joined[k]:
                result[k] = (0, BONUS_SUBSTRING, "substring")
        return result

    def _lexical(self, text: str) -> dict[int, tuple[int, float, str]]:
        query = match_form(text)
        if not query:
            return {}
        words = query.split()
        first = words[0]
        # A title holding the query, or all its words, holds its first word somewhere.
        found, at = [], self._blob.find(first)
        while at >= 0:
            found.append(at)
            at = self._blob.find(first, at + 1)
        candidates = np.unique(np.searchsorted(self._starts, found, side="right") - 1)
        return self._title_scores(query, fold(text), candidates.tolist())

    def search(self, query: str, query_vector: np.ndarray | None = None, *,
               allowed: set[int] | None = None, limit: int = 200) -> list[Hit]:
        """Return the best items for a query, best first, at most `limit`.

        Every title match is listed; items that match by meaning only (a `query_vector`
        is given, they have a vector) are listed when similar enough. `allowed`, if given,
        restricts the results to those item ids (a genre filter).
        """
        n = len(self.items)
        if n == 0:
            return []
        lexical = self._lexical(query)
        corrected = self.corrected_query(query)
        if corrected:
            for k, (group, bonus, _match) in self._lexical(corrected).items():
                if k not in lexical or lexical[k][:2] < (group, bonus * CORRECTED):
                    lexical[k] = (group, bonus * CORRECTED, "corrected")
        score = W_POPULAR * self.popularity.astype(np.float64)
        similarity = np.zeros(n)
        if query_vector is not None and self.vectors is not None:
            with one_blas_thread():
                similarity = self.vectors @ np.asarray(query_vector, dtype=np.float32)
            score = score + W_VECTOR * similarity
        matched = np.zeros(n, dtype=bool)
        for k, (group, bonus, _match) in lexical.items():
            score[k] += 10 * group + bonus
            matched[k] = True
        best = float(similarity[self.has_vector].max()) if self.has_vector.any() else 0.0
        meaning = ~matched & self.has_vector & (similarity >= max(MIN_SIMILARITY, best - MEANING_SPAN))
        if meaning.sum() > MAX_MEANING_ONLY:
            keep = np.argsort(-np.where(meaning, score, -np.inf))[:MAX_MEANING_ONLY]
            meaning = np.zeros(n, dtype=bool)
            meaning[keep] = True
        shown = matched | meaning
        if allowed is not None:
            shown &= self._mask(allowed)
        listed = np.flatnonzero(shown)
        order = listed[np.argsort(-score[listed], kind="stable")][:limit]
        return [Hit(self.items[k].id, float(score[k]), lexical[k][2] if k in lexical else "meaning")
                for k in order]

    # ---- similar items ---------------------------------------------------------------------
    def similar(self, item_id: int, k: int = 10, *, allowed: set[int] | None = None
                ) -> list[tuple[int, float | None]]:
        """Return up to k (item id, cosine similarity) nearest to an item, nearest first.

        An item without a vector (not embedded yet) gets the items sharing most of its
        genres and tags instead, with similarity None. Unknown ids give [].
        """
        position = self.position.get(item_id)
        if position is None:
            return []
        candidates = np.ones(len(self.items), dtype=bool)
        candidates[position] = False
        if allowed is not None:
            candidates &= self._mask(allowed)
        if self.vectors is not None and self.has_vector[position]:
            with one_blas_thread():
                similarity = self.vectors @ self.vectors[position]
            ranked = np.argsort(-np.where(candidates & self.has_vector, similarity, -np.inf), kind="stable")
            return [(self.items[j].id, float(similarity[j])) for j in ranked[:k]
                    if candidates[j] and self.has_vector[j]]
        own = set(self.items[position].genres) | set(self.items[position].tags)
        if not own:
            return []
        overlap = [(len(own & (set(it.genres) | set(it.tags))) / len(own | set(it.genres) | set(it.tags)), j)
                   for j, it in enumerate(self.items) if candidates[j]]
        overlap = sorted((o for o in overlap if o[0] > 0), key=lambda o: (-o[0], o[1]))
        return [(self.items[j].id, None) for _share, j in overlap[:k]]
