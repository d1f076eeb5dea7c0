"""The scenario benchmark's own judgements, which its figures and the integration test rely on."""
from bench.scenarios import find_sequels, related_rose, series_key


def test_series_share_a_title_stem():
    assert series_key("Toy Story 2 (1999)") == series_key("Toy Story (1995)") == "toy story"
    assert series_key("Last Drift: Returns") == series_key("Last Drift IV") == "last drift"


def test_sequels_are_later_films_of_a_series_with_titles_of_their_own():
    """Later years only; a later film of the very same title is another film, not a sequel."""
    titles = {1: "Toy Story", 2: "Toy Story 2", 3: "Big Wedding", 4: "The Big Wedding",
              5: "Alien", 6: "Aliens"}
    years = {1: 1995, 2: 1999, 3: 1990, 4: 2019, 5: 1979, 6: 1986}
    assert find_sequels(titles, years) == {1: [2]}


def test_a_related_item_rises_only_by_passing_an_unrelated_one():
    """After a low rating of film 9 (related: 1 and 2), the film leaving the list or a related
    item sinking below another is no rise; passing an unrelated item, or entering the list, is."""
    before = [5, 1, 9, 2, 6, 7]
    assert related_rose(before, [5, 2, 1, 6, 7], 9, [1, 2]) == []  # 1 sank below 2, 9 left
    assert related_rose(before, [5, 1, 6, 2, 7], 9, [1, 2]) == []  # 2 sank below 6
    assert related_rose(before, [2, 5, 1, 6, 7], 9, [1, 2]) == [2]  # 2 passed 5
    assert related_rose([5, 6, 7], [5, 6, 3], 9, [3]) == [3]  # 3 entered the list
