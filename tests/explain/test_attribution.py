"""Attribution maths on hand-checkable models."""
import pytest
import torch

from explain.attribution import (
    AttributionConfig, attention_rollout, explain_history, kendall_tau, reason_units, top_units,
)
from recommender.ml import signals as sig
from recommender.ml.data import History, batch_of
from recommender.ml.model import ModelConfig, Recommender

from .fakes import deciding_model

HISTORY = History.of([1, 2, 3, 4])
CFG = AttributionConfig(top_k=2, random_draws=10, seed=1, ks=(1, 3, 5))  # every k the code supports


def explain_item5():
    model = deciding_model()
    person = explain_history(model, HISTORY, [5, 6], exclude=HISTORY.items, config=CFG)
    return person, person.items[0]


def test_weights_and_terms_add_up():
    """Head weights, their mean and the rollout each sum to 1 over the history; the score
    is the part no entry owns plus the entries' terms."""
    _person, item = explain_item5()
    assert sum(item.weights) == pytest.approx(1.0)
    assert all(sum(h) == pytest.approx(1.0) for h in item.head)
    assert sum(item.rollout) == pytest.approx(1.0)
    assert item.rest + sum(item.terms) == pytest.approx(item.score)


def test_one_deciding_item_is_named_by_weights_loo_and_counterfactual():
    """Item 1 alone decides item 5's score: every method names it."""
    person, item = explain_item5()
    unit_of_1 = person.history.index(1)
    assert item.rank == 1
    assert top_units(item.weights, 1) == [unit_of_1]
    assert top_units(item.loo_delta, 1) == [unit_of_1]
    assert item.loo_rank[unit_of_1] > 2
    assert item.counterfactual["found"] and item.counterfactual["removed"] == [unit_of_1]
    assert item.counterfactual["replacement"] == 7  # the best item outside the top 2
    assert item.reason == {"units": [unit_of_1], "basis": "weights"}


def test_faithfulness_beats_random_and_agrees_with_loo():
    """Removing the top-weighted item drops the score more than random removal."""
    _person, item = explain_item5()
    f = item.faithfulness
    assert f["comprehensiveness_at_3"] > f["random_at_3"]
    assert f["loo_at_1"] == pytest.approx(f["comprehensiveness_at_1"])
    assert f["verified"] is True
    assert f["top3_overlap"] == 1.0
    assert f["rank_after_head_at_1"] > f["rank_after_random_at_1"] or f["rank_after_head_at_1"] > 2


def test_a_new_persons_boost_is_its_own_term_held_in_every_removal():
    """A boost that fades with each entry added would rise with each one removed: the
    removals hold it at the whole history's, so what they measure is the model's alone, and
    the explanation gives the boost, and the rank the item would have without it, apart."""
    plain = explain_item5()[1]
    model = deciding_model()
    model.boost = torch.zeros(9)
    model.boost[7] = 1.0  # item 7 is of the new person's genre: 0.6 after four entries
    person = explain_history(model, HISTORY, [5, 7], exclude=HISTORY.items, config=CFG)
    five, seven = person.items
    assert seven.rank == 2 and seven.boost == pytest.approx(0.6) and seven.rank_without_boost == 3
    assert seven.rest + seven.boost + sum(seven.terms) == pytest.approx(seven.score)
    assert five.boost == 0 and five.rank == 1 and five.rank_without_boost is None
    # held: each removal changes item 5's score as it does without any boost
    assert five.loo_delta == pytest.approx(plain.loo_delta)
    assert five.contribution == pytest.approx(plain.contribution)
    assert five.reason == plain.reason
    # counted again, removing any entry would raise item 7's boost (to 0.7): held, none does
    assert all(d == pytest.approx(0.0) for d in seven.loo_delta)


def heavy_weights_on_worthless_items():
    """Item 5's attention goes to items 2, 4 and 6, which add nothing; the little weight on
    item 3 carries its score."""
    model = deciding_model()
    model.query[5, 1] = 0.0
    model.query[5, 2], model.query[5, 4], model.query[5, 6] = 6.0, 5.0, 4.0  # worthless items
    model.value[5, 1] = 0.0
    model.value[5, 3] = 200.0
    return model


def test_contributions_find_what_carries_the_score_where_weights_alone_do_not():
    """The shown items are the head's top contributions (weight x value above the average):
    they name item 3, where the three heaviest weights do no better than random removal."""
    model = heavy_weights_on_worthless_items()
    history = [1, 2, 3, 4, 6, 7, 8]
    person = explain_history(model, History.of(history), [5], exclude=history, config=CFG)
    item, unit_of_3 = person.items[0], person.history.index(3)
    f = item.faithfulness
    assert top_units(item.contribution, 1) == [unit_of_3]
    assert sum(item.contribution) == pytest.approx(0.0, abs=1e-4)
    assert f["weights_at_3"] <= f["random_at_3"] < f["comprehensiveness_at_3"]
    assert f["verified"] is True
    assert item.reason == {"units": [unit_of_3], "basis": "weights"}


def test_unverified_when_the_reported_contributions_miss_what_removal_shows():
    """An attribution that removal contradicts is not presented; the reason falls back to LOO."""
    model = heavy_weights_on_worthless_items()
    model.reported_value = torch.zeros_like(model.value)
    model.reported_value[5, 2], model.reported_value[5, 4], model.reported_value[5, 6] = 9.0, 8.0, 7.0
    history = [1, 2, 3, 4, 6, 7, 8]
    person = explain_history(model, History.of(history), [5], exclude=history, config=CFG)
    item = person.items[0]
    assert item.faithfulness["verified"] is False
    assert item.reason == {"units": [person.history.index(3)], "basis": "leave_one_out"}


def test_kendall_tau_known_values():
    """Identical order gives 1, reversed gives -1, constant gives 0."""
    assert kendall_tau([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert kendall_tau([1, 1, 1], [1, 2, 3]) == 0.0


def test_rollout_rows_sum_to_one():
    """Rollout of random row-stochastic attention stays row-stochastic."""
    layers = [torch.rand(2, 3, 5, 5).softmax(-1) for _ in range(2)]
    roll = attention_rollout(layers)
    assert roll.shape == (2, 5, 5)
    assert torch.allclose(roll.sum(-1), torch.ones(2, 5))


def _real_model(**kw):
    torch.manual_seed(0)
    model = Recommender(ModelConfig(n_items=40, max_len=12, d_model=16, n_layers=2, dropout=0.0,
                                    candidates=10, **kw))
    model.learn_signals(sig.POSITIVE | sig.NEGATIVE)
    return model.eval()


def _top(model, history, k):
    mask = torch.zeros(1, model.cfg.n_items + 1, dtype=torch.bool)
    mask[0, list(history.items)] = True
    items, signals = batch_of([history], model.cfg.max_len)
    return model.full_sort_predict(items, signals, exclude=mask)[0].topk(k).indices.tolist()


MIXED = History((3, 7, 12, 5, 9, 30, 21, 14), (sig.RATED_5, sig.VIEWED, sig.RATED_4, sig.RATED_LOW,
                                                sig.RATED_5, sig.RATED_3, sig.VIEWED, sig.RATED_4))


@pytest.mark.parametrize("summary", ["readout", "state"])
def test_real_recommender_explains_its_own_top_items(summary):
    """On a tiny real model the explained ranks and scores are the full-ranking ones, and
    the score splits into the entries' terms (and the state summary's own term)."""
    model = _real_model(summary=summary)
    top = _top(model, MIXED, 3)
    person = explain_history(model, MIXED, top, exclude=MIXED.items)
    assert [e.rank for e in person.items] == [1, 2, 3]
    assert person.top[:3] == top
    assert len(person.history) == 8 and all(len(e.loo_rank) == 8 for e in person.items)
    for e in person.items:
        assert e.rest + sum(e.terms) == pytest.approx(e.score, abs=1e-4)


def test_continued_prefixes_explain_exactly_as_whole_re_rankings():
    """Removal experiments that encode only the entries after the first removed one (the
    history's cached states before it) give what re-ranking every variant from scratch
    gives: same ranks, counterfactuals and (to float error) score drops."""
    model = _real_model()
    top = _top(model, MIXED, 4)
    cfg = AttributionConfig(top_k=4)
    fast = explain_history(model, MIXED, top, exclude=MIXED.items, config=cfg)
    # chunk 1: every variant continues the prefix from its own first removed entry; the
    # whole history is never shared across variants, so nothing but the cache is reused
    slow = explain_history(model, MIXED, top, exclude=MIXED.items,
                           config=AttributionConfig(top_k=4, chunk=1))
    assert fast.top == slow.top
    for a, b in zip(fast.items, slow.items, strict=True):
        assert (a.rank, a.loo_rank, a.counterfactual) == (b.rank, b.loo_rank, b.counterfactual)
        assert a.loo_delta == pytest.approx(b.loo_delta, abs=1e-4)
        assert a.faithfulness == pytest.approx(b.faithfulness, abs=1e-4)
    # and against a plain full re-ranking of each one-entry removal, the entries left
    # keeping their places in time (the whole history's clock)
    mask = torch.zeros(1, 41, dtype=torch.bool)
    mask[0, list(MIXED.items)] = True
    order, now = model.clock(*batch_of([MIXED], 12))
    for u in range(len(MIXED)):
        keep = [j for j in range(len(MIXED)) if j != u]
        variant = History(tuple(MIXED.items[j] for j in keep), tuple(MIXED.signals[j] for j in keep))
        items, signals = batch_of([variant], 12)
        with torch.no_grad():
            full = model.full_sort_predict(items, signals, exclude=mask, clock=(order[:, keep], now))[0]
        for e in fast.items:
            assert e.loo_rank[u] == 1 + int((full > full[e.item]).sum())
            assert e.loo_delta[u] == pytest.approx(e.score - float(full[e.item]), abs=1e-4)


def test_a_removal_keeps_the_other_entries_places_in_time():
    """Removing an entry leaves the recency and positions of the entries before it as they
    were (as real timestamps would), so what changes is that entry's own part; re-counting
    them instead gives other scores."""
    model = _real_model()
    with torch.no_grad():  # make recency matter
        model.head.recency.weight.normal_(0, 1.0)
        model.readout.recency.weight.normal_(0, 1.0)
        model.pos_emb.weight.normal_(0, 1.0)
    items, signals = batch_of([MIXED], 12)
    order, now = model.clock(items, signals)
    keep = [j for j in range(len(MIXED)) if j != 4]  # a film rated 5 stars, in the middle
    with torch.no_grad():
        with_clock = model.full_sort_predict(items[:, keep], signals[:, keep], clock=(order[:, keep], now))
        recounted = model.full_sort_predict(items[:, keep], signals[:, keep])
    assert not torch.allclose(with_clock, recounted, atol=1e-3)
    assert torch.equal(model.clock(items[:, keep], signals[:, keep])[0][0, :4], order[0, :4])


def test_a_low_rating_is_never_a_reason():
    """Whatever its numbers, an entry rated 2 stars or less is never named for an item."""
    signals = [sig.RATED_LOW, sig.RATED_4, sig.RATED_4]
    assert reason_units([5.0, 1.0, 0.1], [5.0, 1.0, 0.1], signals, True) == {"units": [1], "basis": "weights"}
    assert reason_units([5.0, 0.0, 0.0], [5.0, -1.0, 0.0], signals, False) == {"units": [], "basis": "summary"}


def test_a_reason_names_only_items_that_mattered():
    """Verified: the top contributors that removal confirms, none under a fifth of the first;
    unverified: the leave-one-out leaders."""
    ok = [sig.RATED_4] * 3
    assert reason_units([1.0, 0.1, 0.5], [1.0, 1.0, 1.0], ok, True) == {"units": [0, 2], "basis": "weights"}
    assert reason_units([1.0, 0.19, -0.2], [1.0, 1.0, 1.0], ok, True) == {"units": [0], "basis": "weights"}
    assert reason_units([1.0, 0.9, 0.5], [-0.1, 0.2, 0.3], ok, True) == {"units": [1, 2], "basis": "weights"}
    assert reason_units([1.0, 0.9, 0.5], [0.1, 0.2, 0.3], ok, False) == {"units": [2, 1], "basis": "leave_one_out"}


def test_by_default_only_the_checked_size_is_measured():
    """The default measures comprehensiveness at 3, what pages check and the API reports."""
    person = explain_history(deciding_model(), HISTORY, [5, 6], exclude=HISTORY.items,
                             config=AttributionConfig(top_k=2))
    keys = set(person.items[0].faithfulness)
    assert {"comprehensiveness_at_3", "random_at_3", "loo_at_3", "verified"} <= keys
    assert not any(k.endswith(("_at_1", "_at_5")) for k in keys)


def test_a_page_view_is_the_reason_for_one_recommendation_at_most():
    """One glance drives two recommendations: it is named in the reason where it counts
    most, and the other reason names what else counts for that item; a rating that drives
    two recommendations is named in both; and where nothing else counts, the glance is named
    rather than "no single item"."""
    from .fakes import BagModel

    def person(values, first):
        n = 8
        query, value = torch.zeros(n + 1, n + 1), torch.zeros(n + 1, n + 1)
        for cand, item, v in values:
            query[cand, item], value[cand, item] = 2.0, v
        model = BagModel([0.8, 0.7, 0.6, 0.5, 0.1, 0.1, 0.4, 0.35], query, value)
        history = History((1, 2, 3, 4), (first, sig.RATED_5, sig.RATED_5, sig.RATED_5))
        return explain_history(model, history, [5, 6], exclude=history.items, config=CFG).items

    both = ((5, 1, 10.0), (6, 1, 9.0), (6, 2, 8.0), (5, 3, 3.0))
    five, six = person(both, sig.VIEWED)
    assert 0 in five.reason["units"] and 0 not in six.reason["units"]
    assert 1 in six.reason["units"]  # item 2, which counts for item 6 too
    five, six = person(both, sig.RATED_5)
    assert 0 in five.reason["units"] and 0 in six.reason["units"]
    only = ((5, 1, 10.0), (6, 1, 8.0), (6, 2, 3.0), (5, 3, 3.0))  # item 2 only dilutes item 6
    five, six = person(only, sig.VIEWED)
    assert 0 in five.reason["units"] and six.reason["units"] == [0]


def test_an_item_added_after_training_is_explained_like_the_others():
    """A model that knows items added after training by their text ranks them among the
    rest; explaining one of them re-ranks the whole catalogue, added items included."""
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=20, max_len=8, d_model=16, n_heads=2, head_heads=2, dropout=0.0, candidates=10,
                      text_dim=6)
    model = Recommender(cfg)
    model.set_text(torch.randn(21, 6))
    model.eval()
    model.extend_items(torch.randn(2, 6))  # items 21 and 22
    history = History.of([1, 2, 3, 4])
    person = explain_history(model, history, [21, 5], exclude=history.items, config=AttributionConfig())
    full = model.full_sort_predict(torch.tensor([history.items]), torch.tensor([history.signals]))
    full[0, list(history.items)] = float("-inf")
    for e in person.items:
        assert e.rank == 1 + int((full[0] > full[0, e.item]).sum())
