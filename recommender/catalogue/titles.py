"""Titles as people read them: catalogues store "Usual Suspects, The" so that it sorts under
U; pages show "The Usual Suspects". The stored form stays the sort key."""
import re

# Leading articles that catalogues (MovieLens among them) move to the end, in the languages
# their titles use. "L'" joins the next word without a space ("Uomo delle stelle, L'").
ARTICLES = ("The", "A", "An", "La", "Le", "Les", "L'", "Il", "El", "Lo", "Los", "Las", "Das",
            "Der", "Die", "Den", "Det", "Gli", "Un", "Une", "Una", "Ein", "Eine")
_MOVED = re.compile(r"^(?P<rest>.+), (?P<article>" + "|".join(re.escape(a) for a in ARTICLES) + r")$")
# A title is a main part and any number of parenthesised alternative titles after it:
# "Star Maker, The (Uomo delle stelle, L')".
_PARTS = re.compile(r"^(?P<main>[^()]+?)(?P<alts>(?:\s*\([^()]*\))*)$")
_ALT = re.compile(r"\(([^()]*)\)")


def _front(part: str) -> str:
    match = _MOVED.match(part.strip())
    if match is None:
        return part.strip()
    article, rest = match.group("article"), match.group("rest")
    return f"{article}{rest}" if article.endswith("'") else f"{article} {rest}"


def reading_order(title: str) -> str:
    """Return `title` with a trailing article moved to the front, in the main title and in
    each parenthesised alternative title; any other title is returned unchanged."""
    match = _PARTS.match(title.strip())
    if match is None:  # unbalanced or nested brackets: leave it as stored
        return title
    alts = [f"({_front(alt)})" for alt in _ALT.findall(match.group("alts"))]
    return " ".join([_front(match.group("main")), *alts])
