"""Simulated people for bench/soak.py: each browses pages with its own session, reads the
API with its own token and sends event batches with client event ids.

Run only by locust, as a subprocess of bench/soak.py: locust patches the standard library
with gevent, so neither the site nor the test suite may import this file. Environment:
SOAK_SETUP (JSON written by bench/soak.py: people, catalogue, session cookie name),
SOAK_OUT (where the raw results go), SOAK_WAIT_MIN / SOAK_WAIT_MAX (seconds a person
thinks between two actions).
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gevent
from locust import FastHttpUser, between, events, task

SETUP = json.loads(Path(os.environ["SOAK_SETUP"]).read_text())
PEOPLE: list[dict] = SETUP["people"]
CATALOGUE: list[int] = SETUP["items"]
SESSION_COOKIE: str = SETUP["session_cookie"]

# Request names: one row each in the results.
HOME = "GET / (home page)"
HISTORY = "GET /history/"
WHY = "GET /recommendations/[id]/why/"
WHY_PREPARING = WHY + " (being prepared)"
# a link whose recommendation a rescoring replaced between the home page and the click: the
# page says the film left the list and links the current one (a 404, the answer designed for it)
WHY_LEFT = WHY + " (left the list: the page says so)"
RECS = "GET /api/v1/recommendations/"
EXPLANATION = "GET /api/v1/recommendations/[id]/explanation/"
EXPLANATION_PREPARING = EXPLANATION + " (202 being prepared)"
EXPLANATION_LEFT = EXPLANATION + " (404: left the list)"  # the app then reloads its list
EVENTS = "POST /api/v1/events/"
RECHECK = "GET /api/v1/recommendations/?k=100 (after a 404)"

BATCH_MAX = 20  # events a phone collects between two sends
RESEND_SHARE = 0.05  # sends repeated whole, as by a client that lost the answer
RETRIES = 3  # sends of one batch at most; a 5xx or network error is retried with the same ids
KINDS = ["view"] * 12 + ["click"] * 4 + ["rate"] * 3 + ["like"]
WHY_LINK = re.compile(r'href="/recommendations/(\d+)/why/"')
PREPARING_MARK = "data-explanation-status="  # only on the "being prepared" page
LEFT_MARK = "data-not-current"  # only on the "no longer among your recommendations" page

_next_person = itertools.count()
_started = time.time()
TIMES: dict[str, list[tuple[float, float]]] = defaultdict(list)  # name -> [(s since start, ms)]
STATUS: dict[str, Counter] = defaultdict(Counter)  # name -> {status code: count}
FAILURES: list[str] = []  # the first few, for the report
FAILED: Counter = Counter()  # name -> requests locust counted failed (non-2xx/3xx not accepted, network error)
TALLY: Counter = Counter()  # events created / duplicates / resent / retries / given up
ACKED: set[str] = set()  # client event ids in a 201 answer


@events.request.add_listener
def _on_request(request_type, name, response_time, response, exception, **_kw) -> None:
    TIMES[name].append((round(time.time() - _started, 2), response_time))
    code = getattr(response, "status_code", None) or 0
    STATUS[name][str(code)] += 1
    if exception is not None:
        FAILED[name] += 1
        if len(FAILURES) < 40:
            FAILURES.append(f"{name}: {code} {exception}"[:300])


@events.test_stop.add_listener
def _write_results(**_kw) -> None:
    Path(os.environ["SOAK_OUT"]).write_text(json.dumps({
        "times": TIMES, "status": STATUS, "failures": FAILURES, "failed": FAILED, "tally": TALLY,
        "acked_ids": len(ACKED), "started": _started,
    }))


class Person(FastHttpUser):
    """One signed-in person on the web and on their phone."""

    wait_time = between(float(os.environ.get("SOAK_WAIT_MIN", "3")), float(os.environ.get("SOAK_WAIT_MAX", "9")))

    def on_start(self) -> None:
        self.me = PEOPLE[next(_next_person) % len(PEOPLE)]
        self.page_headers = {"Cookie": f"{SESSION_COOKIE}={self.me['session']}"}
        self.api_headers = {"Authorization": f"Token {self.me['token']}"}
        self.recommended: list[int] = []
        self.sent = 0
        self.last_batch: list[dict] | None = None

    # ---- what a person does ---------------------------------------------------------------
    @task(4)
    def recommendations(self) -> None:
        self._api_recommendations()

    @task(3)
    def home(self) -> None:
        self._home()

    @task(3)
    def why_this(self) -> None:
        """Open the home page, read a little, follow one card's "why this?" link."""
        ids = self._home()
        if ids:
            gevent.sleep(random.uniform(0.5, 2.0))
            self._why(random.choice(ids))

    @task(1)
    def explanation(self) -> None:
        """In the app: load the list, tap one recommendation's explanation."""
        ids = self._api_recommendations()
        if not ids:
            return
        item = random.choice(ids)
        for _attempt in range(4):
            with self.client.get(f"/api/v1/recommendations/{item}/explanation/", headers=self._api(),
                                 name=EXPLANATION, catch_response=True) as response:
                if response.status_code == 202:
                    response.request_meta["name"] = EXPLANATION_PREPARING
                if response.status_code == 404 and not self._still_listed(item):
                    response.request_meta["name"] = EXPLANATION_LEFT
                    response.success()
            if response.status_code != 202:
                return
            gevent.sleep(2.0)  # "ask again in a second or two" (docs/api.md)

    @task(1)
    def history(self) -> None:
        self.client.get("/history/", headers=self.page_headers, name=HISTORY)

    @task(2)
    def send_events(self) -> None:
        if self.last_batch and random.random() < RESEND_SHARE:
            self._post_events(self.last_batch, resend=True)
        else:
            self.last_batch = self._new_batch()
            self._post_events(self.last_batch, resend=False)

    # ---- helpers --------------------------------------------------------------------------
    def _api(self) -> dict[str, str]:
        # A phone has no browser cookies: drop any the pages set (csrftoken).
        self.client.cookiejar.clear()
        return self.api_headers

    def _api_recommendations(self) -> list[int]:
        with self.client.get("/api/v1/recommendations/", headers=self._api(), name=RECS,
                             catch_response=True) as response:
            if response.status_code == 200:
                self.recommended = [row["item"]["id"] for row in response.json()["results"]]
        return self.recommended

    def _home(self) -> list[int]:
        response = self.client.get("/", headers=self.page_headers, name=HOME)
        return [int(i) for i in WHY_LINK.findall(response.text or "")] if response.status_code == 200 else []

    def _why(self, item: int) -> None:
        """Open the "why this?" page; while it is being prepared it reloads itself every 3 s."""
        for _attempt in range(4):
            with self.client.get(f"/recommendations/{item}/why/", headers=self.page_headers, name=WHY,
                                 catch_response=True) as response:
                preparing = response.status_code == 200 and PREPARING_MARK in (response.text or "")
                if preparing:
                    response.request_meta["name"] = WHY_PREPARING
                if response.status_code == 404 and LEFT_MARK in (response.text or "") and not self._still_listed(item):
                    response.request_meta["name"] = WHY_LEFT
                    response.success()
            if not preparing:
                return
            gevent.sleep(3.0)

    def _still_listed(self, item: int) -> bool:
        """Tell a link whose recommendation was replaced meanwhile (the list was rescored
        between the home page and the click) from a 404 for an item still listed (a failure)."""
        response = self.client.get("/api/v1/recommendations/?k=100", headers=self._api(), name=RECHECK)
        listed = response.status_code != 200 or any(
            row["item"]["id"] == item for row in response.json()["results"])
        TALLY["404_still_listed" if listed else "404_replaced"] += 1
        return listed

    def _new_batch(self) -> list[dict]:
        now = datetime.now(UTC)
        batch = []
        for _ in range(random.randint(1, BATCH_MAX)):
            kind = random.choice(KINDS)
            pool = self.recommended if self.recommended and random.random() < 0.5 else CATALOGUE
            self.sent += 1
            event = {"item": random.choice(pool), "kind": kind,
                     "occurred_at": (now - timedelta(seconds=random.uniform(0, 120))).isoformat(),
                     "client_event_id": f"soak-{self.me['id']}-{self.sent}"}
            if kind == "rate":
                event["value"] = random.randint(1, 10) / 2
            batch.append(event)
        return batch

    def _post_events(self, batch: list[dict], *, resend: bool) -> None:
        for attempt in range(RETRIES):
            with self.client.post("/api/v1/events/", json=batch, headers=self._api(), name=EVENTS,
                                  catch_response=True) as response:
                answer = response.json() if response.status_code == 201 else None
            if answer is not None:
                TALLY["created"] += answer["created"]
                TALLY["duplicates"] += answer["duplicates"]
                TALLY["resent_events" if resend else "new_events"] += len(batch)
                TALLY["retried_batches"] += attempt > 0
                ACKED.update(e["client_event_id"] for e in batch)
                return
            if 400 <= response.status_code < 500:
                TALLY["refused_batches"] += 1  # never retried unchanged (docs/api.md)
                return
            gevent.sleep(2 ** attempt)
        TALLY["unacknowledged_batches"] += 1
