"""Everyday actions and what a person then sees, on a small generated catalogue.

The same scenario functions as `bench.scenarios` (which runs them on the served ML-1M
model), here end to end on the demo catalogue: a real training run on a worker, a live
server, a scoring worker and an explanation worker; new people are API clients.
"""
import json
import random
import urllib.request

import pytest
from django.core.management import call_command

from bench import scenarios
from recommender.training import runs
from recommender.models import RunStatus, TrainingRun
from recsite.accounts.models import User

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Small but real: enough epochs for the demo's genre tastes and series to be learned.
RECIPE = {"d_model": 32, "n_layers": 1, "max_len": 50, "batch_size": 32, "max_epochs": 30,
          "time_budget_s": 240.0, "dropout": 0.1, "lr": 0.005}


@pytest.fixture
def demo_site(start_worker, live_server, settings):
    """A trained, activated model of the demo catalogue and a running site around it."""
    settings.RECSITE_TOP_N = 50
    call_command("generate_demo", "--items", "150", "--users", "400", "--seed", "3")
    start_worker("training", hostname="train@%h", RECSITE_TORCH_THREADS="2")
    run = runs.training_run_start(hyperparams=RECIPE)
    run = wait_until(lambda: (r := TrainingRun.objects.get(pk=run.pk)).is_finished and r, timeout=600)
    assert run.status == RunStatus.SUCCEEDED, run.error
    start_worker("scoring", hostname="score@%h")
    start_worker("explain", hostname="explain@%h")
    catalogue, histories, genres = scenarios.site_catalogue()

    def new_person(name: str) -> scenarios.Api:
        User.objects.create_user(username=name, password=scenarios.PASSWORD)
        body = json.dumps({"username": name, "password": scenarios.PASSWORD}).encode()
        request = urllib.request.Request(live_server.url + "/api/v1/auth/token/", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return scenarios.Api(live_server.url, json.loads(response.read())["token"])

    return new_person, catalogue, histories, genres


def test_everyday_actions_change_what_a_person_sees_as_they_should(demo_site):
    """Opening a page changes little and is hardly a reason; a 1-2 star rating is never a
    reason and lifts nothing like it; five films of a genre bring that genre; reasons name
    several different films."""
    new_person, catalogue, histories, genres = demo_site
    rng = random.Random(0)
    long = [h for h in histories if len(h) >= 20]
    for n in range(2):
        view = scenarios.scenario_view(new_person(f"v{n}"), rng.choice(long)[:15], catalogue, rng)
        assert view["changed"] <= 3 and view["named_in"] <= 1, view
        dislike = scenarios.scenario_dislike(new_person(f"d{n}"), rng.choice(long)[:15], catalogue, rng,
                                             stars=1.0 + n)
        assert dislike["named_in"] == 0 and not dislike["rose"], dislike
        assert dislike["share_after"] <= dislike["share_before"], dislike
    shares = [scenarios.scenario_genre(new_person(f"g{n}"), catalogue, rng, genre)["share"]
              for n, genre in enumerate(genres[:3])]
    assert sum(shares) / len(shares) >= 0.5, shares
    distinct = [scenarios.scenario_reasons(new_person(f"r{n}"), rng.choice(long)[:30])["distinct"]
                for n in range(2)]
    assert sum(distinct) / len(distinct) >= 3, distinct
