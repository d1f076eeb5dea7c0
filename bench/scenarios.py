"""What a person sees after everyday actions, through the REST API as a client would.

Scenarios (issue 17's acceptance; the same functions run as integration tests on a small
generated catalogue in tests/integration/test_scenarios.py):

- view: a person with at least 10 rated items opens one item page they never rated (a
  `view` event): at most 3 of their top 10 change, and that item is named in at most 1
  reason.
- dislike: after a 1- or 2-star rating no reason names that item, and neither its sequels
  nor its three nearest items by the model rise in the person's list, nor does the share
  of its genres in the top 10.
- genre: a new person who rates 5 films of one genre 4 stars or more gets at least 5 of
  their top 10 from that genre.
- reasons: people with at least 20 events: the reasons of their top 10 name at least 3
  different history items on average.

    .venv/bin/python -m bench.scenarios --served var/served-ml1m [--people 30]

`--served` is the folder `bench.served` left: a copy of the site's database with its
activated ML-1M version and the artifacts. The scenarios run on a copy of it with a web server, a scoring
worker and an explanation worker, as `make run` starts them; new people sign up as API
clients (a token each) and send their events to `POST /api/v1/events/`.
"""
from __future__ import annotations

import json
import random
import re
import shutil
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

PASSWORD = "scenario-Passw0rd!"


class Api:
    """A token-authenticated JSON client of one person."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def events(self, events: list[dict]) -> None:
        for start in range(0, len(events), 1000):
            status, body = self.call("POST", "/api/v1/events/", events[start:start + 1000])
            if status != 201:
                raise RuntimeError(f"events refused: {status} {body}")

    def recommendations(self, k: int = 10) -> dict:
        status, body = self.call("GET", f"/api/v1/recommendations/?k={k}")
        if status != 200:
            raise RuntimeError(f"recommendations: {status} {body}")
        return body

    def fresh_list(self, after: str | None, k: int = 10, timeout: float = 120) -> dict:
        """Return the list once one computed after ``after`` (an ISO time or None) is stored."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.recommendations(k)
            if body["computed_at"] and (after is None or body["computed_at"] > after):
                return body
            time.sleep(0.2)
        raise TimeoutError("no new list")

    def explanation(self, item: int, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.call("GET", f"/api/v1/recommendations/{item}/explanation/")
            if status == 200:
                return body
            if status != 202:
                raise RuntimeError(f"explanation of {item}: {status} {body}")
            time.sleep(0.3)
        raise TimeoutError(f"explanation of {item} not ready")


def rated(items: list[int], stars: float = 4.0, start: int = 0) -> list[dict]:
    """Return rating events for ``items`` in order, a minute apart, ending an hour ago."""
    now = time.time() - 3600
    return [{"item": i, "kind": "rate", "value": stars, "client_event_id": f"s{start + n}",
             "occurred_at": datetime.fromtimestamp(now - 60 * (len(items) - n), UTC).isoformat()}
            for n, i in enumerate(items)]


def top_ids(body: dict) -> list[int]:
    return [r["item"]["id"] for r in body["results"]]


def named(api: Api, items: list[int]) -> list[list[int]]:
    """Return, per recommended item, the history items its reason names."""
    out = []
    for item in items:
        reason = api.explanation(item).get("reason_items") or []
        out.append([r["item"] for r in reason])
    return out


@dataclass
class Catalogue:
    """What the scenarios need to know about the items (by Item primary key)."""

    genres: dict[int, set[str]]
    titles: dict[int, str]
    years: dict[int, int | None]
    popular: list[int]  # most interacted first
    nearest: Callable[[int, int], list[int]]  # (item, k) -> the model's nearest items
    sequels: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self):
        if not self.sequels:
            self.sequels = find_sequels(self.titles, self.years)


_SERIES = re.compile(r"^(?:the\s+)?(.+?)(?:\s*(?::|\(|\s\d+$|\s[ivx]+$| part\b).*)?$", re.I)


def series_key(title: str) -> str:
    """Return the part of a title that a series shares ("Alien" for "Aliens" is not one)."""
    title = re.sub(r"\s*\(\d{4}\)\s*$", "", title).strip()
    return _SERIES.match(title).group(1).strip().lower()


def _bare(title: str) -> str:
    title = re.sub(r"\s*\(\d{4}\)\s*$", "", title).strip().lower()
    return re.sub(r"^the\s+", "", title)


def find_sequels(titles: dict[int, str], years: dict[int, int | None]) -> dict[int, list[int]]:
    """Return {item: later items of the same series}: same title stem ("Toy Story" and
    "Toy Story 2"; "The Godfather" and "The Godfather: Part II"), a later year, and a title
    of its own (a later film of the very same title, "The Big Wedding" after "Big
    Wedding", is a remake or another film, not a sequel)."""
    by_key: dict[str, list[int]] = {}
    for item, title in titles.items():
        by_key.setdefault(series_key(title), []).append(item)
    out = {}
    for members in by_key.values():
        if len(members) < 2:
            continue
        for m in members:
            later = [o for o in members if o != m and (years.get(o) or 0) > (years.get(m) or 0)
                     and _bare(titles[o]) != _bare(titles[m])]
            if later:
                out[m] = later
    return out


def share(items: list[int], genres: set[str], catalogue: Catalogue) -> float:
    return sum(bool(catalogue.genres.get(i, set()) & genres) for i in items) / max(1, len(items))


def scenario_view(api: Api, history: list[int], catalogue: Catalogue, rng: random.Random) -> dict:
    """Rate ``history`` (>= 10 items), then open one item page never rated."""
    api.events(rated(history))
    before = api.fresh_list(None)
    top = top_ids(before)
    candidates = [i for i in catalogue.popular[:300] if i not in set(history)]
    opened = rng.choice(candidates)
    api.events([{"item": opened, "kind": "view", "client_event_id": "view-1"}])
    after = api.fresh_list(before["computed_at"])
    new_top = top_ids(after)
    reasons = named(api, new_top)
    return {"changed": len(set(new_top) - set(top)), "named_in": sum(opened in r for r in reasons),
            "opened": opened, "was_in_top": opened in top}


def related_rose(before: list[int], after: list[int], disliked: int, related: list[int]) -> list[int]:
    """Return the related items that rose from list ``before`` to list ``after``: each one's
    place is the number of unrelated items above it (absent: last). The disliked film
    leaving the list, or a related item sinking below another, moves it up a place without
    anything having risen; passing an item unrelated to the disliked film is rising."""
    def places(ids: list[int]) -> dict[int, int]:
        out, unrelated = {}, 0
        for i in ids:
            if i in related:
                out[i] = unrelated
            elif i != disliked:
                unrelated += 1
        return out

    place_before, place_after = places(before), places(after)
    return [i for i in related if place_after.get(i, len(after) + 1) < place_before.get(i, len(before) + 1)]


def scenario_dislike(api: Api, history: list[int], catalogue: Catalogue, rng: random.Random,
                     stars: float) -> dict:
    """Rate ``history``, then give one film with sequels ``stars`` (1 or 2)."""
    api.events(rated(history))
    before = api.fresh_list(None, k=50)
    choices = [i for i in catalogue.sequels if i not in set(history)]
    disliked = rng.choice(choices)
    watched = set(history) | {disliked}
    related = list(dict.fromkeys(i for i in catalogue.sequels[disliked] + catalogue.nearest(disliked, 3)
                                 if i not in watched))
    api.events([{"item": disliked, "kind": "rate", "value": stars, "client_event_id": "dislike-1"}])
    after = api.fresh_list(before["computed_at"], k=50)
    rose = related_rose(top_ids(before), top_ids(after), disliked, related)
    genres = catalogue.genres.get(disliked, set())
    reasons = named(api, top_ids(after)[:10])
    return {"named_in": sum(disliked in r for r in reasons), "rose": rose, "related": related,
            "share_before": share(top_ids(before)[:10], genres, catalogue),
            "share_after": share(top_ids(after)[:10], genres, catalogue), "disliked": disliked}


def scenario_genre(api: Api, catalogue: Catalogue, rng: random.Random, genre: str) -> dict:
    """A new person rates 5 popular films of one genre 4 or 5 stars."""
    pool = [i for i in catalogue.popular[:600] if genre in catalogue.genres.get(i, set())][:40]
    films = rng.sample(pool, 5)
    api.events([{**e, "value": rng.choice([4.0, 4.5, 5.0])} for e in rated(films)])
    top = top_ids(api.fresh_list(None))
    return {"genre": genre, "share": share(top, {genre}, catalogue), "films": films}


def scenario_reasons(api: Api, history: list[int]) -> dict:
    """Rate ``history`` (>= 20 items); count the distinct items the top 10's reasons name."""
    api.events(rated(history))
    top = top_ids(api.fresh_list(None))
    reasons = named(api, top)
    return {"distinct": len({i for r in reasons for i in r}), "with_items": sum(bool(r) for r in reasons)}


def summarise(results: dict[str, list[dict]]) -> dict:
    """Return each scenario's pass rate and figures against its target."""
    view, dislike, genre, reasons = (results.get(k, []) for k in ("view", "dislike", "genre", "reasons"))
    out = {}
    if view:
        out["view"] = {"people": len(view), "median_changed": statistics.median(r["changed"] for r in view),
                       "max_changed": max(r["changed"] for r in view),
                       "share_at_most_3_changed": sum(r["changed"] <= 3 for r in view) / len(view),
                       "share_named_at_most_once": sum(r["named_in"] <= 1 for r in view) / len(view),
                       "mean_named_in": statistics.fmean(r["named_in"] for r in view)}
    if dislike:
        out["dislike"] = {"people": len(dislike),
                          "share_never_named": sum(r["named_in"] == 0 for r in dislike) / len(dislike),
                          "share_no_related_rose": sum(not r["rose"] for r in dislike) / len(dislike),
                          "share_genre_not_up": sum(r["share_after"] <= r["share_before"] for r in dislike) / len(dislike)}
    if genre:
        out["genre"] = {"people": len(genre), "mean_share": statistics.fmean(r["share"] for r in genre),
                        "share_at_least_half": sum(r["share"] >= 0.5 for r in genre) / len(genre)}
    if reasons:
        out["reasons"] = {"people": len(reasons),
                          "mean_distinct_items": statistics.fmean(r["distinct"] for r in reasons)}
    return out


def run_all(new_person: Callable[[str], Api], people_histories: list[list[int]], catalogue: Catalogue,
            genres: list[str], *, people: int, seed: int = 0, log=print) -> dict:
    """Run every scenario for ``people`` new people each; return the raw results."""
    rng = random.Random(seed)
    results: dict[str, list[dict]] = {"view": [], "dislike": [], "genre": [], "reasons": []}
    long = [h for h in people_histories if len(h) >= 20]
    for n in range(people):
        h = rng.choice(people_histories)
        results["view"].append(scenario_view(new_person(f"view{n}"), h[:max(10, min(len(h), 30))], catalogue, rng))
        h = rng.choice(people_histories)
        results["dislike"].append(scenario_dislike(new_person(f"dislike{n}"), h[:max(10, min(len(h), 30))],
                                                   catalogue, rng, stars=1.0 if n % 2 else 2.0))
        results["genre"].append(scenario_genre(new_person(f"genre{n}"), catalogue, rng, genres[n % len(genres)]))
        h = rng.choice(long)
        results["reasons"].append(scenario_reasons(new_person(f"reasons{n}"), h[:min(len(h), 40)]))
        log(f"  {n + 1}/{people}: {summarise(results)}")
    return results


def main() -> None:
    from pathlib import Path

    from bench._stack import Stack, free_port, served_parser, write_section

    args = served_parser(__doc__.splitlines()[0]).parse_args()
    served = Path(args.served)
    stack = Stack()
    try:
        shutil.copy(served / "site" / "db.sqlite3", stack.dir / "db.sqlite3")
        shutil.copytree(served / "site" / "models", stack.dir / "models")
        stack.manage("migrate", "-v0")
        stack.django()
        from recommender.models import ModelVersion
        from recsite.accounts.models import User

        for version in ModelVersion.objects.all():  # the artifacts now live in this copy
            version.artifact_path = str(stack.dir / "models" / Path(version.artifact_path).name)
            version.save(update_fields=["artifact_path"])
        stack.start_redis()
        stack.start_worker("scoring", "scoring")
        stack.start_worker("explain", "explain")
        base = stack.start_web(free_port())
        catalogue, histories, genres = site_catalogue()

        from recommender.api.tokens import token_create

        def new_person(name: str) -> Api:
            # the token as a signed-in device holds one: signing in over the API a hundred
            # times from one address is what the sign-in throttle is there to stop
            user = User.objects.create_user(username=name, password=PASSWORD)
            return Api(base, token_create(user=user, device="scenarios")[1])

        started = time.monotonic()
        results = run_all(new_person, histories, catalogue, genres, people=args.people)
        took = time.monotonic() - started
    finally:
        stack.stop()
    summary = summarise(results)
    (served / "scenarios.json").write_text(json.dumps({"summary": summary, "results": results}, indent=2))
    print(json.dumps(summary, indent=2))
    if not args.no_write:
        write_docs(summary, args, took)


def site_catalogue():
    """Return (Catalogue, rated histories of imported people as Item pks, genres) of the
    site this process is set up against, with the active version's nearest items."""
    import torch

    from recommender.ml.checkpoint import load_checkpoint
    from recommender.models import Event, Item, ModelVersion

    items = list(Item.objects.prefetch_related("genres"))
    genres = {i.pk: {g.name for g in i.genres.all()} for i in items}
    counts: dict[int, int] = {}
    histories: dict[int, list[int]] = {}
    for user_id, item_id in Event.objects.filter(user__is_placeholder=True).order_by(
            "user_id", "occurred_at", "id").values_list("user_id", "item_id").iterator(chunk_size=20000):
        histories.setdefault(user_id, []).append(item_id)
        counts[item_id] = counts.get(item_id, 0) + 1
    version = ModelVersion.objects.get(is_active=True)
    ckpt = load_checkpoint(version.artifact_path)
    model = ckpt.build_model()
    index = ckpt.item_map.index()
    E = torch.nn.functional.normalize(model.item_vectors().detach()[1:], dim=-1)

    def nearest(item: int, k: int) -> list[int]:
        if str(item) not in index:
            return []
        sims = E @ E[index[str(item)] - 1]
        order = sims.argsort(descending=True).tolist()
        return [int(ckpt.item_map.external(j + 1)) for j in order if j + 1 != index[str(item)]][:k]

    catalogue = Catalogue(genres, {i.pk: i.title for i in items}, {i.pk: i.year for i in items},
                          sorted(counts, key=counts.__getitem__, reverse=True), nearest)
    top_genres = sorted({g for gs in genres.values() for g in gs},
                        key=lambda g: -sum(counts.get(i, 0) for i, gs in genres.items() if g in gs))[:8]
    # one entry per item, at its first event (a watch is often a view, a rating and a like)
    return catalogue, [list(dict.fromkeys(h)) for h in histories.values()], top_genres


def write_docs(s: dict, args, took: float) -> None:
    import os
    import platform

    from bench._stack import write_section

    v, d, g, r = s["view"], s["dislike"], s["genre"], s["reasons"]
    write_section("Scenarios: what a person sees after everyday actions", f"""
Command: `.venv/bin/python -m bench.scenarios --served {args.served} --people {args.people}`
(finished {datetime.now(UTC).isoformat(timespec='minutes')}, {took / 60:.0f} min; machine:
{platform.machine()}, {os.cpu_count()} cores; load average at the end
{', '.join(f'{x:.1f}' for x in os.getloadavg())}). On the served ML-1M version of the section
"Served model" (the site's own import, training run and activation), with a web server, a
scoring worker and an explanation worker; each scenario signs up {args.people} new people as API
clients. Histories are replayed from imported ML-1M people (their first 10-40 films, rated 4★ a
minute apart); "opened" is a `view` event; reasons are read from
`GET /api/v1/recommendations/{{item}}/explanation/`.

| scenario | measured | target |
|---|---|---|
| opening one item page (≥ 10 rated) | top-10 items changed: median {v['median_changed']}, max {v['max_changed']}; ≤ 3 changed for {v['share_at_most_3_changed']:.0%} of people; the opened item named in ≤ 1 reason for {v['share_named_at_most_once']:.0%} | ≤ 3 changed, named in ≤ 1 reason |
| a 1★ or 2★ rating | never named in a reason: {d['share_never_named']:.0%}; no sequel or 3-nearest item rose: {d['share_no_related_rose']:.0%}; its genres' share of the top 10 did not rise: {d['share_genre_not_up']:.0%} | all three, every person |
| a new person rates 5 films of one genre ≥ 4★ | that genre's share of the top 10: mean {g['mean_share']:.0%}; ≥ 5 of 10 for {g['share_at_least_half']:.0%} of people | ≥ 5 of 10 |
| 20-40 rated films | distinct history items named by the top 10's reasons: mean {r['mean_distinct_items']:.1f} | ≥ 3 |

A related item (a sequel by title, or one of the 3 nearest by the model) "rose" when, in
the top 50, it passed an item unrelated to the disliked film: the disliked film leaving
the list, or a related item sinking below it, moves it up a place without anything having
risen. A page view is named in one of a person's reasons at most (docs/design.md,
"Reason").
""")


if __name__ == "__main__":
    main()
