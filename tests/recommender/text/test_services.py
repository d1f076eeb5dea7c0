"""Tests for keeping text vectors current: runs, chunks, edits, re-imports, model changes."""
from unittest import mock

import numpy as np
import pytest
from django.utils import timezone

from recommender.models import Item, ItemText, RunStatus, Tag, TextRun
from recommender.text import services
from recommender.text.encoder import EncoderInfo, EncoderUnavailable, model_info
from recommender.text.store import vector_from_bytes


def run_all() -> TextRun:
    """Schedule a run and do its chunks here, as the worker would; return it."""
    run = services.text_run_schedule(reason="test", enqueue=False)
    assert run is not None
    cursor = run.cursor
    while (outcome := services.text_run_chunk(run.pk, cursor)).startswith("continue:"):
        cursor = int(outcome.split(":")[1])
    run.refresh_from_db()
    return run


def test_a_run_embeds_every_item_with_its_model_name_and_version(make_item):
    """Each item gets its text and a unit vector, stamped with the encoder's name/version."""
    alien = make_item("Alien", genres=("Horror", "Sci-Fi"), year=1979)
    make_item("Titanic", genres=("Drama",), year=1997)
    run = run_all()
    assert (run.status, run.done, run.total, run.embedded) == (RunStatus.SUCCEEDED, 2, 2, 2)
    row = ItemText.objects.get(item=alien)
    info = model_info()
    assert (row.model_name, row.model_version, row.dim, row.stale) == (info.name, info.version, 512, False)
    assert row.text == "Alien (1979). Horror, Sci-Fi"
    assert np.linalg.norm(vector_from_bytes(row.vector, row.dim)) == pytest.approx(1.0, abs=1e-5)
    assert services.text_run_schedule(enqueue=False) is None  # nothing left to do


def test_large_catalogue_runs_in_chunks_with_progress(make_item, monkeypatch):
    """Chunks of CHUNK_ITEMS advance the cursor and the progress until the run ends."""
    monkeypatch.setattr(services, "CHUNK_ITEMS", 2)
    for n in range(5):
        make_item(f"Film {n}")
    run = services.text_run_schedule(enqueue=False)
    outcome = services.text_run_chunk(run.pk, run.cursor)
    run.refresh_from_db()
    assert outcome == f"continue:{run.cursor}" and (run.done, run.total, run.status) == (2, 5, RunStatus.RUNNING)
    assert run.progress == pytest.approx(0.4)
    assert services.text_run_chunk(run.pk, 0) == "skipped"  # the same chunk delivered again
    while outcome.startswith("continue:"):
        outcome = services.text_run_chunk(run.pk, int(outcome.split(":")[1]))
    run.refresh_from_db()
    assert (outcome, run.done, run.status) == ("done", 5, RunStatus.SUCCEEDED)
    assert ItemText.objects.count() == 5


def test_editing_an_item_re_embeds_it_and_only_it(make_item):
    """A changed item is stale until the next run re-reads it; unchanged items are not
    encoded again."""
    alien, titanic = make_item("Alien"), make_item("Titanic")
    run_all()
    before = bytes(ItemText.objects.get(item=alien).vector)
    alien.description = "A crew meets a deadly creature in space."
    alien.save()
    services.items_text_changed([alien.pk, titanic.pk])
    assert set(ItemText.objects.filter(stale=True).values_list("item_id", flat=True)) == {alien.pk, titanic.pk}
    run = run_all()
    assert (run.done, run.embedded) == (2, 1)  # Titanic re-read, its text unchanged
    row = ItemText.objects.get(item=alien)
    assert "deadly creature" in row.text and bytes(row.vector) != before and not row.stale


def test_tags_are_part_of_the_text(make_item):
    """Adding a tag changes the text, hence the vector."""
    toy = make_item("Toy Story", genres=("Animation",))
    toy.tags.add(Tag.objects.create(name="pixar"))
    run_all()
    assert ItemText.objects.get(item=toy).text == "Toy Story (1999). Animation. pixar"


def test_a_model_change_re_embeds_everything(make_item):
    """Vectors of another model version count as missing: a sweep re-embeds them all."""
    make_item("Alien"), make_item("Titanic")
    run_all()
    ItemText.objects.update(model_version="0.1.0")
    run = run_all()
    assert (run.total, run.embedded) == (2, 2)
    assert set(ItemText.objects.values_list("model_version", flat=True)) == {model_info().version}


def test_encoder_upgraded_during_a_run_ends_it_and_starts_another(make_item):
    """A run stamped with another model than the installed one stops; a new run begins."""
    make_item("Alien")
    run = services.text_run_schedule(enqueue=False)
    TextRun.objects.filter(pk=run.pk).update(model_version="old")
    assert services.text_run_chunk(run.pk, 0) == "done"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert TextRun.objects.get(status=RunStatus.QUEUED).model_version == model_info().version


def test_one_open_run_at_a_time_and_a_stalled_one_is_resent(make_item):
    """Scheduling again returns the open run; one without a heartbeat for long is resent."""
    make_item("Alien")
    with mock.patch.object(services, "_send_chunk") as send:
        run = services.text_run_schedule()
        assert services.text_run_schedule() == run
        TextRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - services.STALLED_AFTER * 2)
        assert services.text_run_schedule() == run
    assert send.call_count == 1  # the stalled one; the first send waits for a commit that never comes
    assert TextRun.objects.count() == 1


def test_no_encoder_installed_schedules_nothing(make_item, monkeypatch):
    """Without the encoder package nothing is queued and nothing raises."""
    make_item("Alien")

    def missing():
        raise EncoderUnavailable("The text encoder package is not installed")

    monkeypatch.setattr(services, "model_info", missing)
    assert services.text_run_schedule() is None


def test_a_failed_run_keeps_its_message(make_item):
    """After its retries a run ends failed with the error, and the next sweep starts over."""
    make_item("Alien")
    run = services.text_run_schedule(enqueue=False)
    services.text_run_fail(run.pk, "boom")
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, "boom")
    assert services.text_run_schedule(enqueue=False).pk != run.pk


def test_items_needing_text_follows_the_model(make_item):
    """Fresh vectors of the model are done; stale ones and other models are not."""
    alien, titanic = make_item("Alien"), make_item("Titanic")
    run_all()
    info = model_info()
    assert list(services.items_needing_text(info)) == []
    assert list(services.items_needing_text(EncoderInfo(info.name, "9.9", 512))) == [alien, titanic]
    assert services.text_stale_count() == 0
    assert Item.objects.count() == 2


def test_a_run_queued_while_the_broker_was_down_is_sent_at_the_next_chance(make_item):
    """If the first send fails (make run imports before its broker is up), the next
    schedule sends the chunk at once instead of waiting for the run to look stalled."""
    make_item("Alien")
    with mock.patch("recsite.dispatch.send", return_value=False):
        run = services.text_run_schedule()
        services._send_chunk(run)  # what the commit of the creating transaction does
    run.refresh_from_db()
    assert run.heartbeat_at is None
    with mock.patch("recsite.dispatch.send", return_value=True) as send:
        assert services.text_run_schedule() == run
    assert send.call_count == 1
