"""Scale-out: two scoring workers with different hostnames share one queue, broker and
database, split a rescoring between them and never score the same chunk twice."""
import math
import re
from collections import Counter

import pytest

from recommender.training import runs
from recommender.models import ModelVersion, Recommendation, RunStatus, ScoringState, TrainingRun

from .conftest import TINY, make_sequences, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHUNK_DONE = re.compile(r"scoring chunk done chunk=(\S+) people=(\d+) written=(\d+) worker=(\S+)")
RECEIVED = re.compile(r"Task recommender\.tasks\.scoring_chunk\[([0-9a-f-]+)\] received")


def test_two_workers_split_a_rescoring_and_score_each_chunk_once(start_worker):
    """A rescoring of 96 people in chunks of 4 is shared by two scoring workers: every
    chunk is received and scored by exactly one of them, both score some, and everyone
    ends with one whole list from the new version."""
    people = make_sequences(n_people=96)
    chunk_size = 4
    start_worker("training", "training@%h")
    scorers = {name: start_worker("scoring", f"{name}@%h", RECSITE_SCORING_CHUNK=str(chunk_size))
               for name in ("scoring-a", "scoring-b")}

    # Activation at the end of training queues scoring_rescore_all, which splits everyone
    # into chunks on the scoring queue.
    run = runs.training_run_start(hyperparams=TINY)
    run = wait_until(lambda: (r := TrainingRun.objects.get(pk=run.pk)).is_finished and r, timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    version = ModelVersion.objects.get(is_active=True)
    expected_chunks = math.ceil(len(people) / chunk_size)

    def done() -> dict[str, list[tuple[str, int, int, str]]]:
        return {name: [(c, int(p), int(w), host) for c, p, w, host in CHUNK_DONE.findall(worker.text())]
                for name, worker in scorers.items()}

    wait_until(lambda: sum(map(len, done().values())) >= expected_chunks, timeout=40)
    scored = done()
    received = {name: RECEIVED.findall(worker.text()) for name, worker in scorers.items()}

    # Each worker's record names that worker, and both took part.
    for name, chunks in scored.items():
        assert chunks, f"{name} scored no chunk: {Counter(len(c) for c in scored.values())}"
        assert all(host.startswith(f"{name}@") for *_, host in chunks)
    # Every chunk was delivered to one worker only and scored once, in full.
    all_chunks = [c for chunks in scored.values() for c, *_ in chunks]
    assert len(all_chunks) == len(set(all_chunks)) == expected_chunks
    assert set(received["scoring-a"]).isdisjoint(received["scoring-b"])
    assert sorted(received["scoring-a"] + received["scoring-b"]) == sorted(all_chunks)
    assert sum(p for chunks in scored.values() for _, p, w, _ in chunks if p == w) == len(people)

    # Everyone has exactly one list, from the new version, written in one piece.
    for person in people:
        recs = list(Recommendation.objects.filter(user=person).order_by("rank"))
        assert recs, person.username
        assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
        assert {r.model_version_id for r in recs} == {version.pk}
        assert len({r.computed_at for r in recs}) == 1 and recs[0].computed_at >= version.activated_at
        state = ScoringState.objects.get(user=person)
        assert state.model_version_id == version.pk and state.scored_at == recs[0].computed_at
