"""A tiny hand-written film catalogue for search and similar-item tests (not MovieLens data)."""
from recommender.text.links import ItemFacts

# (id, title as catalogues store it, year, genres, tags, description)
FILMS = [
    (1, "Star Wars: Episode IV - A New Hope", 1977, ("Action", "Adventure", "Sci-Fi"), ("space", "robots"), ""),
    (2, "Star Trek II: The Wrath of Khan", 1982, ("Action", "Adventure", "Sci-Fi"), ("space",), ""),
    (3, "Bastard Out of Carolina", 1996, ("Drama",), (), ""),
    (4, "Lone Star", 1996, ("Drama", "Mystery"), (), ""),
    (5, "Star Is Born, A", 1954, ("Drama", "Musical"), (), ""),
    (6, "Stardust", 2007, ("Adventure", "Fantasy"), (), ""),
    (7, "Titanic", 1997, ("Drama", "Romance"), ("ship", "iceberg"), ""),
    (8, "Toy Story", 1995, ("Animation", "Children", "Comedy"), ("pixar", "toys"), ""),
    (9, "Godfather, The", 1972, ("Crime", "Drama"), ("mafia",), ""),
    (10, "Jurassic Park", 1993, ("Action", "Adventure", "Sci-Fi"), ("dinosaurs",), ""),
    (11, "Star", 2001, ("Drama",), (), ""),
    (12, "Mustard Seed", 2010, ("Comedy",), (), ""),
    (13, "Aliens", 1986, ("Action", "Horror", "Sci-Fi"), ("space",), ""),
    (14, "Toy Story 2", 1999, ("Animation", "Children", "Comedy"), ("pixar", "toys"), ""),
]


def facts() -> list[ItemFacts]:
    """Return the catalogue as the search index's item facts."""
    return [ItemFacts(pk, title, genres, tags, bool(description))
            for pk, title, _year, genres, tags, description in FILMS]
