"""The genre persistence that bench.new_person reports."""
from bench.new_person import persistence


def test_persistence_is_the_genres_share_of_the_next_ten_after_five_that_share_it():
    genres = {f"h{k}": {"Horror"} for k in range(20)} | {f"c{k}": {"Comedy"} for k in range(20)}
    genres["hc"] = {"Horror", "Comedy"}
    five_horror = [f"h{k}" for k in range(5)] + ["h10", "h11", "h12", "hc"] + [f"c{k}" for k in range(6)]
    mixed = ["h0", "c0", "h1", "h2", "h3"] + [f"h{k}" for k in range(5, 15)]  # the first five share nothing
    short = [f"c{k}" for k in range(14)]  # fewer than fifteen: not counted
    assert persistence([five_horror, mixed, short], genres) == (1, 0.4)
    both = ["hc"] * 5 + ["h1"] * 3 + ["c1"] * 7  # the first five share two genres: one case each
    assert persistence([both], genres) == (2, 0.5)
