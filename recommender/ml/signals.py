"""What a person did with an item, as the model reads it: one signal per history item.

Pure Python. An event's kind and, for a rating, its value map to a *signal*; a person's
events on one item collapse to one history entry (``collapse``), placed at the time of the
event that decided its signal. The signals and what each may do:

- ``POSITIVE`` (a rating of 3 stars or more, a rating of unknown value, a like, a
  purchase): what a person chose. These alone are read by the encoder (the summary of
  their taste) and are the only items the model learns to predict.
- ``NEGATIVE`` (a rating of 2 stars or less): evidence against. Never read by the
  encoder, never a training target; in the item-level head it pushes every candidate down
  by ``POLICY[RATED_LOW]`` times how closely the candidate resembles it (the cosine of
  their item vectors, if positive), so it can only push down, most what is most like it.
  This is a fixed policy: rating data cannot teach it, because what people watch next
  resembles the films they rated low as well as the ones they rated high.
- ``WEAK`` (a page view, a click): weak evidence. Never read by the encoder; in the
  head its value is scaled by a small strength, so one view cannot outweigh a history.

Strengths (how much a signal's item-level value counts) are learned for the positive and
weak signals the training data holds at least ``MIN_LEARNED`` times and otherwise fixed at
``POLICY``.
"""

from __future__ import annotations

from collections.abc import Iterable

PAD = 0
INTERACTED = 1  # a rating without a value (ML-1M's sequence file) or an unknown positive kind
RATED_LOW = 2  # 0.5 - 2.5 stars rounded down to 2 or less
RATED_3 = 3
RATED_4 = 4
RATED_5 = 5
LIKED = 6
PURCHASED = 7
CLICKED = 8
VIEWED = 9
N_SIGNALS = 10

NAMES = {
    INTERACTED: "interacted", RATED_LOW: "rated_low", RATED_3: "rated_3", RATED_4: "rated_4",
    RATED_5: "rated_5", LIKED: "liked", PURCHASED: "purchased", CLICKED: "clicked",
    VIEWED: "viewed",
}
POSITIVE = frozenset({INTERACTED, RATED_3, RATED_4, RATED_5, LIKED, PURCHASED})
NEGATIVE = frozenset({RATED_LOW})
WEAK = frozenset({CLICKED, VIEWED})

# The fixed strength of a signal the training data does not hold (and the starting point
# of one it does): a view counts a quarter of a choice, a click half, a 3-star rating half.
# A low rating's is how far it pushes down an item just like it (cosine 1), in score
# units (logits of a softmax over the catalogue: 2 divides its odds by e^2, about 7).
POLICY = {
    INTERACTED: 1.0, RATED_LOW: 2.0, RATED_3: 0.5, RATED_4: 1.0, RATED_5: 1.0, LIKED: 1.0,
    PURCHASED: 1.0, CLICKED: 0.5, VIEWED: 0.25,
}
# A new person's choices also lift the genre they have in common, by policy (never
# learned): while they have made n < NEW_PERSON_CHOICES choices, a candidate's score gains
# NEW_PERSON_LIFT * (1 - n / NEW_PERSON_CHOICES) * f ** NEW_PERSON_FOCUS, f being the share
# of the n choices holding the candidate's genre that most of them hold. Five films of one
# genre bring that genre; a genre that only some of them have in passing lifts far less
# (4 of 5: half as much, 3 of 5: a fifth). It fades as choices accumulate and is gone from
# the tenth on, where the history speaks for itself. Next-item data cannot teach it:
# someone whose first five liked films share a genre picks that genre for about half of
# their next ten (0.46 on ML-1M, 0.56 on ML-100K and ML-latest-small), which the model
# alone does not give them; the strength and focus were chosen on the site's ML-1M model
# (docs/benchmarks.md, "A new person's genre lift": bench.new_person, bench.scenarios).
# It is a term of the score of its own (``Recommender.new_person_lift``): the why page shows it
# on its own line, with the rank the item would have without it, never as part of one film.
NEW_PERSON_CHOICES = 10
NEW_PERSON_LIFT = 6.0
NEW_PERSON_FOCUS = 3
MIN_LEARNED = 200  # training items with a signal before its strength and embedding are learned

# Which learned signal stands in for one the model never learned: the encoder and the head
# then read the stand-in's embedding (a 5-star rating on a model trained on ML-1M's
# sequence file, where every item is "interacted", reads as "interacted"; a like on a model
# trained on ML-100K's star ratings reads as a 5-star rating), with the signal's own
# strength. The first learned signal of this list stands in.
STAND_INS = (INTERACTED, RATED_5, RATED_4, LIKED, PURCHASED, RATED_3)

# which event beats which when one item has several: an explicit judgement (the latest
# rating, like or purchase) beats a click, which beats a view
_RANK = {VIEWED: 0, CLICKED: 1}


def signal_of(kind: str, value: float | None) -> int | None:
    """Return the signal of one event, or None for kinds the model does not read."""
    if kind == "rate":
        if value is None:
            return INTERACTED
        stars = int(value + 0.5)  # 2.5 stars and above round up to 3
        if stars <= 2:
            return RATED_LOW
        return {3: RATED_3, 4: RATED_4}.get(stars, RATED_5)
    return {"like": LIKED, "purchase": PURCHASED, "click": CLICKED, "view": VIEWED}.get(kind)


def collapse(events: Iterable[tuple[int, str, float | None]]) -> list[tuple[int, int]]:
    """Return one (item, signal) per item from a person's events, in time order.

    ``events``: (item, kind, value), oldest first. An item's signal is its latest explicit
    judgement (a re-rating replaces the rating; a like or purchase is a judgement too),
    else its strongest weak one (click over view); the entry sits at the time of the event
    that set it, so opening a film rated long ago does not make it recent. Kinds without
    a signal (``not_interested``) are skipped.
    """
    best: dict[int, tuple[int, int]] = {}  # item -> (signal, time index)
    for t, (item, kind, value) in enumerate(events):
        signal = signal_of(kind, value)
        if signal is None:
            continue
        held = best.get(item)
        if held is None or _replaces(signal, held[0]):
            best[item] = (signal, t)
    return [(item, signal) for item, (signal, _t) in sorted(best.items(), key=lambda kv: kv[1][1])]


def cold_start(entries: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return (item, signal) entries as the model reads them: someone who has chosen
    nothing yet (no rating of 3 stars or more, like or purchase) is known only by what they
    opened, so their views and clicks stand in as plain interactions, in training and in
    serving alike; a page still calls them views. Low ratings never stand in."""
    if any(s in POSITIVE for _, s in entries):
        return entries
    return [(i, INTERACTED if s in WEAK else s) for i, s in entries]


def _replaces(new: int, old: int) -> bool:
    if new not in WEAK:  # a judgement replaces anything, the latest one winning
        return True
    return old in WEAK and _RANK[new] >= _RANK[old]


def effective(signal: int, learned: Iterable[int]) -> int:
    """Return the signal whose embedding the model reads for ``signal``.

    A learned choice or glance reads its own. Anything else, a low rating included (only
    its item's vector counts, the embedding is never used), reads the first learned
    stand-in (``STAND_INS``).
    """
    learned = set(learned)
    if signal in learned and signal not in NEGATIVE:
        return signal
    return next((s for s in STAND_INS if s in learned), INTERACTED)
