"""How soon does each of a person's controls show in their next list?

Starts a throwaway stack (SQLite, embedded Redis, a training, a scoring and an explanation
worker, gunicorn), trains on the demo catalogue, signs a real account in over the API, then
for each control and trial: changes the control through the API and polls
GET /api/v1/recommendations/ every 50 ms until the answer is what the control asks for.

Two times per trial: `shown`, until the answer reflects the control (several controls are
applied as the list is read, so this can be the first poll), and `list`, until the answer
comes from a list the scoring worker computed after the change (the control in the model's
input or blocked items) where the control asks the worker for one. Writes the
"Controls: time to the next list" section of docs/benchmarks.md.

    .venv/bin/python -m bench.controls [--trials 20] [--port 8766]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import urllib.request
from datetime import datetime

from bench._stack import Stack, demo_site_with_person, percentile, wait, write_section

POLL_S = 0.05


class Api:
    """A token-signed JSON client of the stack's API."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else {}
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read().decode() or "{}")

    def recs(self, k: int = 12) -> dict:
        return self.call("GET", f"/api/v1/recommendations/?k={k}")[1]


def timed(api: Api, change, shown, computed_after: bool, what: str) -> tuple[float, float | None]:
    """Apply `change()`, then poll until `shown(answer)` and, if `computed_after`, until the
    answer's list was computed after the change; return both delays in seconds."""
    before = api.recs().get("computed_at")
    started = time.monotonic()
    change()
    wait(lambda: shown(api.recs()), 60, what, POLL_S)
    first = time.monotonic() - started
    if not computed_after:
        return first, None
    wait(lambda: (lambda a: a["computed_at"] not in (None, before) and shown(a))(api.recs()), 60,
         f"{what} (new list)", POLL_S)
    return first, time.monotonic() - started


def wait_for_new_list(api: Api, timeout: float = 30.0) -> None:
    """Return once the list answered was computed after this call began (or at the timeout)."""
    start = time.time()
    while time.time() - start < timeout:
        answer = api.recs()
        if answer.get("computed_at") and datetime.fromisoformat(answer["computed_at"]).timestamp() > start:
            return
        time.sleep(0.05)


def genres(answer: dict) -> list[set[str]]:
    return [set(r["item"]["genres"]) for r in answer["results"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    stack = Stack()
    results: dict[str, list[tuple[float, float | None]]] = {}
    try:
        person = demo_site_with_person(stack, "bench", "bench-Passw0rd-not-secret", max_epochs=10)

        from recommender.api.tokens import token_create
        from recommender.models import Item

        api = Api(stack.start_web(args.port), token_create(user=person, device="bench")[1])

        def top_genre() -> str:
            counts: dict[str, int] = {}
            for names in genres(api.recs()):
                for name in names:
                    counts[name] = counts.get(name, 0) + 1
            return max(counts, key=counts.get)

        unrated = iter(Item.objects.exclude(events__user=person).order_by("?").values_list("pk", flat=True))
        for trial in range(args.trials):
            def record(name, change, shown, computed_after):
                results.setdefault(name, []).append(
                    timed(api, change, shown, computed_after, f"{name}, trial {trial}"))
                time.sleep(0.2)

            record("feed: popular", lambda: api.call("PATCH", "/api/v1/preferences/", {"feed": "popular"}),
                   lambda a: a.get("feed") == "popular", False)
            record("feed: newest", lambda: api.call("PATCH", "/api/v1/preferences/", {"feed": "newest"}),
                   lambda a: a.get("feed") == "newest" and a["results"], False)
            record("feed: for you", lambda: api.call("PATCH", "/api/v1/preferences/", {"feed": "personal"}),
                   lambda a: a.get("feed") == "personal" and a["results"], False)
            genre = top_genre()
            record("never a genre", lambda: api.call("POST", "/api/v1/genre-controls/",
                                                      {"genre": genre, "control": "exclude"}),
                   lambda a: a["results"] and not any(genre in g for g in genres(a)), True)
            record("less of a genre", lambda: api.call("POST", "/api/v1/genre-controls/",
                                                        {"genre": genre, "control": "less"}),
                   lambda a: (lambda f: all(sum(f[i:i + 5]) <= 1 for i in range(len(f))))(
                       [genre in g for g in genres(a)]), True)
            record("genre: undo", lambda: api.call("DELETE", "/api/v1/genre-controls/", {"genre": genre}),
                   lambda a: bool(a["results"]), True)
            item = next(unrated)

            def reset_and_rate():
                api.call("POST", "/api/v1/recommendations/reset/")
                api.call("POST", "/api/v1/events/", {"item": item, "kind": "rate", "value": 5})
            record("reset (then one rating)", reset_and_rate, lambda a: bool(a["results"]), True)
            record("reset: undo", lambda: api.call("DELETE", "/api/v1/recommendations/reset/"),
                   lambda a: bool(a["results"]), True)
            shown_first = api.recs()["results"][0]["item"]["id"]
            record("not interested", lambda: api.call("POST", "/api/v1/controls/",
                                                       {"item": shown_first, "control": "not_interested"}),
                   lambda a: a["results"] and shown_first not in [r["item"]["id"] for r in a["results"]], True)
            liked = api.recs()["results"][0]["item"]["id"]
            api.call("POST", "/api/v1/events/", {"item": liked, "kind": "like"})
            like = next(e["id"] for e in api.call("GET", "/api/v1/events/")[1]["results"]
                        if e["item"] == liked and e["kind"] == "like")  # newest first
            wait_for_new_list(api)
            record("withdraw a like", lambda: api.call("DELETE", f"/api/v1/events/{like}/"),
                   lambda a: bool(a["results"]), True)
            history_item = api.call("GET", "/api/v1/history/")[1]["results"][0]["item"]
            record("delete an item from the history",
                   lambda: api.call("DELETE", f"/api/v1/history/{history_item}/"), lambda a: bool(a["results"]), True)
        load = os.getloadavg()
    finally:
        stack.stop()

    rows = []
    for name, values in results.items():
        shown = [v[0] for v in values]
        listed = [v[1] for v in values if v[1] is not None]
        row = f"| {name} | {len(values)} | {statistics.median(shown):.2f} s | {percentile(shown, 95):.2f} s |"
        row += (f" {statistics.median(listed):.2f} s | {percentile(listed, 95):.2f} s | {max(listed):.2f} s |"
                if listed else " — | — | — |")
        rows.append(row)
        print(row)
    every = [v[1] if v[1] is not None else v[0] for values in results.values() for v in values]
    print(f"all controls, next list: p95 {percentile(every, 95):.2f} s over {len(every)} trials")
    if not args.no_write:
        write_section("Controls: time to the next list", f"""
Command: `.venv/bin/python -m bench.controls --trials {args.trials}`
Machine: {platform.machine()}, 2 cores, 24 GiB, no GPU (this project's development machine),
{datetime.now().strftime('%Y-%m-%d')}; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end.
Stack: SQLite, embedded Redis on a
unix socket, a training, a scoring and an explanation worker (one torch thread each, two for
training), gunicorn with 2 workers; demo catalogue, a 10-epoch model.

Each trial changes one control over the API and polls `GET /api/v1/recommendations/?k=12`
every 50 ms. *Shown*: until the answer reflects the control (the feed and the genre
controls are applied as the list is read, so the first poll usually does). *New list*: until
the answer also comes from a list the scoring worker computed after the change. "Reset" is
followed at once by one rating, and ends when the list computed from that rating alone is
served; "less of a genre" replaces "never" of the same genre; "withdraw a like" deletes a
like given to the first item once the list that like made is served.

| control | trials | shown p50 | shown p95 | new list p50 | new list p95 | new list max |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Every control, to the later of the two: p95 {percentile(every, 95):.2f} s over {len(every)} trials (target ≤ 5 s).
""")


if __name__ == "__main__":
    main()
