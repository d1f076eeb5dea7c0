"""The scenario benchmark's own judgements, which its figures and the integration test rely on."""
from bench.scenarios import find_sequels, series_key


def test_series_share_a_title_stem():
    assert series_key("Toy Story 2 (1999)") == series_key("Toy Story (1995)") == "toy story"
    assert series_key("Last Drift: Returns") == series_key("Last Drift IV") == "last drift"


def test_sequels_are_later_films_of_a_series_with_titles_of_their_own():
    """Later years only; a later film of the very same title is another film, not a sequel."""
    titles = {1: "Toy Story", 2: "Toy Story 2", 3: "Big Wedding", 4: "The Big Wedding",
              5: "Alien", 6: "Aliens"}
    years = {1: 1995, 2: 1999, 3: 1990, 4: 2019, 5: 1979, 6: 1986}
    assert find_sequels(titles, years) == {1: [2]}
