"""Plain-language sentences of an explanation, translatable, built only from checked facts."""
from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _quoted(titles: Sequence[str]) -> str:
    """Return “A”, “B” and “C” in the active language."""
    quoted = [_("“%(title)s”") % {"title": t} for t in titles]
    if len(quoted) <= 1:
        return "".join(quoted)
    return _("%(items)s and %(last)s") % {"items": _(", ").join(quoted[:-1]), "last": quoted[-1]}


def reason_sentence(*, titles: Sequence[str], genres: Sequence[str], basis: str) -> str:
    """Return the reason: verified items (basis "weights") or the leave-one-out fallback."""
    if not titles:
        return _("No single item in your history explains this one: it comes from your history as a whole.")
    items = _quoted(titles)
    shared = _(", ").join(genres)
    if basis == "weights":
        if shared and len(titles) > 1:
            return _("Because you watched %(items)s (both %(genres)s).") % {"items": items, "genres": shared}
        if shared:
            return _("Because you watched %(items)s (%(genres)s).") % {"items": items, "genres": shared}
        return _("Because you watched %(items)s.") % {"items": items}
    return _("The attention weights did not pass the removal check, so they are not shown as the "
             "reason. Removing %(items)s from your history lowers this recommendation the most.") % {
        "items": items}


def faithfulness_sentence(*, k: int, rank: int, rank_after: int, rank_after_random: int) -> str:
    """Return "removing these 3 items drops this from #2 to #57; 3 random items: #4"."""
    first = ngettext(
        "Removing the item that counted most moves this from #%(rank)s to #%(after)s",
        "Removing the %(k)s items that counted most moves this from #%(rank)s to #%(after)s",
        k) % {"k": k, "rank": rank, "after": rank_after}
    second = ngettext(
        "removing %(k)s random item moves it to #%(random)s.",
        "removing %(k)s random items moves it to #%(random)s.",
        k) % {"k": k, "random": rank_after_random}
    return f"{first}; {second}"


def counterfactual_sentence(*, removed: Sequence[str], replacement: str | None, found: bool,
                            top_k: int, most: int) -> str:
    """Return "if you hadn't watched X and Y, you'd see Z instead" or why there is none."""
    if not found:
        return _("Removing up to %(most)s items from your history would not take this out of your "
                 "top %(k)s.") % {"most": most, "k": top_k}
    items = _quoted(removed)
    if replacement:
        return _("If you hadn't watched %(items)s, you'd see %(other)s instead.") % {
            "items": items, "other": _quoted([replacement])}
    return _("If you hadn't watched %(items)s, this would leave your top %(k)s.") % {
        "items": items, "k": top_k}


