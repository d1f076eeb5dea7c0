"""Admin tests: editing an item re-embeds it; text runs show their progress."""
from unittest import mock

import pytest
from django.urls import reverse

from recommender.models import Genre, ItemText, Tag, TextRun
from recommender.text import services

from .test_services import run_all


@pytest.fixture
def staff(client, make_user):
    user = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_editing_an_item_in_the_admin_re_embeds_it(staff, make_item, django_capture_on_commit_callbacks):
    """Saving the change form (title, genres, tags, description) marks the vector stale and
    queues a run; the run writes the new text."""
    item = make_item("Alien", genres=("Horror",))
    run_all()
    tag = Tag.objects.create(name="space")
    with mock.patch.object(services, "_send_chunk") as send, django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("admin:recommender_item_change", args=[item.pk]), {
            "external_id": item.external_id, "title": "Alien", "year": 1979,
            "genres": [Genre.objects.get(name="Horror").pk], "tags": [tag.pk],
            "description": "In space no one can hear you scream.",
            "created_at_0": "2020-01-01", "created_at_1": "00:00:00",
            "text_vector-TOTAL_FORMS": "1", "text_vector-INITIAL_FORMS": "1",
            "text_vector-MIN_NUM_FORMS": "0", "text_vector-MAX_NUM_FORMS": "1",
            "text_vector-0-item": item.pk,
        }, follow=True)
    assert response.status_code == 200, response.content[:500]
    assert ItemText.objects.get(item=item).stale
    assert send.called
    run_all()
    assert ItemText.objects.get(item=item).text == "Alien (1979). Horror. space. In space no one can hear you scream."


def test_text_run_admin_lists_progress(staff, make_item):
    make_item("Alien")
    with mock.patch.object(services, "_send_chunk"):
        services.text_run_schedule()
    page = staff.get(reverse("admin:recommender_textrun_changelist"))
    assert page.status_code == 200 and 'value="0"' in page.text
    assert TextRun.objects.count() == 1
