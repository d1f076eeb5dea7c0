"""Sequences, leave-one-out split and batches."""

import torch

from recommender.ml.data import build_sequences, leave_one_out, pad_left, training_batches


def test_sequences_are_stable_sorted_by_time_and_short_people_dropped():
    """Order follows the key; ties keep input order; people under 3 items are dropped."""
    rows = [("a", "x", 3), ("a", "y", 1), ("a", "z", 1), ("a", "w", 2), ("b", "x", 1)]
    data = build_sequences(rows, item_genres={"x": ["Drama"], "y": ["Comedy", "Drama"]})
    assert data.users == ("a",)
    ids = data.item_map.index()
    assert data.sequences[0] == (ids["y"], ids["z"], ids["w"], ids["x"])
    assert data.item_features.shape == (5, 2)
    assert data.item_features[ids["y"]].tolist() == [1.0, 1.0]


def test_leave_one_out_uses_the_last_two_items():
    """Test target is the last item, validation the second-last."""
    data = build_sequences([("u", str(i), None) for i in range(5)])
    split = leave_one_out(data)
    assert split.train[0] == (1, 2, 3)
    assert split.valid[0] == ((1, 2, 3), 4)
    assert split.test[0] == ((1, 2, 3, 4), 5)


def test_pad_left_truncates_to_most_recent():
    """Keep the last max_len items, pad zeros on the left."""
    assert pad_left([[1, 2, 3, 4], [5]], 3).tolist() == [[2, 3, 4], [0, 0, 5]]


def test_batches_depend_only_on_seed_and_epoch():
    """Targets are inputs shifted by one; the same (seed, epoch) gives the same batches."""
    train = [tuple(range(1, n)) for n in range(4, 30)]
    a = list(training_batches(train, max_len=5, batch_size=4, seed=1, epoch=2))
    b = list(training_batches(train, max_len=5, batch_size=4, seed=1, epoch=2))
    assert all(torch.equal(x[0], y[0]) for x, y in zip(a, b))
    seq, tgt = a[0]
    real = seq != 0
    assert torch.equal(seq[:, 1:][real[:, 1:]], tgt[:, :-1][real[:, 1:]])
    assert sum(len(x[0]) for x in a) == len(train)


def test_earlier_windows_are_consecutive_items_of_long_histories_only():
    """With earlier_window_p=1 every long history gives a consecutive window that ends before
    its last item; short histories are trained whole as before; windows repeat per epoch."""
    train = [tuple(range(100 * p + 1, 100 * p + n)) for p, n in enumerate(range(3, 40))]
    last = {s[-1] for s in train}
    rows = []
    for seq, tgt in training_batches(train, max_len=6, batch_size=4, seed=3, epoch=1,
                                     earlier_window_p=1.0):
        for x, y in zip(seq.tolist(), tgt.tolist()):
            rows.append([v for v in x if v] + [y[-1]])
    assert len(rows) == len(train)
    by_person = {r[0] // 100: r for r in rows}
    for p, s in enumerate(train):
        r = by_person[p]
        assert r == list(range(r[0], r[0] + len(r)))  # consecutive items of that person
        if len(s) > 7:
            assert len(r) == 7 and r[-1] not in last  # a full window, not the latest one
        else:
            assert r == list(s)
    first = list(training_batches(train, max_len=6, batch_size=4, seed=3, epoch=1,
                                  earlier_window_p=1.0))
    again = list(training_batches(train, max_len=6, batch_size=4, seed=3, epoch=1,
                                  earlier_window_p=1.0))
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(first, again))
