"""Model invariants: what reaches the summary, the score as a sum of item terms, removal.

One test file per module (recommender/ml/model.py, itself long on purpose), so longer than
~400 lines: each invariant of the score and its explanation has its own test."""


import pytest
import torch

from recommender.ml import signals as sig
from recommender.ml.data import History, batch_of
from recommender.ml.evaluate import evaluate_model
from recommender.ml.model import ModelConfig, Recommender
from recommender.ml.scorer import Scorer, model_history
from recommender.ml.train import Trainer, TrainConfig

SUMMARIES = ["readout", "state"]
R5, R4, LOW, VIEW = sig.RATED_5, sig.RATED_4, sig.RATED_LOW, sig.VIEWED


def _model(**kw) -> Recommender:
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=20, max_len=8, d_model=16, n_heads=2, head_heads=2,
                      dropout=0.0, candidates=10, **kw)
    model = Recommender(cfg)
    model.learn_signals(sig.POSITIVE | sig.NEGATIVE)  # as if the data held them all
    if cfg.n_genres:  # items 1-10 of genre 0, 11-20 of genre 1, every third also of genre 2
        genres = torch.zeros(21, cfg.n_genres)
        genres[1:11, 0] = genres[11:, 1] = 1.0
        genres[3::3, 2] = 1.0
        model.set_genres(genres)
    with torch.no_grad():  # a trained-looking head: values of both signs, varied weights
        for p in model.head.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.5)
    return model.eval()


def _t(*rows):
    return torch.tensor(list(rows))


@pytest.mark.parametrize("summary", SUMMARIES)
def test_the_summary_reads_only_chosen_entries(summary):
    """A view or a low rating anywhere in the history leaves the taste summary exactly as
    it was; another rating changes it."""
    model = _model(summary=summary)
    items, signals = _t([3, 4, 5, 6]), _t([R5, R4, R5, R4])
    base = model.summarize(items, signals)
    for pos in range(5):
        for extra in (VIEW, LOW):
            i = torch.cat([items[:, :pos], _t([11]), items[:, pos:]], dim=1)
            s = torch.cat([signals[:, :pos], _t([extra]), signals[:, pos:]], dim=1)
            assert torch.allclose(model.summarize(i, s), base, atol=1e-6)
    assert not torch.allclose(model.summarize(_t([3, 4, 5, 6, 11]), _t([R5, R4, R5, R4, R5])), base)


def test_the_encoder_is_causal():
    """Changing a later entry never changes the encoder's output at earlier positions."""
    model = _model()
    a, s = _t([0, 0, 3, 4, 5, 6, 7, 8]), _t([0, 0, R5, R5, R4, R5, R4, R5])
    b = a.clone()
    b[0, 5] = 19
    ha = model._encode(a, s)[0]
    hb = model._encode(b, s)[0]
    assert torch.allclose(ha[:, :5], hb[:, :5], atol=1e-6)
    assert not torch.allclose(ha[:, 5:], hb[:, 5:])


@pytest.mark.parametrize("summary", SUMMARIES)
def test_continuing_an_encoded_prefix_ranks_as_encoding_the_whole_history(summary):
    """Histories that share a person's first entries (the history with entries removed)
    rank every item exactly as full_sort_predict does when only their entries after the
    shared ones go through the encoder, attending to the cached keys and values."""
    model = _model(summary=summary)
    h = History((3, 4, 5, 6, 7, 8, 9, 10), (R5, VIEW, R4, LOW, R5, R5, VIEW, R4))
    prefix = model.encode_prefix(_t(list(h.items)), _t(list(h.signals)))
    keep = 3
    variants = [History(h.items[:3] + h.items[4:], h.signals[:3] + h.signals[4:]),
                History(h.items[:3] + h.items[5:6], h.signals[:3] + h.signals[5:6]),
                h[:3], h]
    exclude = torch.zeros(4, 21, dtype=torch.bool)
    exclude[:, list(h.items)] = True
    items, signals = batch_of(variants, 8)
    whole = model.full_sort_predict(items, signals, exclude=exclude)
    tail_i, tail_s = batch_of([v[keep:] for v in variants], 8)
    state = model.state_continued(prefix, keep, tail_i, tail_s)
    S, _ = model.summary_of(state, items, signals)
    continued = model.rank(S, items, signals, exclude=exclude)
    assert torch.allclose(whole, continued, atol=1e-5)
    # each row may continue a prefix of its own length (its first removed entry)
    own = torch.tensor([3, 3, 3, 8])
    tail_i, tail_s = batch_of([v[int(k):] for v, k in zip(variants, own)], 8)
    state = model.state_continued(prefix, own, tail_i, tail_s)
    S, _ = model.summary_of(state, items, signals)
    assert torch.allclose(whole, model.rank(S, items, signals, exclude=exclude), atol=1e-5)


@pytest.mark.parametrize("summary,kw", [("readout", {}), ("state", {}), ("readout", {"n_genres": 3})])
def test_entry_tables_score_a_history_made_of_some_entries_as_scoring_it_directly(summary, kw):
    """What each entry gives, computed once for the whole history (``entry_tables``), scores
    histories made of some of its entries (each in its place in time) exactly as scoring
    them directly does: the readout's summary, the head's weights and values over views and
    a low rating, and a new person's lift."""
    model = _model(summary=summary, **kw)
    h = History((3, 4, 5, 6, 7, 8, 9), (R5, VIEW, R4, LOW, R5, R5, VIEW))
    whole_i, whole_s = _t(list(h.items)), _t(list(h.signals))
    order, now = model.clock(whole_i, whole_s)
    tables = model.entry_tables(whole_i, whole_s)
    kept = [[0, 1, 2, 4, 5, 6], [2, 3, 6], [0, 1, 2, 3, 4, 5, 6]]
    items, signals = batch_of([History(tuple(h.items[u] for u in k), tuple(h.signals[u] for u in k))
                               for k in kept], 8)
    L = items.shape[1]
    clock = (torch.stack([torch.cat([torch.zeros(L - len(k), dtype=torch.long), order[0, k]]) for k in kept]),
             now.expand(len(kept)))
    rows = torch.stack([torch.cat([torch.zeros(L - len(k), dtype=torch.long), torch.tensor(k) + 1]) for k in kept])
    state = model.summarize(items, signals, clock=clock) if summary == "state" else torch.randn(len(kept), 16)
    S, b = model.summary_of(state, items, signals, clock=clock)
    S_t, b_t = model.summary_of(state, items, signals, clock=clock, tables=tables.at(rows))
    assert torch.allclose(S, S_t, atol=1e-5)
    cand = _t([1, 2, 11, 12, 13], [11, 14, 15, 16, 20], [1, 2, 10, 19, 20])
    direct = model.head_scores(S, items, signals, cand, clock=clock)
    read = model.head_scores(S, items, signals, cand, clock=clock, tables=tables.at(rows))
    for a, c in zip(direct[:5], read[:5], strict=True):
        assert torch.allclose(a, c, atol=1e-5)
    assert (direct[5] is None) == (read[5] is None) == (not kw)


@pytest.mark.parametrize("summary,kw", [("readout", {}), ("state", {}),
                                        ("readout", {"readout_heads": 4, "readout_norm": "none"}),
                                        ("readout", {"readout_heads": 2, "readout_norm": "layer"}),
                                        ("readout", {"n_genres": 3})])
def test_the_score_is_the_sum_of_its_terms_and_the_ranking_score(summary, kw):
    """explain's scores are the scores items are ranked by, and they split exactly into
    the entries' terms, what no entry owns (with the plain state summary, the summary's own
    term) and a new person's genre boost (with genres: four choices here)."""
    model = _model(summary=summary, **kw)
    items, signals = _t([0, 0, 3, 4, 5, 6, 7, 8]), _t([0, 0, R5, VIEW, R4, LOW, R5, R4])
    full = model.full_sort_predict(items, signals)
    top = full.topk(4).indices
    out = model.explain(items, signals, top)
    assert torch.allclose(out["scores"], full.gather(1, top), atol=1e-5)
    assert torch.allclose(out["scores"], out["rest"] + out["boost"] + out["terms"].sum(-1), atol=1e-4)
    assert bool(out["boost"].any()) == bool(kw.get("n_genres"))
    if summary == "state":
        assert torch.equal(out["rest"], out["summary"])
    else:  # the readout's own bias only: the same for every history
        other = model.explain(_t([0, 0, 0, 0, 9, 12, 13, 14]), _t([0, 0, 0, 0, R5, R5, R5, R5]), top)
        assert torch.allclose(other["rest"], out["rest"])
    assert (out["terms"][..., :2] == 0).all()  # padding has no term


def test_head_weights_share_a_softmax_among_choices_and_gate_the_rest():
    """Choices' weights sum to at most 1 (the null slot holds the rest); a view's weight is
    a gate in (0, 1) of its own; a low rating always counts in full; padding weighs 0."""
    model = _model()
    items, signals = _t([0, 0, 3, 4, 5, 6, 7, 8]), _t([0, 0, R5, VIEW, R4, LOW, R5, R4])
    w = model.explain(items, signals, _t([9, 10, 11]))["head"]  # (1, heads, C, L)
    choice = torch.tensor([False, False, True, False, True, False, True, True])
    assert (w[..., choice].sum(-1) <= 1 + 1e-6).all() and (w[..., choice].sum(-1) > 0).all()
    assert ((w[..., 3] > 0) & (w[..., 3] < 1)).all()
    assert (w[..., 5] == 1).all()
    assert (w[..., :2] == 0).all()


@pytest.mark.parametrize("summary", SUMMARIES)
def test_removing_a_view_or_a_low_rating_takes_away_exactly_its_term(summary):
    """Such an entry reaches neither the summary nor anyone's recency, so removing it
    changes every candidate's score by exactly that entry's term."""
    model = _model(summary=summary)
    items, signals = _t([3, 4, 5, 6, 7, 8]), _t([R5, VIEW, R4, LOW, R5, R4])
    cand = _t([9, 10, 11, 12])
    out = model.explain(items, signals, cand)
    for j in (1, 3):
        keep = [u for u in range(6) if u != j]
        after = model.explain(items[:, keep], signals[:, keep], cand)["scores"]
        assert torch.allclose(out["scores"] - after, out["terms"][..., j], atol=1e-5)


def test_a_low_rating_never_raises_a_score_and_its_value_is_never_positive():
    """Adding a 1-star rating to any history can only lower items' scores."""
    model = _model()
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        n = int(torch.randint(2, 7, (1,), generator=g))
        hist = torch.randperm(19, generator=g)[:n] + 1
        items = hist[None, :-1]
        signals = torch.full_like(items, R4)
        cand = (torch.randperm(20, generator=g)[:6] + 1)[None]
        before = model.explain(items, signals, cand)["scores"]
        with_low = model.explain(torch.cat([items, hist[None, -1:]], 1),
                                 torch.cat([signals, _t([LOW])], 1), cand)
        assert (with_low["scores"] <= before + 1e-6).all()
        assert (with_low["terms"][..., -1] <= 1e-7).all()


def test_a_view_counts_a_quarter_of_a_choice_by_policy():
    """Unlearned, a view reads its stand-in's embedding (a plain interaction) with the
    policy strength 0.25: its value is a quarter of the same entry read as a choice."""
    model = _model()
    head = model.head
    assert float(head.strengths()[VIEW].detach()) == pytest.approx(0.25)
    E = model.item_vectors()
    cand = E[_t([9, 10])].unsqueeze(1)  # (1, 1, C, d)
    hist = _t([3, 4])
    allowed = torch.ones(1, 1, 2, dtype=torch.bool)
    dist = torch.zeros(1, 1, 2, dtype=torch.long)

    def values(signals):
        s = _t(signals)
        return head(cand, E[hist], s, model.signal_map[s], allowed, dist)[2]

    as_view, as_choice = values([sig.INTERACTED, VIEW]), values([sig.INTERACTED, sig.INTERACTED])
    assert torch.allclose(as_view[..., 1], 0.25 * as_choice[..., 1], atol=1e-6)


def test_a_low_rating_pushes_down_by_policy_what_resembles_it():
    """A low rating's term is -2 x the cosine of the candidate's and its item's vectors
    where that is positive (0 otherwise), whatever the model learned: an item just like it
    loses 2, an unrelated one nothing."""
    model = _model()
    head = model.head
    assert not bool(head.learned[LOW]) and float(head.strengths()[LOW].detach()) == 2.0
    E = model.item_vectors()
    cand_items = _t([9, 10, 11, 3])
    hist = _t([5, 3])
    out = model.explain(hist, _t([R5, LOW]), cand_items)
    cos = torch.nn.functional.cosine_similarity(E[cand_items[0]], E[3].unsqueeze(0), dim=-1)
    assert torch.allclose(out["terms"][0, :, 1], -2.0 * cos.clamp(min=0), atol=1e-5)
    assert float(out["terms"][0, 3, 1].detach()) == pytest.approx(-2.0, abs=1e-5)  # the item itself
    assert (out["contributions"][0, :, 1] == out["terms"][0, :, 1]).all()


def test_training_leaves_low_ratings_out_of_the_head():
    """The training loss does not depend on how hard low ratings push: their term is a
    policy the model does not learn around."""
    model = _model()
    model.train()
    items, signals, targets = _t([0, 3, 4, 5, 6]), _t([0, R5, R4, LOW, R5]), _t([0, 4, 0, 6, 7])
    losses = []
    for push in (2.0, 50.0):
        model.head.policy[LOW] = push
        torch.manual_seed(3)
        losses.append(model.calculate_loss(items, signals, targets))
    assert torch.allclose(losses[0], losses[1])
    with torch.no_grad():  # it does act in serving
        assert float(model.eval().explain(items, signals, _t([4]))["terms"][0, 0, 3]) < -1.0


def test_removing_a_choice_lowers_the_head_by_its_contribution_over_one_minus_its_weight():
    """With the summary held, removing a choice lowers head h's term by contribution /
    (1 - a_j): the others, null slot included, take back its weight."""
    model = _model()
    head = model.head
    E = model.item_vectors()
    hist, signals = _t([3, 4, 5, 6]), _t([R5, R4, R5, VIEW])
    cand = E[_t([9, 10, 11])].unsqueeze(1)
    dist = model._distance(hist, signals).unsqueeze(1)
    eff = model.signal_map[signals]

    def per_head(allowed):
        _, att, values = head(cand, E[hist], signals, eff, allowed, dist)
        return (att * values).sum(-1)[:, :, 0], att[:, :, 0], values[:, :, 0]  # (1, nh, C)...

    full, att, values = per_head(torch.ones(1, 1, 4, dtype=torch.bool))
    shared = torch.tensor([True, True, True, False])
    avg = (att * values * shared).sum(-1, keepdim=True)
    for j in range(3):
        allowed = torch.ones(1, 1, 4, dtype=torch.bool)
        allowed[..., j] = False
        drop = full - per_head(allowed)[0]
        c = att[..., j] * (values[..., j] - avg[..., 0])
        assert torch.allclose(drop, c / (1 - att[..., j]), atol=1e-5)


def test_uniform_ablation_changes_scores():
    """Equal weights wherever the model attends over items give different scores."""
    model = _model()
    items, signals = _t([0, 0, 3, 4, 5, 6, 7, 8]), _t([0, 0, R5, R5, R4, R5, R4, R5])
    assert not torch.allclose(model.full_sort_predict(items, signals),
                              model.full_sort_predict(items, signals, uniform=True))


def test_cold_start_reads_views_as_interactions_until_a_first_choice():
    """Someone who has only opened pages is known by those; once they rate something 3
    stars or more, views are weak evidence again. Low ratings never stand in."""
    only_views = model_history([(3, VIEW), (4, sig.CLICKED), (5, LOW)])
    assert only_views.signals == (sig.INTERACTED, sig.INTERACTED, LOW)
    with_choice = model_history([(3, VIEW), (4, R4)])
    assert with_choice.signals == (VIEW, R4)


def test_someone_with_only_low_ratings_gets_no_personal_list():
    """Nothing the model can read as a choice: no ranking, not a list driven by dislikes."""
    scorer = Scorer(_model(), [f"i{k}" for k in range(1, 21)])
    assert scorer.recommend([("i3", LOW), ("i4", LOW)], 5) == []
    assert len(scorer.recommend([("i3", LOW), ("i4", R5)], 5)) == 5


def test_learns_the_successor_rule_quickly(successor_data):
    """Item n followed by n+1: HR@10 >= 0.9 on the test split within 25 epochs."""
    cfg = ModelConfig(n_items=successor_data.n_items, max_len=12, d_model=32, dropout=0.0,
                      candidates=10)
    trainer = Trainer(successor_data, cfg, TrainConfig(lr=5e-3, batch_size=32, max_epochs=25,
                                                       time_budget_s=0.0))
    state = trainer.fit()
    metrics = evaluate_model(state.best_model(), trainer.split.test)
    assert metrics["hr@10"] >= 0.9, metrics
    assert state.epoch <= 25


def test_head_trains_on_candidates_outside_the_history():
    """As at inference, the head never learns on the items already in the history."""
    model = _model().train()
    seen = []
    forward = model.head.forward

    def record(cand, E_hist, signals, eff, allowed, dist, **kw):
        seen.append((cand.detach(), allowed))
        return forward(cand, E_hist, signals, eff, allowed, dist, **kw)

    model.head.forward = record
    items = _t([0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15])
    signals = torch.where(items > 0, R4, 0)
    targets = torch.cat([items[:, 1:], _t([8], [16])], dim=1)
    model.calculate_loss(items, signals, targets)
    cand, allowed = seen[0]  # (B, P, C, d), (B, P, L)
    E = model.item_vectors().detach()
    for b in range(2):
        for p in range(cand.shape[1]):
            history = [i for i, ok in zip(items[b].tolist(), allowed[b, p].tolist()) if i and ok]
            match = (cand[b, p].unsqueeze(1) - E[history].unsqueeze(0)).abs().sum(-1) == 0
            assert not match.any()


@pytest.mark.parametrize("kw", [{}, {"readout_heads": 2}, {"readout_norm": "none"}, {"summary": "state"},
                                {"n_genres": 3}])
def test_contributions_are_the_removal_effects_with_the_encoder_state_held(kw):
    """Each entry's contribution is exactly what removing it takes from the score when the
    encoder's state (the readout's query) and a new person's genre boost are held and the
    other entries keep their places in time; only the encoder's reading of the shorter
    history is left out."""
    model = _model(**kw)
    items, signals = _t([3, 4, 5, 6, 7, 8]), _t([R5, VIEW, R4, LOW, R5, R4])
    cand = _t([9, 10, 11, 12])
    with torch.no_grad():
        out = model.explain(items, signals, cand)
        H, visible, _, _ = model._encode(items, signals)
        state = model._last_read(H, visible)
        order, now = model.clock(items, signals)
        boost = model.new_person_lift(items, signals)
        assert (boost is not None) == bool(kw.get("n_genres"))
        for j in range(6):
            keep = [u for u in range(6) if u != j]
            clock = (order[:, keep], now)
            i, s = items[:, keep], signals[:, keep]
            S, _ = model.summary_of(state, i, s, clock=clock)  # the state summary is the state
            after = model.head_scores(S, i, s, cand, clock=clock, lift=boost)[0]
            assert torch.allclose(out["scores"] - after, out["contributions"][..., j], atol=1e-4), j


def test_a_new_persons_choices_lift_the_genre_they_share_until_the_tenth():
    """With n < NEW_PERSON_CHOICES choices a candidate gains NEW_PERSON_LIFT * (1 - n/N) *
    f ** NEW_PERSON_FOCUS, f the share of choices holding its most widely held genre;
    views and low ratings neither lift nor count; from the tenth choice on nothing is
    added; training and ``lift_off`` leave it out."""
    model = _model(n_genres=3)
    plain = _model()
    with torch.no_grad():
        plain.load_state_dict({k: v for k, v in model.state_dict().items() if k != "genres"})
    cand = _t([2, 12, 3])  # genre 0; genres 1 and 2; genres 0 and 2

    def lift(items, signals):
        with torch.no_grad():
            return (model.explain(items, signals, cand)["scores"] - plain.explain(items, signals, cand)["scores"])[0]

    three = lift(_t([4, 5, 6]), _t([R5, R4, R5]))  # three films of genre 0, one (6) also of genre 2
    strength = sig.NEW_PERSON_LIFT * (1 - 3 / sig.NEW_PERSON_CHOICES)
    # 12 shares only genre 2, which one choice in three holds; 3 is of genre 0, as all are
    assert torch.allclose(three, strength * torch.tensor([1.0, 3.0 ** -sig.NEW_PERSON_FOCUS, 1.0]), atol=1e-5)
    same = lift(_t([4, 9, 5, 6]), _t([R5, VIEW, R4, R5]))  # a view neither lifts nor counts
    assert torch.allclose(same, three, atol=1e-5)
    assert torch.allclose(lift(_t([4, 5, 6, 7]), _t([R5, R4, R5, LOW])), three, atol=1e-5)  # nor a low rating
    ten = _t(list(range(1, 11)))
    assert torch.allclose(lift(ten, torch.full_like(ten, R5)), torch.zeros(3), atol=1e-6)
    with model.lift_off():
        assert torch.allclose(lift(_t([4, 5, 6]), _t([R5, R4, R5])), torch.zeros(3), atol=1e-6)
    assert model.lift  # back on after the block
    model.train()
    assert model.new_person_lift(_t([4, 5, 6]), _t([R5, R4, R5]), cand[None]) is None


def test_a_new_persons_lift_is_a_term_of_its_own():
    """explain's "boost" is the lift of each candidate and no entry's term holds any of it;
    ``new_person_lift`` without candidates gives every item's, column 0 (padding) none."""
    model = _model(n_genres=3)
    items, signals = _t([4, 13, 6, 9]), _t([R5, R4, R5, VIEW])  # genre 0, genre 1, genres 0+2; a view
    cand = _t([2, 12, 3, 11])
    with torch.no_grad():
        out = model.explain(items, signals, cand)
        every = model.new_person_lift(items, signals)
        assert every.shape == (1, 21) and every[0, 0] == 0
        assert torch.allclose(out["boost"], every.gather(1, cand), atol=1e-6)
        assert torch.allclose(out["boost"], model.new_person_lift(items, signals, cand), atol=1e-6)
        with model.lift_off():
            plain = model.explain(items, signals, cand)
        assert torch.allclose(out["scores"] - plain["scores"], out["boost"], atol=1e-5)
        assert torch.allclose(out["terms"], plain["terms"], atol=1e-6)
        assert torch.allclose(out["contributions"], plain["contributions"], atol=1e-6)
        assert not plain["boost"].any()


def test_a_new_persons_lift_takes_part_in_choosing_the_candidates():
    """The lift of every item is ``new_person_lift`` of each as a candidate; the items the
    head scores are the top ``candidates`` by first stage plus lift, so films of the new
    person's genre that the summary alone leaves out are scored (and lifted) too; with the
    lift off the candidates are the first stage's own."""
    model = _model(n_genres=3)
    items, signals = _t([4, 5, 6]), _t([R5, R4, R5])  # three films of genre 0
    every = torch.arange(1, 21).unsqueeze(0)
    with torch.no_grad():
        lift = model.new_person_lift(items, signals)[:, 1:]
        assert torch.allclose(lift, model.new_person_lift(items, signals, every), atol=1e-5)
        first = model.first_stage(model.summarize(items, signals), model.item_vectors())
        C = model.cfg.candidates
        alone = set((first[0].topk(C).indices + 1).tolist())
        chosen = set(((first + lift)[0].topk(C).indices + 1).tolist())
        assert chosen - alone, "the lift should bring in a candidate the summary leaves out"
        assert set(model.full_sort_predict(items, signals)[0].topk(C).indices.tolist()) == chosen
        with model.lift_off():
            assert model.new_person_lift(items, signals) is None
            assert set(model.full_sort_predict(items, signals)[0].topk(C).indices.tolist()) == alone
        ten = _t(list(range(1, 11)))  # from the tenth choice on: nothing lifted
        assert model.new_person_lift(ten, torch.full_like(ten, R5)) is None


def test_an_item_added_after_training_is_ranked_from_its_text():
    """With text vectors, an item the model never saw gets the projection of its text as
    its vector and is ranked with the others; a model without text refuses."""
    torch.manual_seed(0)
    cfg = ModelConfig(n_items=20, max_len=8, d_model=16, n_heads=2, head_heads=2, dropout=0.0,
                      candidates=10, text_dim=6)
    model = Recommender(cfg)
    text = torch.randn(21, 6)
    model.set_text(text)
    model.eval()
    scorer = Scorer(model, [f"i{k}" for k in range(1, 21)])
    assert scorer.extend(["new", "i3"], torch.stack([text[3], text[3]])) == ["new"]
    assert len(scorer.item_ids) == 21 and scorer.index["new"] == 21
    with torch.no_grad():
        assert torch.allclose(model.item_vectors()[21], model.text_proj(text[3]))
        scores = model.full_sort_predict(_t([3, 4, 5]), _t([R5, R5, R5]))
    assert scores.shape == (1, 22) and torch.isfinite(scores[0, 21])
    with pytest.raises(ValueError, match="without text"):
        _model().extend_items(torch.zeros(1, 6))


def test_a_brand_new_item_like_a_persons_history_enters_their_list(tmp_path):
    """Trained on people who keep to one of ten kinds of item, where an item's text says
    its kind: a new item, never interacted with, whose text is of a person's kind enters
    their top 50 of 200 through its text alone."""
    import numpy as np

    from recommender.ml.data import build_sequences

    rng = np.random.default_rng(0)
    kinds = rng.normal(size=(10, 8))
    kind_of = {f"i{k}": k % 10 for k in range(200)}
    rows = []
    for u in range(300):
        kind = u % 10
        pool = [i for i, k in kind_of.items() if k == kind]
        for t, i in enumerate(rng.choice(pool, size=12, replace=False)):
            rows.append((f"u{u}", i, t, "rate", 5.0))
    data = build_sequences(rows)
    text = np.zeros((data.n_items + 1, 8), dtype=np.float32)
    for ext, index in data.item_map.index().items():
        text[index] = kinds[kind_of[ext]] + 0.1 * rng.normal(size=8)
    from dataclasses import replace

    data = replace(data, item_text=text)
    cfg = ModelConfig(n_items=data.n_items, max_len=12, d_model=16, n_layers=1, dropout=0.0,
                      candidates=50, text_dim=8)
    trainer = Trainer(data, cfg, TrainConfig(lr=5e-3, batch_size=32, max_epochs=8, time_budget_s=0.0))
    model = trainer.fit().best_model()
    scorer = Scorer(model, list(data.item_map.external_ids))
    hits = 0
    for kind in range(10):
        person = [(i, R5) for i, k in kind_of.items() if k == kind][:8]
        new = f"new{kind}"
        scorer.extend([new], torch.as_tensor(kinds[kind] + 0.1 * rng.normal(size=8), dtype=torch.float32)[None])
        hits += new in {i for i, _ in scorer.recommend(person, 50)}
    assert hits >= 8, hits


def test_the_encoder_state_is_also_trained_to_score_the_next_item():
    """With the readout, the training loss adds the encoder state's own next-item
    cross-entropy (on a random quarter of the positions), which gives the encoder gradients
    beyond the readout's weights; without it (weight 0) the loss is the readout's alone."""
    items = torch.arange(1, 9).repeat(4, 1)
    signals = torch.full_like(items, R5)
    targets = torch.cat([items[:, 1:], torch.zeros(4, 1, dtype=torch.long)], dim=1)
    losses, grads = [], []
    for weight in (0.0, 1.0):
        model = _model(state_loss_weight=weight, head_loss_weight=0.0).train()
        torch.manual_seed(5)
        loss = model.calculate_loss(items, signals, targets)
        loss.backward()
        losses.append(float(loss.detach()))
        grads.append(model.ln_f.weight.grad.clone())
    assert losses[1] > losses[0]
    assert not torch.allclose(grads[0], grads[1])
