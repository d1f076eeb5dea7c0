"""Histories with signals, the leave-one-out split and batches."""

import torch

from recommender.ml import signals as sig
from recommender.ml.data import History, build_sequences, leave_one_out, pad_left, training_batches


def _rows(user, items, kind="rate", value=None):
    return [(user, str(i), t, kind, value) for t, i in enumerate(items)]


def test_histories_are_stable_sorted_by_time_and_short_people_dropped():
    """Order follows the key; ties keep input order; people under 3 chosen items are dropped
    (views count as choices only for someone who has chosen nothing: the cold start)."""
    rows = [("a", "x", 3, "rate", 4.0), ("a", "y", 1, "rate", 5.0), ("a", "z", 1, "like", None),
            ("a", "w", 2, "rate", None), ("b", "x", 1, "rate", 4.0),
            ("c", "x", 1, "view", None), ("c", "y", 2, "view", None), ("c", "z", 3, "rate", 1.0),
            ("d", "x", 1, "view", None), ("d", "y", 2, "view", None), ("d", "z", 3, "rate", 4.0),
            ("e", "x", 1, "view", None), ("e", "y", 2, "click", None), ("e", "z", 3, "view", None)]
    data = build_sequences(rows)
    assert data.users == ("a", "e")
    assert data.histories[1].signals == (sig.INTERACTED,) * 3
    ids = data.item_map.index()
    assert data.histories[0] == History((ids["y"], ids["z"], ids["w"], ids["x"]),
                                        (sig.RATED_5, sig.LIKED, sig.INTERACTED, sig.RATED_4))


def test_an_items_events_collapse_to_its_latest_judgement():
    """A re-rating replaces the rating at its new time; a view after a rating changes
    nothing; a view, then a click, keeps the click; not_interested is no entry."""
    events = [(1, "rate", 5.0), (2, "view", None), (1, "view", None), (3, "view", None),
              (3, "click", None), (2, "rate", 2.0), (4, "not_interested", None), (1, "rate", 3.0)]
    assert sig.collapse(events) == [(3, sig.CLICKED), (2, sig.RATED_LOW), (1, sig.RATED_3)]
    assert sig.signal_of("rate", 2.5) == sig.RATED_3 and sig.signal_of("rate", 0.5) == sig.RATED_LOW
    assert sig.signal_of("rate", None) == sig.INTERACTED and sig.signal_of("not_interested", None) is None


def test_leave_one_out_holds_out_the_last_two_chosen_items():
    """Test target is the last positive entry, validation the one before; low ratings and
    views stay in the histories before them, and nothing after the test item is kept."""
    rows = _rows("u", range(5))
    data = build_sequences(rows)
    split = leave_one_out(data)
    assert split.train[0].items == (1, 2, 3)
    assert split.valid[0] == (History.of((1, 2, 3)), 4)
    assert split.test[0] == (History.of((1, 2, 3, 4)), 5)
    mixed = build_sequences([("v", "a", 1, "rate", 5.0), ("v", "b", 2, "view", None),
                             ("v", "c", 3, "rate", 4.0), ("v", "d", 4, "rate", 1.0),
                             ("v", "e", 5, "rate", 4.0), ("v", "f", 6, "view", None)])
    s = leave_one_out(mixed)
    ids = mixed.item_map.index()
    assert s.valid[0][1] == ids["c"] and s.test[0][1] == ids["e"]
    assert s.test[0][0].items == (ids["a"], ids["b"], ids["c"], ids["d"])
    assert s.test[0][0].signals == (sig.RATED_5, sig.VIEWED, sig.RATED_4, sig.RATED_LOW)


def test_pad_left_truncates_to_most_recent():
    """Keep the last max_len items, pad zeros on the left."""
    assert pad_left([[1, 2, 3, 4], [5]], 3).tolist() == [[2, 3, 4], [0, 0, 5]]


def test_batches_depend_only_on_seed_and_epoch_and_never_target_a_dislike():
    """Targets are inputs shifted by one, except that a low rating or a view is never a
    target; the same (seed, epoch) gives the same batches."""
    train = []
    for n in range(4, 30):
        signals = tuple(sig.RATED_LOW if i % 3 == 0 else sig.VIEWED if i % 5 == 0 else sig.RATED_4
                        for i in range(1, n))
        train.append(History(tuple(range(1, n)), signals))
    a = list(training_batches(train, max_len=5, batch_size=4, seed=1, epoch=2))
    b = list(training_batches(train, max_len=5, batch_size=4, seed=1, epoch=2))
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[2], y[2]) for x, y in zip(a, b))
    for items, signals, targets in a:
        real = (items[:, 1:] != 0) & (items[:, :-1] != 0)
        shifted = targets[:, :-1][real]
        nxt, nxt_sig = items[:, 1:][real], signals[:, 1:][real]
        positive = torch.tensor([int(s) in sig.POSITIVE for s in nxt_sig])
        assert torch.equal(shifted[positive], nxt[positive])
        assert (shifted[~positive] == 0).all()
    assert sum(len(x[0]) for x in a) == len(train)
