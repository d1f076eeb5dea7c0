"""Item text vectors on their own queue, with a real Redis and a real worker process."""
from io import StringIO

import pytest
from django.core.management import call_command

from recommender.models import Item, ItemText, RunStatus, TextRun
from recommender.text.selectors import item_search, search_index_reset
from recommender.text.services import items_text_changed

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_import_is_embedded_by_the_worker_on_the_text_queue(start_worker):
    """An import queues a run; a worker serving only "text" embeds every item in chunks;
    an edit is re-embedded; search then finds items by meaning."""
    worker = start_worker("text", "text@%h")
    call_command("generate_demo", "--items", "300", "--users", "3", stdout=StringIO())
    wait_until(lambda: TextRun.objects.filter(status=RunStatus.SUCCEEDED).exists(), timeout=120)
    assert ItemText.objects.filter(stale=False).count() == Item.objects.count() == 300
    assert "recommender.tasks.text_run_chunk" in worker.text()
    item = Item.objects.order_by("pk").first()
    before = ItemText.objects.get(item=item).computed_at
    item.description = "A lighthouse keeper befriends a whale."
    item.save()
    items_text_changed([item.pk])
    wait_until(lambda: ItemText.objects.filter(item=item, computed_at__gt=before, stale=False).exists(), timeout=60)
    assert "lighthouse keeper" in ItemText.objects.get(item=item).text
    search_index_reset()
    assert item.pk in item_search(query="a whale and a lighthouse")[:3]
