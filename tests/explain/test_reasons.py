"""Reason sentences: what the person did, in English and Chinese, second and third person."""
from django.utils import translation

from explain import reasons
from recommender.ml import signals as sig


def test_each_signal_has_its_own_verb():
    """A rating says its stars, a like is a like, a view is a page view; unknown stars are "rated"."""
    assert reasons.reason_sentence(named=[("Alien", sig.RATED_5), ("Aliens", sig.LIKED)], genres=["Sci-Fi"]) == \
        "Because you rated “Alien” 5★ and liked “Aliens” (both Sci-Fi)."
    assert reasons.reason_sentence(named=[("Toy Story", sig.VIEWED)], genres=[]) == \
        "Because you opened “Toy Story” (a page view)."
    assert reasons.reason_sentence(named=[("Heat", sig.INTERACTED)], genres=[]) == "Because you rated “Heat”."
    assert reasons.reason_sentence(named=[("Heat", sig.PURCHASED), ("Ran", sig.CLICKED)], genres=[]) == \
        "Because you bought “Heat” and clicked “Ran”."


def test_items_treated_alike_share_one_verb():
    """Two ratings share "rated" (their stars kept apart when they differ); two views one "opened"."""
    same = reasons.reason_sentence(named=[("A", sig.RATED_5), ("B", sig.RATED_5)], genres=[])
    assert same == "Because you rated “A” and “B” 5★."
    assert reasons.reason_sentence(named=[("A", sig.RATED_5), ("B", sig.RATED_4)], genres=[]) == \
        "Because you rated “A” 5★ and “B” 4★."
    assert reasons.reason_sentence(named=[("A", sig.VIEWED), ("B", sig.VIEWED)], genres=[]) == \
        "Because you opened “A” and “B” (page views)."


def test_a_view_before_the_genres_needs_no_second_parenthesis():
    assert reasons.reason_sentence(named=[("Toy Story", sig.VIEWED)], genres=["Comedy"]) == \
        "Because you opened the page of “Toy Story” (Comedy)."


def test_staff_read_it_in_the_third_person():
    """Someone else's reason says "they"; so do the no-single-item and counterfactual sentences."""
    assert reasons.reason_sentence(named=[("Alien", sig.RATED_5)], genres=[], third_person=True) == \
        "Because they rated “Alien” 5★."
    assert "their history" in reasons.reason_sentence(named=[], genres=[], third_person=True)
    text = reasons.counterfactual_sentence(removed=["A"], replacement="B", found=True, top_k=10, most=5,
                                           third_person=True)
    assert text == "Without “A” in their history, they'd see “B” instead."


def test_check_sentence_states_what_removal_did():
    """The ranks before and after removing the named items, and after removing random ones."""
    text = reasons.check_sentence(removed=["A", "B", "C"], counted=3, rank=2, rank_after=31, rank_after_random=3)
    assert text == ("Removing the 3 items that counted most (“A”, “B” and “C”) moves it from #2 to #31; "
                    "removing 3 random items instead: #3.")
    held = reasons.check_sentence(removed=["A"], counted=1, rank=1, rank_after=1, rank_after_random=1)
    assert "leaves it at #1" in held and "moves" not in held


def test_check_sentence_never_says_an_item_that_added_nothing_counted():
    """Where only some of the removed items add to the score, the others are next in line."""
    text = reasons.check_sentence(removed=["A", "B", "C"], counted=1, rank=2, rank_after=31, rank_after_random=3)
    assert text == ("Removing the item that counted (“A”) and the next 2 in line moves it "
                    "from #2 to #31; removing 3 random items instead: #3.")
    assert "counted" not in reasons.check_sentence(removed=["A", "B"], counted=0, rank=2, rank_after=5,
                                                   rank_after_random=3)


def test_one_by_one_sentence_says_when_the_rank_holds():
    assert reasons.one_by_one_sentence(ranks=[("A", 5), ("B", 2)], rank=2) == \
        "Without “A” it would be #5; without “B” it would still be #2."
    assert reasons.one_by_one_sentence(ranks=[("A", 1)], rank=1) == \
        "Taking “A” away lowers its score, but it would still be #1."


def test_chinese_is_as_complete_as_english():
    """Every sentence reads in Chinese, with Chinese punctuation and no English words left."""
    with translation.override("zh-hans"):
        reason = reasons.reason_sentence(named=[("Alien", sig.RATED_5), ("Aliens", sig.LIKED)], genres=["Sci-Fi"])
        assert reason == "因为你给“Alien”打了 5 星，还喜欢“Aliens”（都属于科幻）。"
        assert reasons.reason_sentence(named=[("Toy Story", sig.VIEWED)], genres=[], third_person=True) == \
            "因为该用户打开过“Toy Story”（浏览了页面）。"
        check = reasons.check_sentence(removed=["A", "B"], counted=2, rank=2, rank_after=9, rank_after_random=3)
        assert check == "移除贡献最大的 2 项（“A”和“B”）后，它会从第 2 名降到第 9 名；若改为随机移除 2 项，则排第 3 名。"
        partial = reasons.check_sentence(removed=["A", "B", "C"], counted=1, rank=2, rank_after=9,
                                         rank_after_random=3)
        assert partial == ("移除起作用的 1 项（“A”）及其后的 2 项后，它会从第 2 名降到第 9 名；"
                           "若改为随机移除 3 项，则排第 3 名。")
        for signal in sig.NAMES:
            label = reasons.did_label(signal)
            assert label and not any(c.isascii() and c.isalpha() for c in label), label


def _catalogue_entries(path) -> list[dict]:
    """Return the .po file's entries: references, flags, msgid, msgstr (first form)."""
    import ast

    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [ln for ln in block.splitlines() if not ln.startswith("#~")]
        entry = {"refs": " ".join(ln[3:] for ln in lines if ln.startswith("#: ")),
                 "fuzzy": any(ln.startswith("#,") and "fuzzy" in ln for ln in lines), "msgid": "", "msgstr": ""}
        field = None
        for ln in lines:
            head = ln.split(" ", 1)[0]
            if head in ("msgid", "msgstr", "msgstr[0]", "msgid_plural", "msgctxt"):
                field = {"msgstr[0]": "msgstr"}.get(head, head)
                entry.setdefault(field, "")
                entry[field] = ast.literal_eval(ln.split(" ", 1)[1])
            elif ln.startswith('"') and field:
                entry[field] += ast.literal_eval(ln)
        if entry["msgid"]:
            entries.append(entry)
    return entries


def test_every_string_of_the_explanation_pages_is_translated():
    """The catalogue translates every string of explain/ and its templates, none fuzzy."""
    from pathlib import Path

    po = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    ours = [e for e in _catalogue_entries(po) if "explain/" in e["refs"]]
    assert len(ours) > 100
    missing = [e["msgid"] for e in ours if e["fuzzy"] or not e["msgstr"]]
    assert missing == []


def test_boost_sentence_says_what_the_genre_boost_is_for():
    """A new person's genre boost is said for what it is, in both persons and in Chinese."""
    assert reasons.boost_sentence(genres=["Documentary"], holding=5, choices=5, rank_without=37) == (
        "5 of the 5 films you have liked or rated 3★ or more are Documentary. Until you have 10 such films, films "
        "of the genre most of them share move up: without that head start this would be #37.")
    assert reasons.boost_sentence(genres=["Action", "Thriller"], holding=3, choices=4, rank_without=12,
                                  third_person=True).startswith(
        "3 of the 4 films they have liked or rated 3★ or more are Action and Thriller. Until they have 10 such films,")
    assert reasons.boost_sentence(genres=["Comedy"], holding=1, choices=1, rank_without=4).startswith(
        "The film you have liked or rated 3★ or more is Comedy.")
    with translation.override("zh-hans"):
        text = reasons.boost_sentence(genres=["Documentary"], holding=5, choices=5, rank_without=37)
        assert "纪录片" in text and "37" in text and not any(c.isascii() and c.isalpha() for c in text), text
