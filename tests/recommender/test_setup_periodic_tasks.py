"""Tests for the beat schedules command."""
from io import StringIO

from django.core.management import call_command
from django_celery_beat.models import PeriodicTask


def test_setup_periodic_tasks_is_idempotent(db):
    """Running it twice leaves exactly the four schedules, pointing at real tasks."""
    from recsite.celery import app

    call_command("setup_periodic_tasks", stdout=StringIO())
    call_command("setup_periodic_tasks", "--nightly-hour", "4", stdout=StringIO())
    tasks = PeriodicTask.objects.filter(name__startswith="recsite:")
    assert tasks.count() == 4
    app.loader.import_default_modules()
    assert all(t.task in app.tasks for t in tasks)
    nightly = tasks.get(task="recommender.tasks.training_nightly")
    assert nightly.crontab.hour == "4" and nightly.interval is None
    assert {t.interval.every for t in tasks.exclude(pk=nightly.pk)} == {60}
