"""The model pipeline end to end: a real Redis, real worker processes, real training."""
import os
import signal
import sqlite3
import time

import pytest
from django.db import connection
from django.utils import timezone

from recommender.training import runs
from recommender.models import (
    Event,
    Item,
    ModelVersion,
    Recommendation,
    RunStatus,
    ScoringState,
    TrainingRun,
)
from recommender.activity.services import EventInput, control_set, event_record

from .conftest import TINY, make_sequences, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished_run(run_id: int, timeout: float = 180) -> TrainingRun:
    return wait_until(
        lambda: (run := TrainingRun.objects.get(pk=run_id)).is_finished and run, timeout=timeout
    )


def train(hyperparams: dict | None = None) -> TrainingRun:
    run = runs.training_run_start(hyperparams={**TINY, **(hyperparams or {})})
    return finished_run(run.pk)


def test_training_activates_a_model_and_scores_everyone(start_worker):
    """A run trains in chunks on a worker, passes the gate, is activated, and everyone
    gets a full list that excludes their history."""
    people = make_sequences()
    start_worker()
    run = train()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.progress == 1.0 and run.epoch >= 2 and run.val_ndcg is not None
    version = ModelVersion.objects.get(is_active=True)
    assert run.model_version == version
    wait_until(lambda: Recommendation.objects.values("user").distinct().count() == len(people))
    person = people[0]
    seen = set(Event.objects.filter(user=person).values_list("item_id", flat=True))
    recs = list(Recommendation.objects.filter(user=person).order_by("rank"))
    assert recs and not seen & {r.item_id for r in recs}
    assert [r.rank for r in recs] == list(range(1, len(recs) + 1))


def test_a_new_event_refreshes_that_persons_list(start_worker):
    """Rating an item moves it out of the person's list within seconds."""
    people = make_sequences()
    start_worker()
    train()
    person = people[0]
    wait_until(lambda: Recommendation.objects.filter(user=person).exists())
    top = Recommendation.objects.filter(user=person).order_by("rank").first()
    before = top.computed_at
    event_record(user=person, data=EventInput(item=top.item, kind="rate", value=5))
    wait_until(lambda: Recommendation.objects.filter(user=person, computed_at__gt=before).exists(), timeout=20)
    assert not Recommendation.objects.filter(user=person, item=top.item).exists()
    assert ScoringState.objects.get(user=person).stale_since is None


def test_controls_change_the_next_list(start_worker):
    """'Not interested' removes an item from the list on the next scoring."""
    people = make_sequences()
    start_worker()
    train()
    person = people[1]
    wait_until(lambda: Recommendation.objects.filter(user=person).exists())
    top = Recommendation.objects.filter(user=person).order_by("rank").first()
    control_set(user=person, item=top.item, kind="not_interested")
    wait_until(lambda: not Recommendation.objects.filter(user=person, item=top.item).exists(), timeout=20)


def test_too_little_data_fails_clearly_and_keeps_the_active_model(start_worker):
    """A run with almost no data ends failed with a message; nothing is activated."""
    item = Item.objects.create(external_id="x", title="X")
    from recsite.accounts.models import User

    Event.objects.create(user=User.objects.create_user("solo"), item=item, kind="view")
    start_worker()
    run = train()
    assert run.status == RunStatus.FAILED
    assert "Not enough data" in run.error
    assert not ModelVersion.objects.exists()


def test_a_worse_model_is_rejected_and_the_active_one_stays(start_worker, settings):
    """A model whose validation NDCG@10 is below the active one's minus the tolerance
    ends rejected; the active version does not change."""
    make_sequences()
    start_worker()
    good = train()
    assert good.status == RunStatus.SUCCEEDED
    active = ModelVersion.objects.get(is_active=True)
    ModelVersion.objects.filter(pk=active.pk).update(metrics={**active.metrics, "val_ndcg@10": 2.0})
    worse = train({"max_epochs": 1})
    assert worse.status == RunStatus.REJECTED and "Rejected" in worse.error
    assert ModelVersion.objects.get(is_active=True).pk == active.pk


def test_worker_killed_mid_training_resumes_from_checkpoint(start_worker):
    """SIGKILL of the process running a chunk: the task is redelivered, the run resumes
    from its last epoch checkpoint and finishes; no model was active meanwhile."""
    make_sequences(n_people=60, length=14)
    worker = start_worker(RECSITE_EPOCHS_PER_CHUNK="6")
    run = runs.training_run_start(hyperparams={**TINY, "max_epochs": 6, "patience": 6})
    wait_until(lambda: TrainingRun.objects.get(pk=run.pk).epoch >= 2, timeout=120, interval=0.05)
    worker.kill_child()
    assert not ModelVersion.objects.exists()
    run = finished_run(run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.attempts >= 2  # the chunk started again after the kill
    assert f"resuming run {run.pk} from epoch" in worker.text()


def test_duplicate_chunk_delivery_does_the_work_once(start_worker):
    """The same chunk sent twice: the second finds the lease or the epoch moved on."""
    from recommender.tasks import training_run_chunk

    make_sequences()
    start_worker()
    run = runs.training_run_start(hyperparams=TINY)
    training_run_chunk.delay(run.pk, 0)
    run = finished_run(run.pk)
    assert run.status == RunStatus.SUCCEEDED
    assert ModelVersion.objects.count() == 1


def _writing() -> bool:
    """Return True if another connection holds a write transaction open on the test database."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                           "AND backend_xid IS NOT NULL")
            return cursor.fetchone()[0] > 0
    probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")  # refused while a writer holds the write lock
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _lists(ids: list[int]) -> dict[int, tuple[list[int], set]]:
    """Return {person: (their list's items by rank, the times it was computed at)}."""
    lists: dict[int, tuple[list[int], set]] = {uid: ([], set()) for uid in ids}
    for uid, item, at in Recommendation.objects.filter(user_id__in=ids).order_by("user_id", "rank").values_list(
            "user_id", "item_id", "computed_at"):
        lists[uid][0].append(item)
        lists[uid][1].add(at)
    return lists


def test_scoring_chunk_is_all_or_nothing_when_killed(start_worker):
    """The pool process scoring a chunk is frozen (SIGSTOP) until it is seen inside its
    write transaction, then killed there (SIGKILL): provably mid-chunk. Every list is left
    whole and the chunk all or nothing (one computation time for all); the chunk is
    delivered again and completes."""
    from recommender.tasks import scoring_chunk

    people = make_sequences(n_people=300)
    worker = start_worker()
    train()
    ids = [p.pk for p in people]
    wait_until(lambda: all(items for items, _at in _lists(ids).values()), timeout=60)
    version = ModelVersion.objects.get(is_active=True)
    caught = False
    for _attempt in range(10):
        before = _lists(ids)
        latest = max(at for _items, times in before.values() for at in times)
        scoring_chunk.delay(version.pk, ids)
        deadline = time.monotonic() + 60
        while not caught and time.monotonic() < deadline:
            children = worker.pool_children()
            for pid in children:
                os.kill(pid, signal.SIGSTOP)
            if _writing():
                worker.kill_child()  # SIGKILL reaches a stopped process too
                caught = True
                break
            for pid in children:
                os.kill(pid, signal.SIGCONT)
            if Recommendation.objects.filter(user_id__in=ids, computed_at__gt=latest).exists():
                break  # the chunk committed between two looks: send it again
            time.sleep(0.002)
        if caught:
            break
    assert caught, "never saw the scoring worker inside its write transaction"
    after = _lists(ids)
    assert all(len(items) == len(before[uid][0]) and len(times) == 1 for uid, (items, times) in after.items())
    untouched = all(times == before[uid][1] for uid, (_items, times) in after.items())
    written = {at for _items, times in after.values() for at in times}
    assert untouched or (len(written) == 1 and min(written) > latest)  # all or nothing
    wait_until(lambda: all(min(times) > latest for _items, times in _lists(ids).values() if times), timeout=90)
    assert all(len(items) == len(before[uid][0]) for uid, (items, _t) in _lists(ids).items())


@pytest.fixture
def own_redis(tmp_path, settings):
    """A Redis of this test's own (with append-only persistence) that it may stop."""
    from recsite.run import redis_args

    from .conftest import RedisServer, _point_celery_at

    socket = tmp_path / "own.sock"
    server = RedisServer(f"redis+socket://{socket}", redis_args(tmp_path, socket=socket))
    server.start()
    _point_celery_at(server.url)
    settings.CELERY_BROKER_URL = server.url
    yield server
    server.stop()
    _point_celery_at("memory://")


def test_broker_down_keeps_the_site_working_and_the_sweep_catches_up(own_redis, tmp_path, settings, client,
                                                                     monkeypatch):
    """With Redis stopped, a rating through the item page is stored and /readyz reports
    the broker down while /healthz stays up; once Redis is back, the sweep brings the
    person's list up to date."""
    from recommender.tasks import scoring_sweep

    from .conftest import Worker

    people = make_sequences()
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    settings.RECSITE_MODEL_DIR = model_dir
    worker = Worker(own_redis.url, model_dir, tmp_path / "w.log", "training,scoring,explain", "w@%h")
    try:
        train()
        person = people[2]
        wait_until(lambda: Recommendation.objects.filter(user=person).exists())
        top = Recommendation.objects.filter(user=person).order_by("rank").first()

        own_redis.stop()
        client.force_login(person)
        from recsite.celery import app

        sends = []  # what reached the broker client: each try against a dead broker costs a second
        real_send = app.send_task
        monkeypatch.setattr(app, "send_task", lambda *a, **kw: (sends.append(a[0]), real_send(*a, **kw))[1])
        response = client.post(f"/items/{top.item_id}/rate/", {"value": 4})
        assert response.status_code == 302 and len(sends) == 1  # tried once, then backed off
        assert Event.objects.filter(user=person, item=top.item, kind="rate").exists()
        assert client.post(f"/items/{top.item_id}/like/").status_code == 302
        assert len(sends) == 1  # later clicks skip the dead broker (back-off)
        assert Event.objects.filter(user=person, item=top.item, kind="like").exists()
        monkeypatch.undo()
        assert client.get("/readyz").json()["checks"]["broker"] is False
        assert client.get("/healthz").status_code == 200
        assert ScoringState.objects.get(user=person).stale_since is not None

        own_redis.start()
        ScoringState.objects.filter(user=person).update(stale_since=timezone.now() - timezone.timedelta(minutes=1))
        scoring_sweep.delay()  # what beat sends every minute
        # The worker clears the flag when it starts scoring; the list is rewritten after.
        wait_until(lambda: not Recommendation.objects.filter(user=person, item=top.item).exists(),
                   timeout=60)
        assert ScoringState.objects.get(user=person).stale_since is None
    finally:
        worker.stop()


def test_a_task_that_always_fails_ends_failed_after_bounded_retries(start_worker):
    """A chunk that raises every time is retried a bounded number of times, then the run
    ends failed with the error; the active model is untouched."""
    from recommender.tasks import MAX_TRAINING_RETRIES

    make_sequences()
    start_worker()
    # Widths the attention heads cannot split: model construction raises every time.
    run = runs.training_run_start(hyperparams={**TINY, "d_model": 10, "n_heads": 3})
    run = finished_run(run.pk, timeout=120)
    assert run.status == RunStatus.FAILED
    assert f"Gave up after {MAX_TRAINING_RETRIES + 1} attempts" in run.error
    assert run.attempts == MAX_TRAINING_RETRIES + 1
    assert not ModelVersion.objects.exists()
