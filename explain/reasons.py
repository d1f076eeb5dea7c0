"""Plain-language sentences of an explanation, translatable, built only from checked facts.

Every sentence says what the person did with each item it names (``recommender.ml.signals``:
"rated “Alien” 5★", "liked “Aliens”", "opened “Toy Story” (a page view)"), in the second
person for the person and in the third person for staff reading someone else's page.
"""
from collections.abc import Sequence
from functools import lru_cache

from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import get_language, gettext_noop, ngettext, pgettext

from recommender.catalogue.genres import genre_label
from recommender.ml import signals as sig

STARS = {sig.RATED_3: 3, sig.RATED_4: 4, sig.RATED_5: 5}


def quoted(titles: Sequence[str]) -> str:
    """Return “A”, “B” and “C” in the active language."""
    return _join([_("“%(title)s”") % {"title": t} for t in titles])


def _join(parts: Sequence[str], context: str = "") -> str:
    """Return "A, B and C"; `context` "actions" joins verb phrases (Chinese joins them otherwise)."""
    if len(parts) <= 1:
        return "".join(parts)
    if context:
        return pgettext("joining actions", "%(items)s and %(last)s") % {
            "items": pgettext("joining actions", ", ").join(parts[:-1]), "last": parts[-1]}
    return _("%(items)s and %(last)s") % {"items": _(", ").join(parts[:-1]), "last": parts[-1]}


DID = {
    sig.INTERACTED: gettext_noop("rated (stars unknown)"),
    sig.RATED_LOW: gettext_noop("rated 2★ or less"),
    sig.LIKED: gettext_noop("liked"),
    sig.PURCHASED: gettext_noop("bought"),
    sig.CLICKED: gettext_noop("clicked"),
    sig.VIEWED: gettext_noop("opened its page"),
}
USED = gettext_noop("used")  # a signal without a label of its own


def did_label(signal: int) -> str:
    """Return what the person did with an item, without the item: "rated 5★", "liked"."""
    return _did_label(get_language(), signal)


@lru_cache(maxsize=256)
def _did_label(language: str | None, signal: int) -> str:
    """``did_label`` in ``language`` (the active one): a why page labels up to 200 entries
    and 100 heatmap cells, and a translation lookup each cost more than the rest of a row."""
    if signal in STARS:
        return _("rated %(stars)s★") % {"stars": STARS[signal]}
    return _(DID.get(signal, USED))


def _action(signal: int, titles: Sequence[str], last: bool = False) -> str:
    """Return one verb phrase naming items the person treated alike: "rated “A” and “B” 5★".
    `last`: a parenthesis follows (the genres), so a view is worded without one."""
    items = quoted(titles)
    if signal in STARS:
        return _("rated %(items)s %(stars)s★") % {"items": items, "stars": STARS[signal]}
    if signal == sig.VIEWED:
        if last:
            return _("opened the page of %(items)s") % {"items": items}
        return ngettext("opened %(items)s (a page view)", "opened %(items)s (page views)",
                        len(titles)) % {"items": items}
    phrase = {
        sig.RATED_LOW: _("rated %(items)s 2★ or less"),
        sig.LIKED: _("liked %(items)s"),
        sig.PURCHASED: _("bought %(items)s"),
        sig.CLICKED: _("clicked %(items)s"),
    }.get(signal, _("rated %(items)s"))  # INTERACTED: a rating whose stars are unknown
    return phrase % {"items": items}


def _ratings(rated: Sequence[tuple[str, int]]) -> list[str]:
    """Return verb phrases for star ratings (title, stars): one verb where the language allows."""
    if len({stars for _t, stars in rated}) == 1:
        return [_("rated %(items)s %(stars)s★") % {"items": quoted([t for t, _s in rated]), "stars": rated[0][1]}]
    if len(rated) == 2:
        (first, a), (second, b) = rated
        return [_("rated %(first)s %(a)s★ and %(second)s %(b)s★") % {
            "first": quoted([first]), "a": a, "second": quoted([second]), "b": b}]
    by_stars: dict[int, list[tuple[str, int]]] = {}
    for title, stars in rated:
        by_stars.setdefault(stars, []).append((title, stars))
    return [phrase for group in by_stars.values() for phrase in _ratings(group)]


def actions(named: Sequence[tuple[str, int]], parenthesis: bool = False) -> str:
    """Return what the person did with the named (title, signal) items, in their order; items
    treated alike share one verb: "rated “A” 5★ and “B” 4★ and liked “C”". `parenthesis`:
    one follows the phrase (no "(a page view)" right before it)."""
    groups: dict[object, list[tuple[str, int]]] = {}  # "stars" (every star rating) or a signal
    for title, signal in named:
        groups.setdefault("stars" if signal in STARS else signal, []).append((title, signal))
    phrases = []
    for n, (key, members) in enumerate(groups.items()):
        if key == "stars":
            phrases += _ratings([(t, STARS[s]) for t, s in members])
        else:
            phrases.append(_action(key, [t for t, _s in members], last=parenthesis and n == len(groups) - 1))
    return _join(phrases, context="actions")


def reason_sentence(*, named: Sequence[tuple[str, int]], genres: Sequence[str],
                    third_person: bool = False) -> str:
    """Return the reason: "Because you rated “A” 5★ and liked “B” (both Sci-Fi)."

    `named`: (title, signal) of the items the record names (verified contributions, or the
    leave-one-out fallback); none: the recommendation comes from the history as a whole.
    `genres`: the genres they share (with the recommended item where possible), by their
    stored names; the sentence shows each in the active language (``genre_label``).
    """
    if not named:
        if third_person:
            return _("No single item in their history explains this one: it comes from their history as a whole.")
        return _("No single item in your history explains this one: it comes from your history as a whole.")
    values = {"actions": actions(named, parenthesis=bool(genres)),
              "genres": _(", ").join(genre_label(g) for g in genres)}
    if genres and len(named) > 1:
        text = (_("Because they %(actions)s (both %(genres)s).") if third_person
                else _("Because you %(actions)s (both %(genres)s)."))
    elif genres:
        text = (_("Because they %(actions)s (%(genres)s).") if third_person
                else _("Because you %(actions)s (%(genres)s)."))
    else:
        text = _("Because they %(actions)s.") if third_person else _("Because you %(actions)s.")
    return text % values


def boost_sentence(*, genres: Sequence[str], holding: int, choices: int, rank_without: int,
                   third_person: bool = False) -> str:
    """Return what a new person's genre boost did: "5 of the 5 films you have liked or rated
    3★ or more are Documentary. Until you have 10 such films, films of the genre most of
    them share move up: without that head start this would be #37." (``Recommender.new_person_lift``)."""
    values = {"holding": holding, "choices": choices, "genres": genre_list(genres),
              "n": sig.NEW_PERSON_CHOICES, "rank": rank_without}
    if third_person:
        first = ngettext("The film they have liked or rated 3★ or more is %(genres)s.",
                         "%(holding)s of the %(choices)s films they have liked or rated 3★ or more are %(genres)s.",
                         choices) % values
        second = _("Until they have %(n)s such films, films of the genre most of them share move up: without "
                   "that head start this would be #%(rank)s.") % values
    else:
        first = ngettext("The film you have liked or rated 3★ or more is %(genres)s.",
                         "%(holding)s of the %(choices)s films you have liked or rated 3★ or more are %(genres)s.",
                         choices) % values
        second = _("Until you have %(n)s such films, films of the genre most of them share move up: without "
                   "that head start this would be #%(rank)s.") % values
    return sentences([first, second])


def genre_list(genres: Sequence[str]) -> str:
    """Return stored genre names in the active language: "Action and Thriller"."""
    return _join([genre_label(g) for g in genres])


def sentences(parts: Sequence[str]) -> str:
    """Return sentences one after another in the active language (Chinese leaves no space)."""
    text = ""
    for part in (p for p in parts if p):
        text = pgettext("joining sentences", "%(first)s %(second)s") % {"first": text, "second": part} if text else part
    return text


def rank_change(*, rank: int, after: int) -> str:
    """Return "moves it from #2 to #31" or, when the rank holds, "lowers its score but leaves it at #2"."""
    if after > rank:
        return _("moves it from #%(rank)s to #%(after)s") % {"rank": rank, "after": after}
    if after == rank:
        return _("lowers its score but leaves it at #%(rank)s") % {"rank": rank}
    return _("moves it up from #%(rank)s to #%(after)s") % {"rank": rank, "after": after}


def check_sentence(*, removed: Sequence[str], counted: int, rank: int, rank_after: int,
                   rank_after_random: int) -> str:
    """Return what the removal check found: "Removing the 3 items that counted most (“A”, “B”
    and “C”) moves it from #2 to #31; removing 3 random items instead: #3.". ``removed``
    are the removed items, largest contribution first, of which the first ``counted`` add
    to the score: the others are only next in line, and are neither named nor said to count."""
    k = len(removed)
    change = rank_change(rank=rank, after=rank_after)
    if counted >= k:
        first = ngettext("Removing the item that counted most (%(items)s) %(change)s",
                         "Removing the %(k)s items that counted most (%(items)s) %(change)s", k) % {
            "k": k, "items": quoted(removed), "change": change}
    elif counted:
        counting = ngettext("the item that counted (%(items)s)", "the %(m)s items that counted (%(items)s)",
                            counted) % {"m": counted, "items": quoted(removed[:counted])}
        # not named: an item that adds nothing (a low rating, an item that lowers it) is no
        # part of why this was recommended
        rest = ngettext("the next one in line", "the next %(r)s in line", k - counted) % {"r": k - counted}
        first = _("Removing %(counting)s and %(rest)s %(change)s") % {
            "counting": counting, "rest": rest, "change": change}
    else:
        first = _("Removing %(items)s %(change)s") % {"items": quoted(removed), "change": change}
    second = ngettext("removing %(k)s random item instead: #%(random)s.",
                      "removing %(k)s random items instead: #%(random)s.", k) % {
        "k": k, "random": rank_after_random}
    return _("%(first)s; %(second)s") % {"first": first, "second": second}


def one_by_one_sentence(*, ranks: Sequence[tuple[str, int]], rank: int) -> str:
    """Return what removing each named item alone does (`ranks`: (title, rank without it)):
    "Without “A” it would be #5; without “B” it would still be #2."."""
    if all(r <= rank for _t, r in ranks):
        text = (_("Taking %(items)s away lowers its score, but it would still be #%(rank)s.") if len(ranks) == 1
                else _("Taking any one of %(items)s away lowers its score, but it would still be #%(rank)s."))
        return text % {"items": quoted([t for t, _r in ranks]), "rank": rank}
    parts = [(_("without %(item)s it would be #%(rank)s") if r > rank
              else _("without %(item)s it would still be #%(rank)s")) % {"item": quoted([t]), "rank": r}
             for t, r in ranks]
    return capfirst(_("%(parts)s.") % {"parts": _("; ").join(parts)})


def counterfactual_sentence(*, removed: Sequence[str], replacement: str | None, found: bool,
                            top_k: int, most: int, third_person: bool = False) -> str:
    """Return "without X and Y in your history, you'd see Z instead" or why there is none."""
    if not found:
        if third_person:
            return _("Removing up to %(most)s items from their history would not take this out of their "
                     "top %(k)s.") % {"most": most, "k": top_k}
        return _("Removing up to %(most)s items from your history would not take this out of your "
                 "top %(k)s.") % {"most": most, "k": top_k}
    values = {"items": quoted(removed), "k": top_k, "other": quoted([replacement]) if replacement else ""}
    if replacement:
        text = (_("Without %(items)s in their history, they'd see %(other)s instead.") if third_person
                else _("Without %(items)s in your history, you'd see %(other)s instead."))
    else:
        text = (_("Without %(items)s in their history, this would leave their top %(k)s.") if third_person
                else _("Without %(items)s in your history, this would leave your top %(k)s."))
    return text % values
