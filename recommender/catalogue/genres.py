"""Genre names as people read them in their language.

Genres are data (imported with the catalogue), but the few that MovieLens and the demo
catalogue use are known: each has a translation here (context "genre"), and any other name
is shown as stored. The stored name stays what filters and the API use.
"""
from django.utils.translation import pgettext, pgettext_lazy

# Every genre of MovieLens 100K, 1M and latest, and of the demo catalogue.
KNOWN_GENRES = {
    "Action": pgettext_lazy("genre", "Action"),
    "Adventure": pgettext_lazy("genre", "Adventure"),
    "Animation": pgettext_lazy("genre", "Animation"),
    "Children": pgettext_lazy("genre", "Children"),
    "Children's": pgettext_lazy("genre", "Children's"),
    "Comedy": pgettext_lazy("genre", "Comedy"),
    "Crime": pgettext_lazy("genre", "Crime"),
    "Documentary": pgettext_lazy("genre", "Documentary"),
    "Drama": pgettext_lazy("genre", "Drama"),
    "Fantasy": pgettext_lazy("genre", "Fantasy"),
    "Film-Noir": pgettext_lazy("genre", "Film-Noir"),
    "Horror": pgettext_lazy("genre", "Horror"),
    "IMAX": pgettext_lazy("genre", "IMAX"),
    "Musical": pgettext_lazy("genre", "Musical"),
    "Mystery": pgettext_lazy("genre", "Mystery"),
    "Romance": pgettext_lazy("genre", "Romance"),
    "Sci-Fi": pgettext_lazy("genre", "Sci-Fi"),
    "Thriller": pgettext_lazy("genre", "Thriller"),
    "War": pgettext_lazy("genre", "War"),
    "Western": pgettext_lazy("genre", "Western"),
}


def genre_label(name: str) -> str:
    """Return a genre's name in the active language (the stored name when unknown)."""
    return pgettext("genre", name) if name in KNOWN_GENRES else name
